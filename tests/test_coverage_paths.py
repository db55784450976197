"""The faster coverage paths give what the old ones gave, on the demo county's GENERATED patrol
day and on random geometry: road cuts (unit first, so PostGIS prepares it), fixes as arrays,
road contacts from binned boxes instead of a GEOS line per track piece, GeoJSON from
coordinates."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
import shapely
from sqlalchemy import Connection, text

from gisgrid import sql
from gisgrid.demo import patrol_day
from gisgrid.patrols import coverage
from gisgrid.patrols.road_coverage import (
    TrackPieces,
    _capsule_intervals,
    _NearRoads,
    _road_pieces,
    road_coverage,
)

# The statements as they were before: the road cut with the road first in ST_CoveredBy and
# ST_Intersects (today's statement with those two turned back; PostGIS prepared the road, not
# the unit), and one row per fix.
NEW_ROADS = sql.load("patrols/coverage_roads")
OLD_ROADS = NEW_ROADS.replace("ST_Covers(u.g, r.geom)", "ST_CoveredBy(r.geom, u.g)").replace(
    "ST_Intersects(u.g, r.geom)", "ST_Intersects(r.geom, u.g)"
)
OLD_FIXES = """
SELECT f.track_id, f.staff_id, extract(epoch FROM f.t)::float8 AS t,
       ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat
FROM patrol_fix f
WHERE f.t >= :start AND f.t < :end
  AND f.geom && ST_Expand(ST_Envelope(ST_GeomFromEWKB(:ugeom)), :margin)
ORDER BY f.track_id, f.t
"""
OLD_HOUSEHOLDS = """
SELECT coalesce(array_agg(ST_X(h.geom) ORDER BY h.id), '{}') AS lon,
       coalesce(array_agg(ST_Y(h.geom) ORDER BY h.id), '{}') AS lat,
       coalesce(array_agg(v.last ORDER BY h.id), '{}') AS recorded
