"""The basemap the service draws itself: an OSM extract imported for a county, the demo
county's GENERATED roads with real names, vector tiles with their layers, labels, caching."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import httpx
import mapbox_vector_tile
import pyrosm
import pytest
import shapely
from sqlalchemy import Connection, text

from gisgrid.errors import DataSourceError
from gisgrid.mapdata import basemap, tiles

PBF = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"  # OpenStreetMap, ODbL


@pytest.fixture(scope="module")
def helsinki() -> gpd.GeoDataFrame:
    """Every basemap feature of the extract, read once."""
    return basemap.read_osm(PBF)


def _layers(data: bytes) -> dict[str, list[dict]]:
    decoded = mapbox_vector_tile.decode(data)
    return {name: layer["features"] for name, layer in decoded.items()}


def _test_county(conn: Connection, frame: gpd.GeoDataFrame) -> None:
    box = shapely.box(*frame.total_bounds)
    conn.execute(
        text(
            "INSERT INTO admin_unit (code, name, level, geom_generated, geom) VALUES "
            "('990202000000', '赫尔辛基（测试）', 'county', false, "
            "ST_Multi(ST_GeomFromText(:w, 4326)))"
        ),
        {"w": box.wkt},
    )


def test_an_osm_extract_becomes_a_countys_basemap(
    conn: Connection, helsinki: gpd.GeoDataFrame
) -> None:
    kinds = set(helsinki["kind"])
    assert {"water", "green", "building", "road", "place"} <= kinds
    _test_county(conn, helsinki)
    quiet = {"progress": lambda m: None, "frame": helsinki}
    dry = basemap.import_osm(conn, "990202", PBF, **quiet)
    assert dry["committed"] is False and dry["features"]["building"] > 400
    count = "SELECT count(*) FROM basemap_feature WHERE county_code = '990202000000'"
    assert conn.execute(text(count)).scalar_one() == 0  # a dry run writes nothing
    out = basemap.import_osm(conn, "990202", PBF, commit=True, **quiet)
    assert conn.execute(text(count)).scalar_one() == sum(out["features"].values())
    # Again: the import replaces the county's earlier one instead of adding to it.
    again = basemap.import_osm(conn, "990202", PBF, commit=True, **quiet)
    assert again["replaced"] == sum(out["features"].values())
    assert conn.execute(text(count)).scalar_one() == sum(out["features"].values())

    # A street-level tile in the centre: water, buildings and named roads from OSM.
    x, y = tiles.lonlat_to_tile(24.9410, 60.1690, 15)
    layers = _layers(basemap.get_tile(conn, 15, x, y))
    assert {"water", "green", "buildings", "roads"} <= set(layers), set(layers)
    assert all(set(f["properties"]) == {"class"} for f in layers["green"])
    assert {f["properties"]["rank"] for f in layers["roads"]} >= {0, 2}
    # At zoom 9 the small things are left out.
    x9, y9 = tiles.lonlat_to_tile(24.9410, 60.1690, 9)
    low = _layers(basemap.get_tile(conn, 9, x9, y9))
    assert "buildings" not in low and all(f["properties"]["rank"] == 0 for f in low["roads"])
    assert [f["properties"]["level"] for f in low["boundaries"]] == ["county"]  # its outline
    # Names in Chinese where OSM has them (name:zh-Hans), else as mapped.
    names = {lab["n"]: lab for lab in basemap.labels(conn, tuple(helsinki.total_bounds))}
    assert "赫尔辛基" in names and names["赫尔辛基"]["k"] == "city"
    assert "Kaartinkaupunki" in names and names["Kaartinkaupunki"]["z"] > names["赫尔辛基"]["z"]
    assert basemap.sources_in(conn, tuple(helsinki.total_bounds))["osm"] is True


def test_an_extract_of_another_region_is_refused(
    conn: Connection, helsinki: gpd.GeoDataFrame, demo_county: str
) -> None:
    with pytest.raises(DataSourceError, match="441226000000.*another region"):
        basemap.import_osm(conn, "441226", PBF, progress=lambda m: None, frame=helsinki)
    with pytest.raises(DataSourceError, match="does not exist"):
        basemap.read_osm(Path("/no/such/extract.osm.pbf"))


def test_the_demo_county_draws_its_generated_roads_and_real_names(
    conn: Connection, demo_county: str
) -> None:
    centre = conn.execute(
        text(
            "SELECT ST_X(c), ST_Y(c), ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
            "FROM (SELECT geom, ST_PointOnSurface(geom) AS c FROM admin_unit "
            "WHERE code = '441226000000') u"
        )
    ).one()
    x, y = tiles.lonlat_to_tile(centre[0], centre[1], 13)
    layers = _layers(basemap.get_tile(conn, 13, x, y))
    assert {f["properties"]["class"] for f in layers["roads"]} <= {"county_road", "village_road"}
    assert {f["properties"]["level"] for f in layers["boundaries"]} >= {"village"}
    names = basemap.labels(conn, tuple(centre[2:]))
    kinds = {lab["k"] for lab in names}
    assert {"county", "town", "village"} <= kinds
    assert names[0]["n"] == "德庆县"  # the biggest name first
    assert basemap.sources_in(conn, tuple(centre[2:])) == {"osm": False, "generated_roads": True}


def test_tiles_and_labels_over_http(http: httpx.Client) -> None:
    x, y = tiles.lonlat_to_tile(111.974, 23.273, 13)  # the demo county's middle
    url = f"/tiles/basemap/13/{x}/{y}.mvt?v=test"
    first = http.get(url)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert "immutable" in first.headers["cache-control"]
    assert http.get(url).headers["x-tile-cache"] == "hit"
    assert "roads" in _layers(first.content)
    r = http.get("/maps/data/labels", params={"bbox": "111.5,23.0,112.3,23.6"})
    assert r.status_code == 200 and any(lab["k"] == "town" for lab in r.json()["labels"])
    assert r.json()["sources"]["generated_roads"] is True
    assert http.get("/maps/data/labels", params={"bbox": "23,111,24,112"}).status_code == 422
