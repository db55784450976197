"""The demo county's GENERATED patrol day: its window, its walks, what it stores and shows."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
import shapely
from sqlalchemy import Connection, Engine, text

from gisgrid.demo import patrol_day
from gisgrid.demo.patrol_day import PatrolWindow, patrol_window
from gisgrid.errors import GisGridError, NotFound

CN = ZoneInfo("Asia/Shanghai")
# A fixed morning an hour and a quarter old: short tracks keep these tests quick.
NOW = dt.datetime(2024, 5, 6, 9, 45, tzinfo=CN)


def test_window_is_todays_morning_up_to_now() -> None:
    w = patrol_window(NOW)
    assert w == PatrolWindow(
        dt.date(2024, 5, 6),
        dt.datetime(2024, 5, 6, 8, 30, tzinfo=CN),
        dt.datetime(2024, 5, 6, 9, 45, tzinfo=CN),
    )
    # The same instant in UTC names the same local day and cut-off.
    assert patrol_window(NOW.astimezone(dt.UTC)) == w
    # After the morning: the whole morning.
    assert patrol_window(dt.datetime(2024, 5, 6, 15, 0, tzinfo=CN)).end == dt.datetime(
        2024, 5, 6, 12, 0, tzinfo=CN
    )


def test_window_before_the_first_hour_is_yesterdays_morning() -> None:
    for now in (
        dt.datetime(2024, 5, 6, 9, 29, 59, tzinfo=CN),  # 59 min into the morning
        dt.datetime(2024, 5, 6, 0, 10, tzinfo=CN),
        # 01:00 local on the 7th is still the 6th in UTC; the local day decides.
        dt.datetime(2024, 5, 6, 17, 0, tzinfo=dt.UTC),
    ):
        w = patrol_window(now)
        expected_day = now.astimezone(CN).date() - dt.timedelta(days=1)
        assert w.day == expected_day, now
        assert w.end == dt.datetime.combine(expected_day, dt.time(12), CN)
    assert patrol_window(dt.datetime(2024, 5, 6, 9, 30, tzinfo=CN)).day == dt.date(2024, 5, 6)


def test_window_refuses_a_time_without_zone() -> None:
    with pytest.raises(ValueError, match="needs a time zone"):
        patrol_window(dt.datetime(2024, 5, 6, 9, 45))


def _lattice() -> dict[int, patrol_day.RoadGraph]:
    """Two 500 m grids side by side with a 100 m road lattice running across both, noded at
    its crossings as a stored network is."""
    grids = np.array([shapely.box(0, 0, 500, 500), shapely.box(500, 0, 1000, 500)])
    xs, ys = [0, *range(50, 1000, 100), 1000], [0, *range(50, 500, 100), 500]
    roads = [
        shapely.LineString([(x0, y), (x1, y)])
        for y in ys[1:-1]
        for x0, x1 in zip(xs[:-1], xs[1:], strict=True)
    ]
    roads += [
        shapely.LineString([(x, y0), (x, y1)])
        for x in xs[1:-1]
        for y0, y1 in zip(ys[:-1], ys[1:], strict=True)
    ]
    return patrol_day.grid_road_graphs(grids, np.array(roads))


def test_road_graphs_are_clipped_to_each_grid() -> None:
    graphs = _lattice()
    assert set(graphs) == {0, 1}
    assert graphs[0].nodes_xy[:, 0].max() <= 500 and graphs[1].nodes_xy[:, 0].min() >= 500
    # Each grid: 5 rows of 6 pieces (the one crossing the boundary cut there), 5 columns of 6.
    assert len(graphs[0].a) == len(graphs[1].a) == 60
    assert len(graphs[0].nodes_xy) == len(graphs[1].nodes_xy) == 6 * 5 + 5 * 2 + 5


def test_walks_are_deterministic_and_a_later_cut_off_extends_them() -> None:
    graphs = _lattice()
    grid_of, staff = np.array([0, 1, 1]), np.array([11, 12, 13])
    patrols = np.array([True, True, False])
    early = patrol_window(NOW)
    late = patrol_window(NOW + dt.timedelta(hours=1))
    a = patrol_day.simulate_patrol_day(graphs, grid_of, staff, patrols, early, seed=7)
    b = patrol_day.simulate_patrol_day(graphs, grid_of, staff, patrols, early, seed=7)
    c = patrol_day.simulate_patrol_day(graphs, grid_of, staff, patrols, late, seed=7)
    other = patrol_day.simulate_patrol_day(graphs, grid_of, staff, patrols, early, seed=8)
    assert len(a) > 20 and a.equals(b)
    assert set(a["worker"]) == {0, 1}  # the third is not on patrol
    assert a["t"].min() >= early.start.timestamp() and a["t"].max() <= early.end.timestamp()
    assert len(c) > len(a) and c[c["t"] <= early.end.timestamp()].reset_index(drop=True).equals(a)
    assert not other[["x", "y"]].equals(a[["x", "y"]])
    # Each worker stays on their own grid's roads (noise of a few metres aside).
    for k, grid in ((0, (0, 500)), (1, (500, 1000))):
        x = a.loc[a["worker"] == k, "x"]
        assert x.between(grid[0] - 20, grid[1] + 20).all()


def _digest(conn: Connection, county: str, but: int = 0) -> tuple[int, int, float, float, float]:
    """Tracks, fixes and coordinate/time sums of the county's generated patrol tracks (all but
    staff member `but`'s)."""
    row = conn.execute(
        text(
            "SELECT count(DISTINCT tr.id), count(f.id), sum(ST_X(f.geom)), sum(ST_Y(f.geom)), "
            "sum(extract(epoch FROM f.t)) FROM patrol_track tr JOIN grid g ON g.id = tr.grid_id "
            "JOIN patrol_fix f ON f.track_id = tr.id "
            "WHERE tr.generated AND g.village_code LIKE :p AND tr.staff_id <> :but"
        ),
        {"p": county[:6] + "%", "but": but},
    ).one()
    return (int(row[0]), int(row[1]), float(row[2]), float(row[3]), float(row[4]))