FROM household h
JOIN grid gr ON gr.id = h.grid_id AND gr.valid_to IS NULL AND gr.code LIKE :prefix || '%'
LEFT JOIN LATERAL (
    SELECT extract(epoch FROM max(x.visited_at))::float8 AS last FROM household_visit x
    WHERE x.household_id = h.id AND x.visited_at >= :start AND x.visited_at < :end
) v ON true
"""


def _units(conn: Connection) -> list[str]:
    """The county, a town, a village and the most walked grid of the demo day."""
    grid = conn.execute(
        text(
            "SELECT g.code FROM grid g JOIN patrol_track t ON t.grid_id = g.id "
            "WHERE g.valid_to IS NULL GROUP BY g.code ORDER BY count(*) DESC, g.code LIMIT 1"
        )
    ).scalar_one()
    return ["441226000000", "441226101000", "441226101001", grid]


def _day(conn: Connection) -> tuple[dt.datetime, dt.datetime]:
    day = patrol_day.stored_patrol_day(conn, "441226")
    assert day, "the demo county needs its generated patrol day"
    return dt.datetime.fromisoformat(day["start"]), dt.datetime.fromisoformat(day["end"])


def test_road_cuts_and_fixes_are_the_old_statements_answers(
    conn: Connection, demo_county: str
) -> None:
    # The old statement is today's but for the order of the two arguments, both turned back.
    assert OLD_ROADS.count("(r.geom, u.g)") == NEW_ROADS.count("(r.geom, u.g)") + 2
    start, end = _day(conn)
    for code in _units(conn):
        u = coverage.resolve_unit(conn, code[:6] if code.endswith("000000") else code)
        ugeom = bytes(u["ewkb"])
        new = sql.execute(conn, "patrols/coverage_roads", ugeom=ugeom).all()
        old = conn.execute(text(OLD_ROADS), {"ugeom": ugeom}).all()
        assert len(new) == len(old) > 0
        assert [tuple(r[:5]) + (bytes(r.wkb),) for r in new] == [
            tuple(r[:5]) + (bytes(r.wkb),) for r in old
        ], code
        margin = 215 / (coverage.M_PER_DEG * math.cos(math.radians(u["ymax"])))
        params = {"ugeom": ugeom, "start": start, "end": end, "margin": margin}
        arrays = coverage.fixes_near(conn, **params)
        rows = conn.execute(text(OLD_FIXES), params).all()
        assert len(rows) > 0
        for k, name in enumerate(("track", "staff", "epoch", "lon", "lat")):
            assert arrays[k].tolist() == [r[k] for r in rows], (code, name)


def _random_pieces(rng: np.random.Generator, n: int, spread: float, step: float) -> TrackPieces:
    ax, ay = rng.uniform(0, spread, n), rng.uniform(0, spread, n)
    angle, length = rng.uniform(0, 2 * np.pi, n), rng.exponential(step, n)
    bx, by = ax + length * np.cos(angle), ay + length * np.sin(angle)
    lone = rng.random(n) < 0.05  # fixes joined to neither neighbour: zero-length pieces
    bx[lone], by[lone] = ax[lone], ay[lone]
    bx[:20], ax[20:40] = ax[:20], bx[20:40]  # vertical pieces
    return TrackPieces(ax, ay, bx, by, rng.uniform(0, 1e5, n), np.zeros(n, dtype=np.int64))


@pytest.mark.parametrize("r", [1.0, 15.0, 60.0])
def test_binned_boxes_find_every_pair_geos_finds_within_r(r: float) -> None:
    rng = np.random.default_rng(int(r))
    pts = rng.uniform(0, 3000, (400, 2))
    ends = pts + rng.normal(0, 150, (400, 2))
    ends[:10, 0] = pts[:10, 0]  # vertical roads
    roads = shapely.linestrings(np.stack([pts, ends], 1))
    roads = np.concatenate([roads, [shapely.LineString([(0, 0), (500, 0), (500, 700)])]])
    p0, p1, _ = _road_pieces(roads)
    pieces = _random_pieces(rng, 20_000, 3000, 40)
    a = np.stack([pieces.ax, pieces.ay], 1)
    b = np.stack([pieces.bx, pieces.by], 1)
    ti, ri = _NearRoads(p0, p1, r).pairs(a, b)
    found = set(zip(ti.tolist(), ri.tolist(), strict=True))
    assert len(found) == len(ti)  # each pair once
    segs = shapely.linestrings(np.stack([a, b], 1))
    segs[(a == b).all(1)] = shapely.points(a[(a == b).all(1)])
    gi, gr = shapely.STRtree(shapely.linestrings(np.stack([p0, p1], 1))).query(
        segs, predicate="dwithin", distance=r
    )
    assert set(zip(gi.tolist(), gr.tolist(), strict=True)) <= found
    # And the capsule test keeps exactly GEOS's pairs among the candidates.
    s0, s1 = _capsule_intervals(p0[ri], p1[ri], a[ti], b[ti], r)
    kept = set(zip(ti[s1 >= s0].tolist(), ri[s1 >= s0].tolist(), strict=True))
    assert kept == set(zip(gi.tolist(), gr.tolist(), strict=True))


def test_road_coverage_of_a_random_day_matches_a_buffer_overlay() -> None:
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 2000, (300, 2))
    roads = shapely.linestrings(np.stack([pts, pts + rng.normal(0, 120, (300, 2))], 1))
    pieces = _random_pieces(rng, 3000, 2000, 30)
    cov = road_coverage(roads, pieces, 15.0)
    lines = shapely.linestrings(
        np.stack([np.c_[pieces.ax, pieces.ay], np.c_[pieces.bx, pieces.by]], 1)
    )
    area = shapely.union_all(shapely.buffer(lines, 15.0, quad_segs=64))
    truth = shapely.length(shapely.intersection(roads, area))
    assert np.allclose(cov.covered_m, truth, atol=0.05)
    assert (np.isnan(cov.last_visit) == (truth == 0)).all()


def test_geojson_from_coordinates_equals_geos_geojson() -> None:
    geoms = np.array(
        [
            shapely.LineString([(111.123456789012345, 23.98765432109876), (111.2, 23.1 + 1e-13)]),
            shapely.MultiLineString([[(0, 0), (1, 1)], [(2, 2), (3, 3.5)]]),
            shapely.LineString(),
            shapely.from_wkt("MULTILINESTRING EMPTY"),
            shapely.LineString([(0, 0), (0, 1), (2, 1)]),
        ],
        dtype=object,
    )
    assert coverage._geojson(geoms) == [json.loads(shapely.to_geojson(g)) for g in geoms]
    assert coverage._geojson(geoms[:0]) == []


def test_households_with_their_recorded_visits_are_the_old_statements_answer(
    conn: Connection, demo_county: str
) -> None:
    start, end = _day(conn)
    u = coverage.resolve_unit(conn, "441226101")
    homes = conn.execute(
        text(
            "SELECT h.id, h.grid_id FROM household h JOIN grid g ON g.id = h.grid_id "
            "WHERE g.valid_to IS NULL AND g.code LIKE '441226101%' ORDER BY h.id LIMIT 3"
        )
    ).all()
    # Visits in the period (two for the first household: the later counts), one before it.
    for (hid, gid), at in zip(
        [homes[0], homes[0], homes[1], homes[2]],
        [start + dt.timedelta(minutes=5), start + dt.timedelta(minutes=50),
         start + dt.timedelta(minutes=9), start - dt.timedelta(hours=1)],
        strict=True,
    ):  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO household_visit (household_id, grid_id, kind, visited_at, username) "
                "VALUES (:h, :g, 'routine', :at, 'test-worker')"
            ),
            {"h": hid, "g": gid, "at": at},
        )
    params = {"prefix": u["prefix"], "start": start, "end": end}
    new = sql.execute(conn, "patrols/coverage_households", **params).one()
    old = conn.execute(text(OLD_HOUSEHOLDS), params).one()
    assert len(new.lon) == len(old.lon) > 1000
    assert (list(new.lon), list(new.lat), list(new.recorded)) == (
        list(old.lon), list(old.lat), list(old.recorded)
    )  # fmt: skip
    assert sum(v is not None for v in new.recorded) == 2
    assert (start + dt.timedelta(minutes=50)).timestamp() in new.recorded
