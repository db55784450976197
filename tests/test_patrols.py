"""Patrol intake, coverage and routing on hand-made data with known answers (real PostGIS)."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, text

from gisgrid.errors import InvalidCoordinate, InvalidPeriod, InvalidTrack, NotFound
from gisgrid.patrols import coverage, routing, tracks
from tests.patrol_fixtures import GRID, T0, make_place, walk

DAY = (T0 - dt.timedelta(hours=1), T0 + dt.timedelta(hours=12))


def _ingest(conn: Connection, fixes: list[dict], **kw) -> dict:
    return tracks.ingest_fixes(conn, tracks.parse_batch(fixes), **kw)


def test_walking_exactly_half_a_road(conn: Connection) -> None:
    p = make_place(conn)
    # Along road A (200 m) from 0 to 85 m: the 15 m buffer reaches 100 m, exactly half.
    xs = np.linspace(0, 85, 18)
    out = _ingest(conn, walk(p.staff, xs, np.zeros_like(xs)))
    assert out["accepted"] == 18 and out["dropped_jump"] == 0
    cov = coverage.coverage_by_unit(conn, GRID, *DAY)
    by_name = {
        f["properties"]["name"]: f["properties"] for f in cov["uncovered_segments"]["features"]
    }
    assert by_name["A"]["covered_share"] == pytest.approx(0.5, abs=1e-3)
    # Road C starts where the walk starts: only its first 15 m are within reach.
    assert by_name["C"]["covered_share"] == pytest.approx(15 / 200, abs=1e-3)
    assert by_name["B"]["covered_share"] == 0 and by_name["B"]["since_last_visit"] == "never"
    assert cov["road_coverage"] == pytest.approx((100 + 15) / 600, abs=1e-3)
    assert cov["segments_total"] == 3 and cov["segments_covered"] == 0
    # The household 20 m off road A is visited, the one 200 m away is not.
    assert (cov["households_visited"], cov["households_total"]) == (1, 2)
    # The school at the walk's start is visited; the reservoir at (200, 200) is not.
    assert (cov["key_places_visited"], cov["key_places_total"]) == (1, 2)
    school = next(k for k in cov["key_places"] if k["kind"] == "school")
    assert school["visited"] and school["dwell_s"] > 0
    assert [f["properties"]["name"] for f in cov["unvisited_places"]["features"]] == ["北水库"]
    w = cov["workers"][0]
    assert w["staff_id"] == p.staff and w["distance_m"] == pytest.approx(85, abs=0.5)
    assert w["time_on_patrol_s"] == pytest.approx(34)


def test_a_walk_along_the_whole_road_covers_it(conn: Connection) -> None:
    p = make_place(conn)
    xs = np.linspace(0, 200, 41)
    _ingest(conn, walk(p.staff, xs, np.full_like(xs, 8.0)))  # 8 m beside the road
    cov = coverage.coverage_by_unit(conn, GRID, *DAY, now=T0 + dt.timedelta(hours=2))
    names = {f["properties"]["name"] for f in cov["uncovered_segments"]["features"]}
    assert "A" not in names and cov["segments_covered"] == 1
    assert cov["since_last_visit"]["segments"]["<3h"] == 3  # B and C touched at their ends


def test_a_gps_jump_is_dropped(conn: Connection) -> None:
    p = make_place(conn)
    xs = np.linspace(0, 85, 18)
    fixes = walk(p.staff, xs, np.zeros_like(xs))
    jumped = walk(p.staff, np.array([2000.0]), np.array([2000.0]))[0]
    fixes[9] = {**fixes[9], "lon": jumped["lon"], "lat": jumped["lat"]}  # 2.8 km in 2 s
    out = _ingest(conn, fixes)
    assert (out["accepted"], out["dropped_jump"]) == (17, 1)
    stored = conn.execute(
        text("SELECT count(*) FROM patrol_fix WHERE staff_id = :s"), {"s": p.staff}
    ).scalar_one()
    assert stored == 17
    cov = coverage.coverage_by_unit(conn, GRID, *DAY)
    assert cov["workers"][0]["distance_m"] == pytest.approx(85, abs=0.5)


def test_a_jump_at_the_start_is_dropped_too() -> None:
    t = np.arange(5, dtype=float)
    lon = np.array([101.0, 100.0, 100.00001, 100.00002, 100.00003])
    lat = np.full(5, 30.0)
    assert tracks.jump_mask(np.zeros(5, int), t, lon, lat, 15.0).tolist() == [
        True,
        False,
        False,
        False,
        False,
    ]


def test_a_resubmitted_offline_batch_is_accepted_exactly_once(conn: Connection) -> None:
    p = make_place(conn)
    xs = np.linspace(0, 190, 39)
    fixes = walk(p.staff, xs, np.zeros_like(xs))
    rng = np.random.default_rng(1)
    shuffled = [fixes[i] for i in rng.permutation(len(fixes))]
    first = _ingest(conn, shuffled[:25])  # a partial batch, out of order
    again = _ingest(conn, shuffled[10:] + shuffled[10:15])  # overlap plus repeats inside
    full = _ingest(conn, fixes)  # the whole batch resent
    assert first["accepted"] + again["accepted"] == 39 and full["accepted"] == 0
    assert again["duplicates"] == 20 and full["duplicates"] == 39
    n, tracks_ = conn.execute(
        text("SELECT count(*), count(DISTINCT track_id) FROM patrol_fix WHERE staff_id = :s"),
        {"s": p.staff},
    ).one()
    assert (n, tracks_) == (39, 1)
    track = conn.execute(
        text("SELECT grid_id, started_at, ended_at FROM patrol_track WHERE staff_id = :s"),
        {"s": p.staff},
    ).one()
    assert track.grid_id == p.grid_id and track.started_at == T0
    assert track.ended_at == T0 + dt.timedelta(seconds=76)


def test_fixes_outside_duty_are_dropped(conn: Connection) -> None:
    p = make_place(conn)
    night = dt.datetime(2024, 5, 6, 15, 30, tzinfo=dt.UTC)  # 23:30 in Shanghai
    out = _ingest(conn, walk(p.staff, np.arange(3.0), np.zeros(3), t0=night))
    assert (out["accepted"], out["dropped_off_duty"]) == (0, 3)
    night_shift = tracks.IntakeRules(duty_start_h=20, duty_end_h=6)
    out = _ingest(conn, walk(p.staff, np.arange(3.0), np.zeros(3), t0=night), rules=night_shift)
    assert out["accepted"] == 3


def test_gpx_and_geojson_uploads(conn: Connection) -> None:
    p = make_place(conn)
    pts = walk(p.staff, np.array([0.0, 5.0, 10.0]), np.zeros(3))
    gpx = (
        '<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
        "<trk><trkseg>"
        + "".join(
            f'<trkpt lat="{f["lat"]}" lon="{f["lon"]}"><time>{f["t"]}</time></trkpt>' for f in pts
        )
        + "</trkseg></trk></gpx>"
    ).encode()
    assert tracks.ingest_fixes(conn, tracks.parse_upload(gpx, "", p.staff))["accepted"] == 3
    line = {
        "type": "Feature",
        "properties": {"staff": p.staff, "times": [f["t"] for f in pts]},
        "geometry": {"type": "LineString", "coordinates": [[f["lon"], f["lat"]] for f in pts]},
    }
    out = tracks.ingest_fixes(
        conn,
        tracks.parse_upload(pd.io.json.ujson_dumps(line).encode(), "application/geo+json", None),
    )
    assert (out["accepted"], out["duplicates"]) == (0, 3)


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        (
            b"<gpx><trk><trkseg><trkpt lat='30' lon='100'/></trkseg></trk></gpx>",
            InvalidTrack,
            "no <time>",
        ),
        (b"[]", InvalidTrack, "non-empty"),
        (
            b'[{"staff": 1, "t": "2024-05-06T09:00:00+08:00", "lon": 30, "lat": 100}]',
            InvalidCoordinate,
            "swap",
        ),
        (b'[{"staff": 1, "t": "yesterday", "lon": 100, "lat": 30}]', InvalidTrack, "'yesterday'"),
        (b'[{"staff": 1, "lon": 100, "lat": 30}]', InvalidTrack, "lacks t"),
        (
            b'[{"staff": 2147483000, "t": "2024-05-06T09:00:00+08:00", "lon": 100, "lat": 30}]',
            NotFound,
            "2147483000",
        ),
    ],
)
def test_bad_uploads_name_the_problem(
    conn: Connection, body: bytes, error: type, words: str
) -> None:
    with pytest.raises(error, match=words):
        tracks.ingest_fixes(conn, tracks.parse_upload(body, "", None))


@pytest.mark.parametrize(
    "t", [1717200000, 1717200000.0, "1717200000", 1717200000000, "1717200000000", 1717200000e3]
)
def test_numeric_times_are_unix_epoch_seconds_or_milliseconds(t: object) -> None:
    # Phones send epochs; pandas alone would read 1717200000 as nanoseconds in 1970.
    frame = tracks.parse_batch([{"staff": 1, "t": t, "lon": 100, "lat": 30}])
    assert frame["t"].iloc[0] == pd.Timestamp("2024-06-01T00:00:00Z")


def test_iso_times_without_a_zone_are_china_time() -> None:
    frame = tracks.parse_batch(
        [
            {"staff": 1, "t": "2024-06-01T08:00:00", "lon": 100, "lat": 30},
            {"staff": 1, "t": "2024-06-01T00:00:00Z", "lon": 100, "lat": 30},
            {"staff": 1, "t": "2024-06-01T09:00:00+09:00", "lon": 100, "lat": 30},
        ]
    )
    assert (frame["t"] == pd.Timestamp("2024-06-01T00:00:00Z")).all()


@pytest.mark.parametrize("t", [1795, 17950000000, 179500000000000000, -1717200000, True, [1], None])
def test_other_times_are_refused_naming_the_value(t: object) -> None:
    fixes = [{"staff": 1, "t": "2024-06-01T08:00:00", "lon": 100, "lat": 30}] * 2
    with pytest.raises(InvalidTrack, match=rf"fix 2: time {re.escape(repr(t))}"):
        tracks.parse_batch([*fixes, {"staff": 1, "t": t, "lon": 100, "lat": 30}])


def test_coverage_rejects_bad_periods_and_units(conn: Connection) -> None:
    with pytest.raises(InvalidPeriod, match="not after"):
        coverage.coverage_by_unit(conn, GRID, DAY[1], DAY[0])
    with pytest.raises(NotFound, match="990101999000"):
        coverage.coverage_by_unit(conn, "990101999", *DAY)


def test_suggested_route_runs_along_the_roads(conn: Connection) -> None:
    p = make_place(conn)
    xs = np.linspace(0, 60, 13)
    _ingest(conn, walk(p.staff, xs, np.zeros_like(xs)))
    plan = routing.suggest_route(conn, p.staff, at=T0 + dt.timedelta(hours=1))
    stops = [f["properties"] for f in plan["features"] if f["geometry"]["type"] == "Point"]
    assert stops[0]["kind"] == "start" and stops[0]["from"] == "last_fix"
    kinds = sorted(s["kind"] for s in stops[1:])
    # Unvisited: the reservoir at (200, 200) and the household at (100, 200).
    assert kinds == ["household", "key_place"] and plan["unreachable"] == []
    # From (60, 0): east along A to (200, 0), north along B to (200, 200) is the road way.
    assert plan["length_m"] == pytest.approx(140 + 200, abs=2) or plan["length_m"] == pytest.approx(
        200 + 200, abs=2
    )
    assert plan["features"][-1]["properties"]["kind"] == "route"


def test_demo_county_gets_a_generated_network(conn: Connection, demo_county: str) -> None:
    from gisgrid.patrols import roads

    count = "SELECT count(*) FROM key_place WHERE county_code = :c"
    before = conn.execute(text(count), {"c": demo_county}).scalar_one()  # `gisgrid demo` adds some
    out = roads.generate_demo_network(conn, demo_county, progress=lambda m: None)
    assert out["generated"] and 8_000 < out["roads"]["segments"] < 20_000
    flags = conn.execute(
        text(
            "SELECT bool_and(generated), count(*) FROM road_segment WHERE county_code = :c "
            "UNION ALL SELECT bool_and(generated), count(*) FROM key_place WHERE county_code = :c"
        ),
        {"c": demo_county},
    ).all()
    assert flags[0][0] and flags[1][0]
    assert flags[1][1] - before == out["key_places"]["key_places"] > 300
    # The network is one piece (a spanning tree plus loops): pgRouting reaches every node.
    reach = conn.execute(
        text(
            "SELECT count(DISTINCT component) FROM pgr_connectedComponents("
            "'SELECT id, node_from AS source, node_to AS target, length_m AS cost, "
            "length_m AS reverse_cost FROM road_segment')"
        )
    ).scalar_one()
    assert reach == 1
