"""/api/v1/locate agrees with the served grid polygons, and refuses bad points clearly."""

import httpx
import numpy as np
import shapely
from shapely.geometry import shape

from gisgrid.datum import wgs84_to_gcj02


def _served_grids(http: httpx.Client) -> tuple[list[str], np.ndarray]:
    fc = http.get("/api/v1/grids", params={"limit": 5000}).json()
    return [f["id"] for f in fc["features"]], np.array(
        [shape(f["geometry"]) for f in fc["features"]]
    )


def test_locate_agrees_with_served_polygons(http: httpx.Client) -> None:
    codes, polys = _served_grids(http)
    tree = shapely.STRtree(polys)
    minx, miny, maxx, maxy = shapely.total_bounds(polys)
    rng = np.random.default_rng(7)
    pts = shapely.points(rng.uniform((minx, miny), (maxx, maxy), (2000, 2)))
    pt_idx, grid_idx = tree.query(pts, predicate="covered_by")
    truth: dict[int, set[str]] = {}
    for p, g in zip(pt_idx, grid_idx, strict=True):
        truth.setdefault(int(p), set()).add(codes[g])
    inside = outside = 0
    for i, pt in enumerate(pts):
        r = http.get("/api/v1/locate", params={"lon": pt.x, "lat": pt.y})
        if i in truth:
            assert r.status_code == 200, r.text
            assert r.json()["grid"]["code"] in truth[i]
            inside += 1
        else:
            assert r.status_code == 404, (pt, r.text)
            assert "outside every grid" in r.json()["detail"]
            outside += 1
    # The bbox of a real county outline holds plenty of both.
    assert inside > 800 and outside > 100


def test_locate_returns_units_and_staff(http: httpx.Client) -> None:
    codes, polys = _served_grids(http)
    p = polys[0].representative_point()
    body = http.get("/api/v1/locate", params={"lon": p.x, "lat": p.y}).json()
    assert body["grid"]["code"] == codes[0]
    assert body["village"]["code"] == codes[0][:12]
    assert body["town"]["code"] == codes[0][:9] + "000"
    assert body["county"] == {"code": "441226000000", "name": "德庆县"}
    roles = {s["role"] for s in body["staff"]}
    assert {"grid_chief", "full_time"} <= roles


def test_locate_gcj02_input_lands_in_the_same_grid(http: httpx.Client) -> None:
    codes, polys = _served_grids(http)
    p = polys[10].representative_point()
    gx, gy = wgs84_to_gcj02(p.x, p.y)
    body = http.get("/api/v1/locate", params={"lon": gx, "lat": gy, "datum": "gcj02"}).json()
    assert body["grid"]["code"] == codes[10]


def test_swapped_coordinates_are_named(http: httpx.Client) -> None:
    r = http.get("/api/v1/locate", params={"lon": 23.2, "lat": 112.0})
    assert r.status_code == 422
    assert "lat=112.0" in r.json()["detail"] and "swap" in r.json()["detail"]


def test_malformed_and_out_of_range(http: httpx.Client) -> None:
    r = http.get("/api/v1/locate", params={"lon": "abc", "lat": 23.2})
    assert r.status_code == 422 and "lon" in r.json()["detail"] and "abc" in r.json()["detail"]
    r = http.get("/api/v1/locate", params={"lon": 200, "lat": 23.2})
    assert r.status_code == 422 and "lon=200" in r.json()["detail"]
    r = http.get("/api/v1/locate", params={"lon": "nan", "lat": 23.2})
    assert r.status_code == 422
    r = http.get("/api/v1/locate", params={"lat": 23.2})
    assert r.status_code == 422 and "lon" in r.json()["detail"]
    r = http.get("/api/v1/locate", params={"lon": 112.0, "lat": 23.2, "datum": "xyz"})
    assert r.status_code == 422 and "xyz" in r.json()["detail"]


def test_point_outside_the_county(http: httpx.Client) -> None:
    r = http.get("/api/v1/locate", params={"lon": 116.4, "lat": 39.9})
    assert r.status_code == 404
    assert "outside every grid" in r.json()["detail"] and "德庆县" in r.json()["detail"]
