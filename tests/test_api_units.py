"""/healthz, /api/v1/units and /api/v1/grids over real HTTP."""

import httpx
import shapely

GEOJSON = "application/geo+json"


def test_healthz_reports_versions(http: httpx.Client) -> None:
    r = http.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["postgresql"].startswith("15")
    assert body["postgis"].startswith("3.")


def test_county_unit_by_short_and_full_code(http: httpx.Client) -> None:
    short, full = http.get("/api/v1/units/441226"), http.get("/api/v1/units/441226000000")
    assert short.status_code == full.status_code == 200
    assert short.json() == full.json()
    body = short.json()
    assert body["name"] == "德庆县" and body["level"] == "county" and body["parent"] is None
    assert body["children"] == 13
    assert body["geometry_generated"] is False
    assert 111.4 < body["bbox"][0] < body["bbox"][2] < 112.6
    assert 22.9 < body["bbox"][1] < body["bbox"][3] < 23.6


def test_town_unit_names_its_parent(http: httpx.Client) -> None:
    body = http.get("/api/v1/units/441226101").json()
    assert body["name"] == "新圩镇" and body["level"] == "town"
    assert body["parent"] == {"code": "441226000000", "name": "德庆县", "level": "county"}
    assert body["geometry_generated"] is True


def test_children_down_to_grids(http: httpx.Client) -> None:
    towns = http.get("/api/v1/units/441226/children").json()
    assert len(towns) == 13 and all(t["level"] == "town" for t in towns)
    villages = http.get(f"/api/v1/units/{towns[0]['code']}/children").json()
    assert villages and all(v["level"] == "village" for v in villages)
    grids = http.get(f"/api/v1/units/{villages[0]['code']}/children").json()
    assert grids and all(
        g["level"] == "grid" and g["code"].startswith(villages[0]["code"]) for g in grids
    )


def test_unknown_and_malformed_unit_codes(http: httpx.Client) -> None:
    missing = http.get("/api/v1/units/441299")
    assert missing.status_code == 404 and "441299000000" in missing.json()["detail"]
    bad = http.get("/api/v1/units/44x226")
    assert bad.status_code == 422 and "44x226" in bad.json()["detail"]


def test_grids_feature_collection(http: httpx.Client) -> None:
    r = http.get("/api/v1/grids", params={"limit": 5000})
    assert r.status_code == 200 and r.headers["content-type"].startswith(GEOJSON)
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    assert fc["numberMatched"] == fc["numberReturned"] == len(fc["features"])
    props = fc["features"][0]["properties"]
    assert set(props) >= {"code", "name", "village_code", "households"}
    assert sum(f["properties"]["households"] for f in fc["features"]) > 120_000


def test_grids_paging_is_consistent(http: httpx.Client) -> None:
    everything = http.get("/api/v1/grids", params={"limit": 60}).json()
    first = http.get("/api/v1/grids", params={"limit": 30}).json()
    second = http.get("/api/v1/grids", params={"limit": 30, "offset": 30}).json()
    codes = [f["id"] for f in everything["features"]]
    assert [f["id"] for f in first["features"] + second["features"]] == codes
    past = http.get("/api/v1/grids", params={"offset": 100_000}).json()
    assert past["numberReturned"] == 0 and past["numberMatched"] == everything["numberMatched"]


def test_grids_by_village_and_bbox(http: httpx.Client) -> None:
    village = "441226001001"
    fc = http.get("/api/v1/grids", params={"village": village}).json()
    assert fc["features"] and all(
        f["properties"]["village_code"] == village for f in fc["features"]
    )
    box = (112.0, 23.1, 112.1, 23.2)
    fc = http.get("/api/v1/grids", params={"bbox": ",".join(map(str, box)), "limit": 5000}).json()
    assert fc["features"]
    query = shapely.box(*box)
    assert all(shapely.geometry.shape(f["geometry"]).intersects(query) for f in fc["features"])


def test_grid_by_code(http: httpx.Client) -> None:
    code = http.get("/api/v1/grids", params={"limit": 1}).json()["features"][0]["id"]
    r = http.get(f"/api/v1/grids/{code}")
    assert r.status_code == 200 and r.json()["properties"]["code"] == code
    assert http.get("/api/v1/grids/441226001001999").status_code == 404
    assert http.get("/api/v1/grids/12345").status_code == 422


def test_bad_bbox_and_limit(http: httpx.Client) -> None:
    r = http.get("/api/v1/grids", params={"bbox": "23.1,112.0,23.2,112.1"})
    assert r.status_code == 422 and "swap" in r.json()["detail"]
    r = http.get("/api/v1/grids", params={"bbox": "1,2,3"})
    assert r.status_code == 422 and "four numbers" in r.json()["detail"]
    r = http.get("/api/v1/grids", params={"limit": 0})
    assert r.status_code == 422 and "limit" in r.json()["detail"]


def test_openapi_documents_the_endpoints(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    for p in (
        "/healthz",
        "/api/v1/units/{code}",
        "/api/v1/units/{code}/children",
        "/api/v1/grids",
        "/api/v1/grids/{code}",
        "/api/v1/locate",
    ):
        assert p in paths


def test_docs_page_loads_only_local_assets(http: httpx.Client) -> None:
    import re

    page = http.get("/docs")
    assert page.status_code == 200
    refs = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assets = [r for r in refs if not r.startswith("/openapi")]
    assert assets, "the docs page should reference its scripts"
    for ref in assets:
        assert ref.startswith("/"), f"/docs loads {ref} from outside the service"
        assert http.get(ref).status_code == 200, ref
