"""Patrol endpoints over real HTTP: upload, resubmission, bad input, coverage, next route."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import Engine, text


@pytest.fixture
def http(own_admin_http: httpx.Client) -> httpx.Client:
    """Patrol endpoints need an account; these tests act as an admin (tests/test_auth.py
    covers who else may call them)."""
    return own_admin_http


@pytest.fixture
def worker(own_engine: Engine, demo_county: str) -> tuple[int, str, dt.datetime, float, float]:
    """A demo full-time worker, their grid, and a day of its own to write fixes in."""
    with own_engine.connect() as c:
        row = c.execute(
            text(
                "SELECT a.staff_id, g.code, ST_X(ST_PointOnSurface(g.geom)) AS lon, "
                "ST_Y(ST_PointOnSurface(g.geom)) AS lat FROM staff_assignment a "
                "JOIN grid g ON g.id = a.grid_id WHERE a.role = 'full_time' ORDER BY a.id LIMIT 1"
            )
        ).one()
    # A far-future day: no demo fix is on it.
    t0 = dt.datetime(2031, 1, 1, 2, tzinfo=dt.UTC)
    return row.staff_id, row.code, t0, row.lon, row.lat


def test_batch_upload_is_accepted_once_over_http(http: httpx.Client, worker) -> None:
    staff, grid, t0, lon, lat = worker
    fixes = [
        {
            "staff": staff,
            "t": (t0 + dt.timedelta(seconds=5 * i)).isoformat(),
            "lon": lon + i * 3e-5,
            "lat": lat,
        }
        for i in range(20)
    ]
    r = http.post("/api/v1/patrols/tracks", json={"fixes": fixes})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 20 and len(r.json()["tracks"]) == 1
    r = http.post("/api/v1/patrols/tracks", json=fixes[::-1])
    assert (r.json()["accepted"], r.json()["duplicates"]) == (0, 20)

    start, end = (t0 - dt.timedelta(hours=1)).isoformat(), (t0 + dt.timedelta(hours=1)).isoformat()
    r = http.get("/api/v1/coverage", params={"unit": grid, "start": start, "end": end})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    for key in (
        "road_coverage",
        "households_visited",
        "households_total",
        "key_places_visited",
        "key_places_total",
    ):
        assert key in body
    assert body["uncovered_segments"]["type"] == "FeatureCollection"
    assert body["households_total"] > 0 and body["households_visited"] >= 0
    assert body["workers"][0]["staff_id"] == staff and body["workers"][0]["fixes"] == 20

    r = http.get("/api/v1/patrols/next", params={"staff": staff, "at": end})
    assert r.status_code == 200 and r.json()["type"] == "FeatureCollection"
    assert r.json()["start"]["from"] == "last_fix"


def test_gpx_multipart_upload(http: httpx.Client, worker, own_engine: Engine) -> None:
    staff, _, t0, lon, lat = worker
    pts = "".join(
        f'<trkpt lat="{lat}" lon="{lon + i * 2e-5}"><time>'
        f"{(t0 + dt.timedelta(seconds=2 * i)).isoformat()}</time></trkpt>"
        for i in range(5)
    )
    gpx = f'<gpx xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{pts}</trkseg></trk></gpx>'
    r = http.post(
        "/api/v1/patrols/tracks",
        params={"staff": staff},
        files={"file": ("walk.gpx", gpx.encode(), "application/gpx+xml")},
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 5
    # Committed before the answer left: a read right after it sees every fix.
    with own_engine.connect() as c:
        stored = c.execute(
            text("SELECT count(*) FROM patrol_fix WHERE staff_id = :s AND t >= :a AND t < :b"),
            {"s": staff, "a": t0, "b": t0 + dt.timedelta(minutes=1)},
        ).scalar_one()
    assert stored == 5


@pytest.mark.parametrize(
    ("path", "kw", "status", "words"),
    [
        ("/api/v1/patrols/tracks", {"content": b""}, 422, "empty body"),
        ("/api/v1/patrols/tracks", {"content": b"{not json"}, 422, "neither GPX nor JSON"),
        (
            "/api/v1/patrols/tracks",
            {"json": [{"staff": 1, "t": "2024-01-01T09:00:00+08:00", "lon": 500, "lat": 23}]},
            422,
            "lon=500",
        ),
        (
            "/api/v1/patrols/tracks",
            {"json": [{"t": "2024-01-01T09:00:00+08:00", "lon": 112, "lat": 23}]},
            422,
            "no staff",
        ),
    ],
)
def test_bad_uploads_are_4xx_naming_the_problem(http, path, kw, status, words) -> None:
    r = http.post(path, **kw)
    assert r.status_code == status and words in r.json()["detail"], r.text


def test_bad_coverage_queries(http: httpx.Client) -> None:
    r = http.get(
        "/api/v1/coverage",
        params={"unit": "441226", "start": "2024-01-02T00:00Z", "end": "2024-01-01T00:00Z"},
    )
    assert r.status_code == 422 and "not after" in r.json()["detail"]
    r = http.get(
        "/api/v1/coverage",
        params={"unit": "12ab", "start": "2024-01-01T00:00Z", "end": "2024-01-02T00:00Z"},
    )
    assert r.status_code == 422 and "12ab" in r.json()["detail"]
    r = http.get("/api/v1/patrols/next", params={"staff": 2147483000})
    assert r.status_code == 404 and "2147483000" in r.json()["detail"]
