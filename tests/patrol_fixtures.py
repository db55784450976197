"""A hand-made county for patrol tests: one 1 km grid, known roads, households and a key place.

Everything is inserted inside the test's rolled-back transaction, far from the demo county
(lon 100, lat 30), so the figures are known exactly and nothing shared is touched.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from sqlalchemy import Connection, text

from gisgrid.patrols import roads

COUNTY = "990101000000"
GRID = "990101001001001"
UTM = pyproj.Transformer.from_crs(32647, 4326, always_xy=True)
X0, Y0 = 500_000.0, 3_320_000.0  # UTM 47N on its central meridian: lon 99, lat 30
T0 = dt.datetime(2024, 5, 6, 1, 0, tzinfo=dt.UTC)  # 09:00 in Asia/Shanghai, on duty


def ll(x: float, y: float) -> tuple[float, float]:
    """Local metres (from X0, Y0) to lon/lat."""
    lon, lat = UTM.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


@dataclass
class Place:
    """Ids of what the fixture inserted."""

    staff: int
    grid_id: int


def make_place(conn: Connection) -> Place:
    """Insert the county, its grid, a worker, 3 roads, 2 households and a key place."""
    sq = shapely.Polygon([ll(-400, -400), ll(600, -400), ll(600, 600), ll(-400, 600)])
    wkt = shapely.to_wkt(shapely.MultiPolygon([sq]))
    for code, name, level, parent in (
        (COUNTY, "测试县", "county", None),
        ("990101001000", "测试镇", "town", COUNTY),
        ("990101001001", "测试村", "village", "990101001000"),
    ):
        conn.execute(
            text(
                "INSERT INTO admin_unit (code, name, level, parent_code, geom_generated, geom) "
                "VALUES (:c, :n, CAST(:l AS unit_level), :p, true, ST_GeomFromText(:g, 4326))"
            ),
            {"c": code, "n": name, "l": level, "p": parent, "g": wkt},
        )
    gen = conn.execute(
        text(
            "INSERT INTO generation (name, county_code, valid_from) "
            "VALUES ('test-990101', :c, now()) RETURNING id"
        ),
        {"c": COUNTY},
    ).scalar_one()
    grid_id = conn.execute(
        text(
            "INSERT INTO grid (code, name, village_code, generation_id, valid_from, "
            "geom_generated, geom) VALUES (:c, '测试网格', '990101001001', :g, now(), true, "
            "ST_GeomFromText(:w, 4326)) RETURNING id"
        ),
        {"c": GRID, "g": gen, "w": wkt},
    ).scalar_one()
    staff = conn.execute(
        text(
            "INSERT INTO staff (name, role, on_duty, generated) "
            "VALUES ('测试员', 'full_time', true, true) RETURNING id"
        )
    ).scalar_one()
    conn.execute(
        text("INSERT INTO staff_assignment (staff_id, grid_id, role) VALUES (:s, :g, 'full_time')"),
        {"s": staff, "g": grid_id},
    )
    # Households: one 20 m off road A (visited by a walk along it), one 200 m away.
    for x, y in ((50.0, 20.0), (100.0, 200.0)):
        conn.execute(
            text(
                "INSERT INTO household (grid_id, address, size, care_tags, generated, geom) "
                "VALUES (:g, 'test', 2, '{}', true, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
            ),
            {"g": grid_id, "x": ll(x, y)[0], "y": ll(x, y)[1]},
        )
    # Roads: A east 200 m, B north 200 m from A's end, C north 200 m from A's start.
    lines = [
        shapely.LineString([ll(0, 0), ll(200, 0)]),
        shapely.LineString([ll(200, 0), ll(200, 200)]),
        shapely.LineString([ll(0, 0), ll(0, 200)]),
    ]
    roads.import_roads(
        conn,
        COUNTY,
        gpd.GeoDataFrame(
            {"source_id": ["A", "B", "C"], "name": ["A", "B", "C"], "kind": "test"},
            geometry=lines,
            crs="EPSG:4326",
        ),
        source="test",
        commit=True,
        progress=lambda m: None,
    )
    roads.import_key_places(
        conn,
        COUNTY,
        gpd.GeoDataFrame(
            {"name": ["东门学校", "北水库"], "kind": ["school", "reservoir"], "radius_m": [30, 40]},
            geometry=[shapely.Point(ll(0, 0)), shapely.Point(ll(200, 200))],
            crs="EPSG:4326",
        ),
        source="test",
        commit=True,
    )
    return Place(staff=staff, grid_id=grid_id)


def walk(staff: int, xs: np.ndarray, ys: np.ndarray, t0: dt.datetime = T0, step_s: float = 2.0):
    """A JSON batch of fixes walking through local metre points, one every step_s."""
    lon, lat = UTM.transform(X0 + xs, Y0 + ys)
    return [
        {
            "staff": staff,
            "t": (t0 + dt.timedelta(seconds=i * step_s)).isoformat(),
            "lon": float(a),
            "lat": float(b),
        }
        for i, (a, b) in enumerate(zip(lon, lat, strict=True))
    ]
