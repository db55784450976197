"""OGC API - Features at /ogc: the JSON itself, and GDAL's OAPIF driver reading it as layers."""

import json
import subprocess
import sys

import httpx

TOWN_BBOX = "111.95,23.15,112.05,23.25"


def test_landing_conformance_and_collections(http: httpx.Client, server: str) -> None:
    landing = http.get("/ogc").json()
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert rels["conformance"] == f"{server}/ogc/conformance"
    assert rels["data"] == f"{server}/ogc/collections"
    assert http.get(rels["service-desc"]).status_code == 200
    conf = http.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf
    cols = {c["id"]: c for c in http.get("/ogc/collections").json()["collections"]}
    assert set(cols) == {"grids", "units"}
    minx, miny, maxx, maxy = cols["grids"]["extent"]["spatial"]["bbox"][0]
    assert 111 < minx < maxx < 113 and 22 < miny < maxy < 24
    assert cols["grids"]["extent"]["temporal"]["interval"][0][0].startswith("2024-01-01")


def test_items_page_with_links_bbox_and_datetime(http: httpx.Client) -> None:
    r = http.get("/ogc/collections/grids/items", params={"limit": 10})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    page = r.json()
    assert page["numberReturned"] == 10 and page["numberMatched"] >= 900
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    second = http.get(nxt).json()
    assert {f["id"] for f in second["features"]}.isdisjoint({f["id"] for f in page["features"]})
    boxed = http.get("/ogc/collections/grids/items", params={"bbox": TOWN_BBOX}).json()
    plain = http.get("/api/v1/grids", params={"bbox": TOWN_BBOX}).json()
    assert boxed["numberMatched"] == plain["numberMatched"] > 0
    # Before the demo's first generation there were no grids.
    early = http.get("/ogc/collections/grids/items", params={"datetime": "2020-01-01"}).json()
    assert early["numberMatched"] == 0
    # A page past the end still counts what the first page counts (one statement says both).
    past = http.get("/ogc/collections/grids/items", params={"offset": 100_000}).json()
    assert past["numberReturned"] == 0 and past["numberMatched"] == page["numberMatched"]
    one = early = http.get(f"/ogc/collections/grids/items/{page['features'][0]['id']}")
    assert one.status_code == 200 and one.json()["properties"] == page["features"][0]["properties"]
    code = page["features"][0]["properties"]["code"]
    assert (
        http.get(f"/ogc/collections/grids/items/{code}").json()["id"] == page["features"][0]["id"]
    )
    unit = http.get("/ogc/collections/units/items/441226000000").json()
    assert unit["properties"]["name"] == "德庆县" and unit["properties"]["level"] == "county"
    towns = http.get("/ogc/collections/units/items", params={"level": "town"}).json()
    assert towns["numberMatched"] == 13
    past = http.get("/ogc/collections/units/items", params={"level": "town", "offset": 13}).json()
    assert past["numberReturned"] == 0 and past["numberMatched"] == 13 and not past["features"]


def test_bad_requests_name_the_problem(http: httpx.Client) -> None:
    r = http.get("/ogc/collections/reports/items")
    assert r.status_code == 404 and "grids, units" in r.json()["detail"]
    r = http.get("/ogc/collections/grids/items", params={"datetime": "yesterday"})
    assert r.status_code == 422 and "yesterday" in r.json()["detail"]
    r = http.get("/ogc/collections/grids/items", params={"bbox": "23.1,111.9,23.3,112.1"})
    assert r.status_code == 422 and "swap" in r.json()["detail"]
    r = http.get("/ogc/collections/grids/items/abc")
    assert r.status_code == 404


GDAL_CLIENT = """
import json, sys
import pyogrio
url, bbox = sys.argv[1], tuple(float(v) for v in sys.argv[2].split(","))
grids = pyogrio.read_dataframe(url, layer="grids", bbox=bbox)
units = pyogrio.read_dataframe(url, layer="units")
print(json.dumps({
    "layers": [name for name, _ in pyogrio.list_layers(url)],
    "codes": sorted(grids["code"]),
    "epsg": grids.crs.to_epsg(),
    "valid": bool(grids.geometry.is_valid.all()),
    "villages": int((units["level"] == "village").sum()),
}))
"""


def test_gdal_oapif_driver_reads_the_layers(http: httpx.Client, server: str) -> None:
    # GDAL runs in its own process: its blocking HTTP calls hold the GIL, which would starve
    # the in-process uvicorn thread that has to answer them.
    out = subprocess.run(
        [sys.executable, "-c", GDAL_CLIENT, f"OAPIF:{server}/ogc", TOWN_BBOX],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"grids", "units"} <= set(got["layers"])
    plain = http.get("/api/v1/grids", params={"bbox": TOWN_BBOX, "limit": 5000}).json()
    assert got["codes"] == sorted(f["properties"]["code"] for f in plain["features"])
    assert got["epsg"] == 4326 and got["valid"]
    assert got["villages"] == 193