def test_patrol_day_in_the_database(conn: Connection, demo_county: str) -> None:
    """Generated tracks of on-duty grid workers in their own grids; a re-run replaces.

    Full-time workers mostly; part-time workers and household leaders take part (issue 17)."""
    out = patrol_day.write_patrol_day(conn, demo_county, seed=5, now=NOW, progress=print)
    assert out["day"] == "2024-05-06" and out["replaced_tracks"] > 0  # the session's day
    walking, on_duty = out["patrolling_by_role"], out["on_duty_by_role"]
    assert 0.5 * out["workers_on_duty"] < walking["full_time"] <= out["workers_on_duty"]
    assert 0 < walking["part_time"] < on_duty["part_time"] / 2
    assert 0 < walking["household_leader"] < on_duty["household_leader"] / 10
    assert out["tracks"] == sum(walking.values())
    first = _digest(conn, demo_county)
    assert first[:2] == (out["tracks"], out["fixes"]) and out["fixes"] > 10 * out["tracks"]

    tracks = conn.execute(
        text(
            "SELECT tr.id, tr.staff_id, tr.day, tr.source, tr.started_at, tr.ended_at, "
            "EXISTS (SELECT 1 FROM staff s JOIN staff_assignment a ON a.staff_id = s.id "
            "        WHERE s.id = tr.staff_id AND s.on_duty "
            "        AND a.role IN ('full_time', 'part_time', 'household_leader') "
            "        AND a.valid_to IS NULL AND a.grid_id = tr.grid_id) AS own_grid "
            "FROM patrol_track tr JOIN grid g ON g.id = tr.grid_id "
            "WHERE tr.generated AND g.village_code LIKE '441226%' ORDER BY tr.staff_id"
        )
    ).all()
    assert len(tracks) == out["tracks"] and len({t.staff_id for t in tracks}) == len(tracks)
    assert all(t.own_grid for t in tracks)
    assert {(t.day, t.source) for t in tracks} == {(NOW.date(), "generated")}
    w = patrol_window(NOW)
    assert min(t.started_at for t in tracks) >= w.start and max(t.ended_at for t in tracks) <= w.end

    # Fixes keep to the worker's own grid, GPS noise aside (~20 m in degrees here).
    inside, total = conn.execute(
        text(
            "SELECT count(*) FILTER (WHERE ST_DWithin(f.geom, g.geom, 0.0002)), count(*) "
            "FROM patrol_track tr JOIN grid g ON g.id = tr.grid_id "
            "JOIN patrol_fix f ON f.track_id = tr.id "
            "WHERE tr.generated AND g.village_code LIKE '441226%'"
        )
    ).one()
    assert total == out["fixes"] and inside / total > 0.99

    stored = patrol_day.stored_patrol_day(conn, demo_county)
    assert stored is not None and stored["day"] == "2024-05-06" and stored["seed"] == 5
    assert patrol_day.is_current(conn, demo_county, NOW + dt.timedelta(minutes=20))
    assert not patrol_day.is_current(conn, demo_county, NOW + dt.timedelta(minutes=40))
    assert not patrol_day.is_current(conn, demo_county, NOW + dt.timedelta(days=1))

    # Again with the same seed and cut-off: the same day replaces it and nothing doubles;
    # except that a worker whose track that day is real (a phone's) keeps it as it is.
    real = tracks[0].staff_id
    others = _digest(conn, demo_county, but=real)
    assert others[0] == out["tracks"] - 1
    conn.execute(
        text("UPDATE patrol_track SET generated = false, source = 'phone' WHERE id = :t"),
        {"t": tracks[0].id},
    )
    real_fixes = _fixes_of(conn, tracks[0].id)
    again = patrol_day.write_patrol_day(conn, demo_county, seed=5, now=NOW, progress=print)
    assert again["replaced_tracks"] == again["tracks"] == out["tracks"] - 1
    assert _digest(conn, demo_county) == pytest.approx(others)
    assert _fixes_of(conn, tracks[0].id) == real_fixes > 0


