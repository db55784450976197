"""Map data, tiles, static assets and exports over real HTTP against the demo county."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import httpx
import mapbox_vector_tile
import pytest
from PIL import Image
from sqlalchemy import Connection, text

from gisgrid.mapdata import layers, tiles

CENTRE = (111.9, 23.3)


@pytest.fixture
def http(admin_http: httpx.Client) -> httpx.Client:
    """Map data needs an account; these tests act as an admin (tests/test_auth.py and
    test_maps_access below cover who else may call what)."""
    return admin_http


def test_grid_measures_bbox_and_zoom(http: httpx.Client) -> None:
    full = http.get("/maps/data/grids", params={"unit": "441226"})
    assert full.status_code == 200
    assert full.headers["content-type"] == "application/geo+json"
    # Kept by the browser but asked again each time, with its ETag (issue 13).
    assert full.headers["cache-control"] == "private, no-cache" and full.headers["etag"]
    fc = full.json()
    assert len(fc["features"]) == 900
    p = fc["features"][0]["properties"]
    assert {"households", "open_cases", "overdue_cases", "open_per_100"} <= set(p)
    # bbox narrows, zoom simplifies (fewer bytes for the same grids).
    box = "111.85,23.25,111.95,23.35"
    exact = http.get("/maps/data/grids", params={"unit": "441226", "bbox": box}).content
    coarse = http.get("/maps/data/grids", params={"unit": "441226", "bbox": box, "zoom": 8})
    n = len(json.loads(exact)["features"])
    assert 0 < n < 900 and len(coarse.json()["features"]) == n
    # Generated Voronoi grids have few vertices, so the saving is modest here.
    assert len(coarse.content) < 0.9 * len(exact)


def test_reports_poll_is_the_layer_built_by_the_database(
    http: httpx.Client, conn: Connection
) -> None:
    """The poll's document, built by PostgreSQL in one statement (issue 13), is open_reports'
    answer: the same features in the same order with the same properties."""
    asked: list[dict[str, Any]] = [
        {"unit": "441226"},
        {"unit": "441226", "overdue_only": True},
        {"unit": "441226001", "limit": 3},
    ]
    for kw in asked:
        params = {k if k != "overdue_only" else "overdue": v for k, v in kw.items()}
        r = http.get("/maps/data/reports", params=params)
        assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
        expected = json.loads(json.dumps(layers.open_reports(conn, **kw)))
        polled = r.json()
        # Flags and hours move with the clock between the two reads; times are the same
        # instants (PostgreSQL leaves out a fraction's trailing zeros); everything else is equal.
        for fc in (expected, polled):
            for f in fc["features"]:
                p = f["properties"]
                for moving in ("overdue", "due_soon", "hours_overdue"):
                    p.pop(moving)
                for when in ("reported_at", "due_at"):
                    p[when] = p[when] and dt.datetime.fromisoformat(p[when])
        assert polled == expected and polled["features"]


def test_open_per_100_is_open_cases_over_households(conn: Connection) -> None:
    fc = layers.grid_measures(conn, "441226", geometry=False)
    total_open = conn.execute(
        text(
            "SELECT count(*) FROM report r JOIN grid g ON g.id = r.grid_id WHERE g.valid_to IS "
            "NULL AND g.village_code LIKE '441226%' AND r.status IN "
            "('submitted','registered','dispatched','in_progress')"
        )
    ).scalar_one()
    assert sum(f["properties"]["open_cases"] for f in fc["features"]) == total_open
    f = next(f for f in fc["features"] if f["properties"]["open_cases"])
    p = f["properties"]
    assert p["open_per_100"] == round(100 * p["open_cases"] / p["households"], 2)
    assert f["geometry"] is None


def test_reports_live_and_overdue(http: httpx.Client) -> None:
    fc = http.get("/maps/data/reports", params={"unit": "441226"}).json()
    assert fc["features"] and all(
        f["properties"]["status"] in {"submitted", "registered", "dispatched", "in_progress"}
        for f in fc["features"]
    )
    late = http.get("/maps/data/reports", params={"unit": "441226", "overdue": "true"}).json()
    answered = dt.datetime.now(dt.UTC)
    props = [f["properties"] for f in late["features"]]
    hours = [p["hours_overdue"] for p in props]
    # Every one is overdue: flagged, due before the answer came, hours counted from its due time,
    # longest first. Hours are rounded to 0.1, so a case due a minute ago shows 0.0: the demo's
    # cases fall due, one after another, for days after it is loaded.
    assert hours and all(p["overdue"] and p["hours_overdue"] >= 0 for p in props)
    assert all(dt.datetime.fromisoformat(p["due_at"]) < answered for p in props)
    assert hours == sorted(hours, reverse=True) and hours[0] > 0


def _patrol(conn: Connection, staff_id: int, fixes: list[tuple[str, float, float]]) -> None:
    """A patrol track of the staff member with fixes (time from now as an interval, lon, lat)."""
    track = conn.execute(
        text("INSERT INTO patrol_track (staff_id, source) VALUES (:s, 'test') RETURNING id"),
        {"s": staff_id},
    ).scalar_one()
    conn.execute(
        text(
            "INSERT INTO patrol_fix (track_id, staff_id, t, geom) VALUES (:t, :s, "
            "now() + CAST(:ago AS interval), ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
        ),
        [{"t": track, "s": staff_id, "ago": a, "x": x, "y": y} for a, x, y in fixes],
    )


def test_staff_positions_latest_fix_with_age(conn: Connection) -> None:
    # A worker not out on the demo's generated patrol day, whose latest fix would win.
    staff_id, grid = conn.execute(
        text(
            "SELECT a.staff_id, g.code FROM staff_assignment a JOIN grid g ON g.id = a.grid_id "
            "WHERE a.role = 'full_time' AND g.valid_to IS NULL AND NOT EXISTS (SELECT 1 FROM "
            "patrol_fix f WHERE f.staff_id = a.staff_id AND f.t > now() - interval '2 days') "
            "ORDER BY a.id LIMIT 1"
        )
    ).one()
    _patrol(
        conn,
        staff_id,
        [
            ("-30 minutes", 111.90, 23.30),
            ("-5 minutes", 111.91, 23.31),
            # A phone whose clock runs a day ahead: not the latest position.
            ("1 day", 111.92, 23.32),
        ],
    )
    fc = layers.staff_positions(conn, grid[:9])
    mine = [f for f in fc["features"] if f["properties"]["staff_id"] == staff_id]
    assert len(mine) == 1 and fc["note"] is None
    assert mine[0]["geometry"]["coordinates"] == [111.91, 23.31]
    assert 290 <= mine[0]["properties"]["age_s"] <= 400


def test_ranking_worst_first(http: httpx.Client) -> None:
    rows = http.get("/maps/data/ranking", params={"unit": "441226"}).json()
    assert len(rows) == 13
    keys = [(-r["overdue_cases"], -r["open_per_100"]) for r in rows]
    assert keys == sorted(keys) and [r["rank"] for r in rows] == list(range(1, 14))


def test_households_need_a_grid_or_bbox(http: httpx.Client) -> None:
    r = http.get("/maps/data/households", params={"unit": "441226"})
    assert r.status_code == 422 and "bbox" in r.json()["detail"]
    fc = http.get(
        "/maps/data/households", params={"unit": "441226", "bbox": "111.9,23.3,111.92,23.32"}
    ).json()
    assert fc["features"] and "head_name" not in fc["features"][0]["properties"]


def _decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data)


@pytest.mark.parametrize("layer", ["grids", "households", "reports"])
def test_tiles_decode_with_features(http: httpx.Client, layer: str) -> None:
    z = 13 if layer == "households" else 10
    x, y = tiles.lonlat_to_tile(*CENTRE, z)
    r = http.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert "cache-control" in r.headers
    decoded = _decode(r.content)
    assert decoded[layer]["features"]


def test_grid_tiles_cached_per_generation(http: httpx.Client) -> None:
    gen = http.get("/maps/data/generations", params={"unit": "441226"}).json()[0]["id"]
    x, y = tiles.lonlat_to_tile(*CENTRE, 11)
    url = f"/tiles/grids/11/{x}/{y}.mvt?generation={gen}"
    first, second = http.get(url), http.get(url)
    assert second.headers["x-tile-cache"] == "hit"
    assert first.content == second.content
    assert "immutable" in second.headers["cache-control"]
    other = http.get(f"/tiles/grids/11/{x}/{y}.mvt?generation={gen + 999}")
    assert other.status_code == 200 and other.content == b""


def test_static_assets_are_served_with_licences(http: httpx.Client) -> None:
    r = http.get("/static/vendor/leaflet-1.9.4/leaflet.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert "max-age=86400" in r.headers["cache-control"]
    from maps.assets import STATIC_DIR

    for d in (STATIC_DIR / "vendor").iterdir():
        if d.is_dir():
            assert (d / "LICENSE").is_file(), d


def test_pages_reference_no_outside_host(http: httpx.Client) -> None:
    gcode = http.get("/maps/data/grids", params={"unit": "441226001", "geometry": "false"}).json()[
        "features"
    ][0]["properties"]["code"]
    for url in (
        "/maps/center?unit=441226",
        "/maps/planner?unit=441226",
        f"/maps/worker?grid={gcode}",
    ):
        html = http.get(url).text
        assert "https://" not in html and "http://" not in html, url


def test_png_export(http: httpx.Client) -> None:
    r = http.get("/maps/export.png", params={"unit": "441226001", "measure": "households"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    assert img.size == (1200, 900)
    assert len(img.convert("RGB").getcolors(1 << 20) or []) > 5  # grids in several classes


def test_html_export_is_self_contained(http: httpx.Client) -> None:
    r = http.get("/maps/center", params={"unit": "441226001", "export": "true"})
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    assert '<script src="/static' not in r.text and 'href="/static' not in r.text
    assert '"snapshot": true' in r.text


def test_worker_payload_is_small(http: httpx.Client) -> None:
    """The whole worker page for the busiest grid: HTML + assets + data, printed and bounded."""
    fc = http.get("/maps/data/grids", params={"unit": "441226", "geometry": "false"}).json()
    grid = max(fc["features"], key=lambda f: f["properties"]["households"])["properties"]
    html = http.get("/maps/worker", params={"grid": grid["code"]}).content
    assets = sum(
        len(http.get(u).content)
        for u in (
            "/static/vendor/leaflet-1.9.4/leaflet.js",
            "/static/vendor/leaflet-1.9.4/leaflet.css",
            "/static/gisgrid/gisgrid.js",
            "/static/gisgrid/gisgrid.css",
        )
    )
    print(
        f"worker page, grid {grid['code']} ({grid['households']} households): "
        f"html+data {len(html) / 1024:.1f} KiB, assets {assets / 1024:.1f} KiB"
    )
    assert len(html) < 200 * 1024


def test_maps_access(server: str, admin_token: str) -> None:
    """Anonymous visitors are sent to sign in; data with people or cases needs an account."""
    with httpx.Client(base_url=server) as anon:
        r = anon.get("/maps/center", params={"unit": "441226"})
        assert r.status_code == 303
        assert r.headers["location"].startswith("/login?next=%2Fmaps%2Fcenter")
        for path, params in [
            ("/maps/data/reports", {"unit": "441226"}),
            ("/maps/data/staff", {"unit": "441226"}),
            ("/maps/data/households", {"grid": "441226001001001"}),
            ("/maps/data/worker", {"grid": "441226001001001"}),
            ("/tiles/households/14/13289/7089.mvt", {}),
            ("/tiles/reports/14/13289/7089.mvt", {}),
        ]:
            assert anon.get(path, params=params).status_code == 401, path
        # Grids and rankings carry no people: public.
        assert anon.get("/maps/data/grids", params={"unit": "441226"}).status_code == 200
        assert anon.get("/tiles/grids/10/830/443.mvt").status_code == 200


def test_coverage_measure_counts_households_visited(conn: Connection) -> None:
    """One more fix at an unvisited household: that grid's coverage is the share of its
    households with a fix within 30 m in the last 7 days (measured here with pyproj)."""
    import numpy as np
    import pyproj

    # A grid whose own workers were not out on the demo's generated patrol day.
    staff_id, grid_id, code = conn.execute(
        text(
            "SELECT a.staff_id, g.id, g.code FROM staff_assignment a "
            "JOIN grid g ON g.id = a.grid_id WHERE a.role = 'full_time' AND g.valid_to IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM patrol_track tr WHERE tr.grid_id = g.id "
            "AND tr.ended_at > now() - interval '8 days') "
            "ORDER BY g.code LIMIT 1"
        )
    ).one()
    pts = np.array(
        conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM household WHERE grid_id = :g ORDER BY id"),
            {"g": grid_id},
        ).all()
    )
    geod = pyproj.Geod(ellps="WGS84")

    def near(lon: float, lat: float) -> np.ndarray:
        _, _, dist = geod.inv(np.full(len(pts), lon), np.full(len(pts), lat), pts[:, 0], pts[:, 1])
        return np.asarray(dist <= 30)

    # Neighbours walking their own grids may pass a few of its households.
    visited = np.zeros(len(pts), dtype=bool)
    for lon, lat in conn.execute(
        text(
            "SELECT ST_X(f.geom), ST_Y(f.geom) FROM patrol_fix f, grid g WHERE g.id = :g "
            "AND f.geom && ST_Expand(g.geom, 0.001) AND f.t >= now() - interval '7 days'"
        ),
        {"g": grid_id},
    ).all():
        visited |= near(lon, lat)
    x, y = pts[np.flatnonzero(~visited)[0]]
    _patrol(conn, staff_id, [("-1 hour", x, y)])
    expected = float((visited | near(x, y)).mean())
    fc = layers.grid_measures(conn, grid=code)
    assert fc["features"][0]["properties"]["coverage"] == pytest.approx(expected)
    assert 0 < expected < 1
    assert "coverage" in layers.available_measures()


def test_coverage_cache_counts_once_and_keeps_cases_live(conn: Connection) -> None:
    """With the service's cache, coverage is counted once per minute for every poll (issue 13:
    it cost three quarters of the load mix), while open cases are still counted every time."""
    cache = layers.CoverageCache(ttl_s=3600)
    first = layers.grid_measures(conn, "441226", geometry=False, coverage_cache=cache)
    fresh = layers.grid_measures(conn, "441226", geometry=False)
    shares = {f["id"]: f["properties"]["coverage"] for f in first["features"]}
    assert shares == {f["id"]: f["properties"]["coverage"] for f in fresh["features"]}
    grid = first["features"][0]
    conn.execute(
        text(
            "INSERT INTO report (category, description, source, status, grid_id, reported_at, "
            "due_at, generated, geom) SELECT 'ZZ01', 'cache test', 'resident', 'dispatched', "
            "g.id, now(), now() + interval '1 day', false, ST_PointOnSurface(g.geom) "
            "FROM grid g WHERE g.code = :g AND g.valid_to IS NULL"
        ),
        {"g": grid["id"]},
    )
    again = layers.grid_measures(conn, "441226", geometry=False, coverage_cache=cache)
    assert cache.counted == 1
    after = next(f for f in again["features"] if f["id"] == grid["id"])["properties"]
    assert after["open_cases"] == grid["properties"]["open_cases"] + 1
    assert after["coverage"] == grid["properties"]["coverage"]
    # Older than its ttl_s, it is counted again.
    cache.ttl_s = 0
    layers.grid_measures(conn, "441226", geometry=False, coverage_cache=cache)
    assert cache.counted == 2


def test_worker_page_shows_roads_not_patrolled(http: httpx.Client, conn: Connection) -> None:
    """The worker's map carries the grid's roads nobody walked in the last 24 hours."""
    import datetime as dt

    from gisgrid.patrols import coverage

    # Grids with many roads whose own workers were not out on the demo's patrol day. Which
    # workers go out depends on the day, and a neighbour's walk may run along a grid's edge:
    # of the ten with the most roads, the one whose roads were least touched that way.
    candidates = conn.execute(
        text(
            "SELECT g.code, count(*) FROM grid g JOIN road_segment r "
            "ON r.geom && g.geom AND ST_Intersects(r.geom, g.geom) "
            "WHERE g.valid_to IS NULL AND NOT EXISTS (SELECT 1 FROM patrol_track tr "
            "WHERE tr.grid_id = g.id AND tr.ended_at > now() - interval '2 days') "
            "GROUP BY g.code ORDER BY count(*) DESC, g.code LIMIT 10"
        )
    ).all()
    now = dt.datetime.now(dt.UTC)
    never_of: dict[str, list[Any]] = {}
    for code, _ in candidates:
        cov = coverage.coverage_by_unit(conn, code, now - dt.timedelta(days=1), now)
        never_of[code] = [
            f
            for f in cov["uncovered_segments"]["features"]
            if f["properties"]["since_last_visit"] == "never"
        ]
    code, n = max(candidates, key=lambda c: (len(never_of[c[0]]) / c[1], c[1]))
    never = never_of[code]
    # Neighbours walking their own grids touch at most its edges.
    assert n > 0 and len(never) > n / 2
    page = http.get("/maps/worker", params={"grid": code})
    assert page.status_code == 200
    # The layer's tooltip and the segments' own properties are in the page.
    assert "未巡查（米）" in page.text
    assert page.text.count('"since_last_visit": "never"') >= len(never)
