"""Coverage on real roads: the OpenStreetMap Helsinki extract that pyrosm ships (ODbL)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pyrosm
import pytest
import shapely
from sqlalchemy import Connection, text

from gisgrid.patrols import roads
from gisgrid.patrols.road_coverage import pieces_from_fixes, road_coverage

PBF = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
METRIC = pyproj.Transformer.from_crs(4326, 32635, always_xy=True)  # UTM 35N, Helsinki


@pytest.fixture(scope="module")
def helsinki() -> gpd.GeoDataFrame:
    """The walking network of the extract, as read by the importer."""
    return roads.read_roads(PBF)


def test_importer_nodes_the_real_network(conn: Connection, helsinki: gpd.GeoDataFrame) -> None:
    box = shapely.box(*helsinki.total_bounds).buffer(0.01)
    conn.execute(
        text(
            "INSERT INTO admin_unit (code, name, level, geom_generated, geom) VALUES "
            "('990201000000', 'Helsinki (test)', 'county', false, "
            "ST_Multi(ST_GeomFromText(:w, 4326)))"
        ),
        {"w": box.wkt},
    )
    dry = roads.import_roads(conn, "990201", helsinki, "osm", progress=lambda m: None)
    assert dry["committed"] is False and dry["segments"] > len(helsinki) > 2000
    n_before = "SELECT count(*) FROM road_segment WHERE county_code = '990201000000'"
    assert conn.execute(text(n_before)).scalar_one() == 0
    out = roads.import_roads(conn, "990201", helsinki, "osm", commit=True, progress=lambda m: None)
    stored = conn.execute(
        text(
            "SELECT count(*), sum(length_m), sum(ST_Length(geom::geography)) FROM road_segment "
            "WHERE county_code = '990201000000'"
        )
    ).one()
    assert stored[0] == out["segments"]
    assert stored[1] == pytest.approx(stored[2], rel=2e-3)  # UTM lengths vs geodesic
    # Junctions are shared: most nodes join two or more segments.
    deg = conn.execute(
        text(
            "SELECT avg(n) FROM (SELECT count(*) AS n FROM (SELECT node_from AS v FROM "
            "road_segment UNION ALL SELECT node_to FROM road_segment) e GROUP BY v) d"
        )
    ).scalar_one()
    assert deg > 1.8


def test_half_a_real_street_and_the_buffer_overlay_agree(helsinki: gpd.GeoDataFrame) -> None:
    segs, _ = roads.node_network(np.asarray(helsinki.geometry.values))
    segs_m = shapely.transform(segs, METRIC.transform, interleaved=False)
    longest = int(np.argmax(shapely.length(segs_m)))
    line = segs_m[longest]
    # Walk the first half of the longest real segment, one fix per metre.
    s = np.arange(0, line.length / 2, 1.0)
    pts = shapely.get_coordinates(shapely.line_interpolate_point(line, s))
    cov = road_coverage(
        segs_m,
        pieces_from_fixes(np.zeros(len(s), int), s, pts[:, 0], pts[:, 1]),
        15.0,
    )
    # At least half of it (plus whatever the 15 m reaches past the turn-around).
    assert line.length / 2 - 1 <= cov.covered_m[longest] <= line.length / 2 + 15.01
    # The straightforward buffer+overlay gives the same figure per segment (to a few cm).
    buf = gpd.GeoDataFrame(geometry=[shapely.LineString(pts).buffer(15.0, quad_segs=32)])
    ov = gpd.overlay(
        gpd.GeoDataFrame({"i": np.arange(len(segs_m))}, geometry=segs_m),
        buf,
        how="intersection",
        keep_geom_type=True,
    )
    peer = pd.Series(ov.length.to_numpy(), index=ov["i"]).groupby(level=0).sum()
    ours = pd.Series(cov.covered_m)[cov.covered_m > 0]
    assert set(peer[peer > 0.05].index) <= set(ours.index)
    assert np.abs(ours.reindex(peer.index, fill_value=0) - peer).max() < 0.05