def _fixes_of(conn: Connection, track: int) -> int:
    return int(
        conn.execute(
            text("SELECT count(*) FROM patrol_fix WHERE track_id = :t"), {"t": track}
        ).scalar_one()
    )


def test_patrol_day_needs_a_loaded_county(conn: Connection) -> None:
    with pytest.raises(NotFound, match="522730000000 is not loaded"):  # a demo county, not in tests
        patrol_day.write_patrol_day(conn, "522730", now=NOW, progress=print)
    with pytest.raises(GisGridError, match="not a demo county"):
        patrol_day.write_patrol_day(conn, "110101", now=NOW, progress=print)


def test_center_map_shows_the_generated_patrols(
    admin_http: httpx.Client, engine: Engine, demo_county: str
) -> None:
    """After the demo's patrol day the wall map has staff positions and coverage colours."""
    with engine.connect() as c:
        walked = set(
            c.execute(
                text(
                    "SELECT DISTINCT tr.staff_id FROM patrol_track tr "
                    "JOIN grid g ON g.id = tr.grid_id JOIN patrol_fix f ON f.track_id = tr.id "
                    "WHERE tr.generated AND g.village_code LIKE '441226%' "
                    "AND f.t > now() - interval '24 hours'"
                )
            ).scalars()
        )
    assert len(walked) > 300
    r = admin_http.get("/maps/data/staff", params={"unit": "441226"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    assert fc["note"] is None
    shown = {f["properties"]["staff_id"] for f in fc["features"]}
    assert walked <= shown
    assert all(0 <= f["properties"]["age_s"] <= 24 * 3600 for f in fc["features"])

    grids = admin_http.get("/maps/data/grids", params={"unit": "441226", "geometry": "false"})
    shares = [f["properties"]["coverage"] for f in grids.json()["features"]]
    assert sum(1 for s in shares if s) > len(shares) / 2
