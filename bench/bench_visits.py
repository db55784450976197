"""Households visited (a patrol fix within 30 m in the last 7 days) for every grid of a county:
gisgrid's k-d trees vs the same measure as one PostGIS query, on the same data, same run.

This is the center map's "coverage" measure, recomputed every 30 s while a wall map is open.
The demo county needs its GENERATED patrol day (`gisgrid demo` loads it); the answers must be
identical, grid by grid.
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import text

from bench.common import demo_engine
from gisgrid.demo import patrol_day
from gisgrid.patrols.coverage import (
    HOUSEHOLD_VISIT_DAYS,
    HOUSEHOLD_VISIT_M,
    M_PER_DEG,
    household_visit_share,
)
from gisgrid.settings import Settings

COUNTY = "441226"
RUNS = 3
# The measure as a plain PostGIS query: one GiST probe per household, geography in metres.
PEER_SQL = """
SELECT g.code, count(h.id) AS households,
       count(h.id) FILTER (WHERE EXISTS (
           SELECT 1 FROM patrol_fix f
           WHERE f.t >= :since AND f.geom && ST_Expand(h.geom, :deg)
             AND ST_DWithin(f.geom::geography, h.geom::geography, :m))) AS visited
FROM grid g JOIN household h ON h.grid_id = g.id
WHERE g.code = ANY(:codes) AND g.valid_to IS NULL
GROUP BY g.code
"""


def _best(fn):  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(RUNS):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    """Print both timings, their ratio and whether every grid's share agrees."""
    settings = Settings()
    engine = demo_engine(COUNTY, settings)
    patrol_day.ensure_patrol_day(engine, COUNTY, seed=settings.demo_seed, progress=lambda m: None)
    now = dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(days=HOUSEHOLD_VISIT_DAYS)
    with engine.connect() as conn:
        codes = list(
            conn.execute(
                text("SELECT code FROM grid WHERE valid_to IS NULL AND code LIKE :p ORDER BY code"),
                {"p": COUNTY + "%"},
            ).scalars()
        )
        fixes, households = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM patrol_fix WHERE t >= :s), (SELECT count(*) "
                "FROM household h JOIN grid g ON g.id = h.grid_id AND g.valid_to IS NULL "
                "WHERE g.code LIKE :p)"
            ),
            {"s": since, "p": COUNTY + "%"},
        ).one()
        print(f"{len(codes)} grids, {households:,} households, {fixes:,} fixes in 7 days")
        ours_s, ours = _best(lambda: household_visit_share(conn, codes, now=now))
        # Not JIT-compiled: its cost estimate makes PostgreSQL spend ~0.3 s compiling.
        conn.exec_driver_sql("SET jit = off")
        params = {"since": since, "deg": HOUSEHOLD_VISIT_M * 2 / M_PER_DEG, "m": HOUSEHOLD_VISIT_M}
        peer_s, rows = _best(lambda: conn.execute(text(PEER_SQL), params | {"codes": codes}).all())
    peer = {r.code: r.visited / r.households for r in rows if r.households}
    same = peer.keys() == ours.keys() and all(abs(peer[k] - ours[k]) < 1e-12 for k in peer)
    visited = sum(r.visited for r in rows)
    print(f"households visited: {visited:,} ({visited / households:.1%})")
    print(f"gisgrid (k-d trees, local TM)   {ours_s:6.2f} s")
    print(f"PostGIS (probe per household)   {peer_s:6.2f} s")
    print(f"ratio: {peer_s / ours_s:.1f}x faster; identical per grid: {same}")
    if not same:
        raise SystemExit("the two measures disagree")


if __name__ == "__main__":
    main()
