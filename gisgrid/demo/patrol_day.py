"""The demo county's GENERATED patrol day (巡逻): grid workers walking their own grids.

On the demo day's working morning a share of the on-duty full-time grid workers (专职网格员),
and fewer part-time workers (兼职网格员) and household leaders (联户长), walk the generated roads
of their own grid (gisgrid.patrol_sim: walking or e-bike pace, stops at doors, GPS noise), one
fix every INTERVAL_S seconds. The fixes go in through the patrol intake
(gisgrid.tracks.ingest_fixes: the same checks, tables and COPY as phones), their tracks carry
`generated = true` and the county's dataset row records the day under `notes.patrol_day`.
Deterministic for a seed, a day and a cut-off time; each worker's walk is their own random
stream, so a later cut-off extends the same walks. One generated day is kept per county: a
newer one replaces it (`gisgrid demo` regenerates when the demo day changes or the stored
cut-off is 30 min behind now).

One fix a minute, as battery-saving field apps report: Deqing's day is ~146,000 fixes and loads
in 7-16 s on 2 cores (patrol_fix's indexes cost ~40 us a row); 20 s fixes triple both and move
the county's road coverage by under 2 points.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sqlalchemy import Connection, Engine

from gisgrid import sql
from gisgrid.demo.county import normalise_county_code
from gisgrid.errors import NotFound
from gisgrid.patrols import ingest_fixes, simulate_tracks, utm_epsg
from gisgrid.reports import WorkingCalendar

PATROL_GENERATOR = "gisgrid.patrol_day/3"
PATROL_NOTE = (
    "GENERATED patrol day: random walks along the generated roads of each worker's own grid "
    "(gisgrid.patrol_sim), not real GPS tracks."
)
SOURCE = "generated"  # patrol_track.source, next to generated = true
INTERVAL_S = 60  # seconds between fixes; see the module docstring
SHARE_BY_TOWN = (0.65, 0.90)  # share of on-duty full-time workers out on patrol, per town
PART_TIME_SHARE = 0.1  # part-time grid workers (兼职网格员) out on a given morning
LEADER_SHARE = 0.005  # household leaders (联户长) walking their grid on a given morning
ROLES = ("full_time", "part_time", "household_leader")
EBIKE_SHARE = 0.2  # rural grid workers often ride an e-bike (电动车) between hamlets
NOISE_M = 4.0  # phone GPS in villages: a few metres
START_WITHIN_S = 40 * 60  # out of the door within 40 min of the working morning's start
DURATION_S = (90 * 60, 4 * 3600)  # time on patrol; many are still out at the cut-off
FIRST_HOUR = dt.timedelta(hours=1)  # today's morning counts once an hour of it has passed
REFRESH_AFTER = dt.timedelta(minutes=30)  # a patrol day cut off this long ago is extended


@dataclass(frozen=True)
class PatrolWindow:
    """The demo day and the span of it that is patrolled: its working morning up to a cut-off."""

    day: dt.date
    start: dt.datetime
    end: dt.datetime


def patrol_window(now: dt.datetime, calendar: WorkingCalendar | None = None) -> PatrolWindow:
    """Today's working morning up to now once an hour of it has passed, else yesterday's.

    Every day counts, weekends too: patrol is daily duty, and the center's staff layer shows
    the last 24 hours, so an older day would leave the wall map without positions.
    """
    if now.tzinfo is None:
        raise ValueError(f"now={now.isoformat()} needs a time zone")
    cal = calendar or WorkingCalendar()
    zone = ZoneInfo(cal.tz)
    a, b = cal.periods[0]
    local = now.astimezone(zone)
    day = local.date()
    start = dt.datetime.combine(day, a, zone)
    if local < start + FIRST_HOUR:
        day -= dt.timedelta(days=1)
        start = dt.datetime.combine(day, a, zone)
    end = min(dt.datetime.combine(day, b, zone), local.replace(microsecond=0))
    return PatrolWindow(day, start, end)


@dataclass
class RoadGraph:
    """The roads of one grid clipped to it, as a graph in metres (its largest connected part)."""

    a: np.ndarray
    b: np.ndarray
    nodes_xy: np.ndarray


def grid_road_graphs(
    grid_geoms: np.ndarray, road_geoms: np.ndarray, min_piece_m: float = 1.0
) -> dict[int, RoadGraph]:
    """Per grid index: its roads clipped to it, noded at shared ends, largest part kept.

    Geometries in metres. A worker walks the roads of their own grid only; where a road leaves
    the grid the clipped piece ends at the boundary and the walker turns back there.
    """
    gi, ri = shapely.STRtree(road_geoms).query(grid_geoms, predicate="intersects")
    pieces = shapely.intersection(road_geoms[ri], grid_geoms[gi])
    parts, src = shapely.get_parts(pieces, return_index=True)
    keep = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) >= min_piece_m)
    parts, grid_of = parts[keep], gi[src[keep]]
    ends = np.concatenate(
        [
            shapely.get_coordinates(shapely.get_point(parts, 0)),
            shapely.get_coordinates(shapely.get_point(parts, -1)),
        ]
    )
    # Nodes are keyed per grid by their end point to the centimetre: pieces meeting at a
    # junction share it, and no node is shared across grids.
    key = np.column_stack([np.tile(grid_of, 2), np.round(ends * 100).astype(np.int64)])
    uniq, first, node = np.unique(key, axis=0, return_index=True, return_inverse=True)
    node = node.ravel()
    m = len(parts)
    a, b = node[:m], node[m:]
    n = len(uniq)
    _, label = connected_components(coo_matrix((np.ones(m), (a, b)), shape=(n, n)), directed=False)
    # The largest part of each grid by road length: sort parts by (grid, -length).
    comp_len = np.bincount(label[a], weights=shapely.length(parts), minlength=label.max() + 1)
    comp_grid = np.zeros(len(comp_len), dtype=np.int64)
    comp_grid[label[a]] = grid_of
    order = np.lexsort((-comp_len, comp_grid))
    best = order[np.r_[True, comp_grid[order][1:] != comp_grid[order][:-1]]]
    chosen = np.zeros(len(comp_len), dtype=bool)
    chosen[best] = True
    on = chosen[label[a]]
    graphs: dict[int, RoadGraph] = {}
    edge_order = np.argsort(grid_of[on], kind="stable")
    ea, eb, eg = a[on][edge_order], b[on][edge_order], grid_of[on][edge_order]
    bounds = np.flatnonzero(np.r_[True, eg[1:] != eg[:-1], True])
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        nodes = np.unique(np.concatenate([ea[lo:hi], eb[lo:hi]]))
        graphs[int(eg[lo])] = RoadGraph(
            np.searchsorted(nodes, ea[lo:hi]),
            np.searchsorted(nodes, eb[lo:hi]),
            ends[first[nodes]],
        )
    return graphs


def _worker_rng(seed: int, day: dt.date, staff: int, stream: int) -> np.random.Generator:
    """One worker's random stream for a day (0: whether they go out, 1: their walk)."""
    return np.random.default_rng([seed, day.toordinal(), staff, stream])


def simulate_patrol_day(
    graphs: dict[int, RoadGraph],
    worker_grid: np.ndarray,
    staff_ids: np.ndarray,
    patrols: np.ndarray,
    window: PatrolWindow,
    seed: int,
    interval_s: int = INTERVAL_S,
) -> pd.DataFrame:
    """Fixes (worker index, epoch t, x, y in metres, accuracy) of the workers marked in `patrols`.

    Each worker's walk comes from their own random stream (seed, day, staff id) and is cut at
    the window's end, so a later cut-off extends the same walks instead of drawing new ones.
    Workers whose grid has no road graph cannot patrol a road and are left out.
    """
    t_start, t_end = window.start.timestamp(), window.end.timestamp()
    frames = []
    for k in np.flatnonzero(patrols):
        g = graphs.get(int(worker_grid[k]))
        if g is None:
            continue
        rng = _worker_rng(seed, window.day, int(staff_ids[k]), 1)
        begin = t_start + float(rng.integers(0, START_WITHIN_S))
        duration = float(rng.integers(*DURATION_S))
        bike = rng.random() < EBIKE_SHARE
        speed = float(rng.uniform(3.0, 4.5) if bike else rng.uniform(1.0, 1.4))
        n = int(duration // interval_s) + 1
        sim = simulate_tracks(
            g.a,
            g.b,
            g.nodes_xy,
            1,
            n,
            begin,
            rng,
            speed_mps=speed,
            interval_s=interval_s,
            noise_m=NOISE_M,
            loiter_p=0.5,  # always: door-to-door visits (入户走访) are much of a patrol
            start_spread_s=0,
            loiter_s=(180, 900),
            loiter_stops=(2, 7),
        )
        accuracy = np.round(rng.uniform(3.0, 12.0, n), 1)
        seen = sim.t <= t_end
        if seen.sum() < 2:
            continue
        frames.append(
            pd.DataFrame(
                {
                    "worker": k,
                    "t": sim.t[seen],
                    "x": sim.x[seen],
                    "y": sim.y[seen],
                    "accuracy_m": accuracy[seen],
                }
            )
        )
    if not frames:
        return pd.DataFrame({"worker": [], "t": [], "x": [], "y": [], "accuracy_m": []})
    return pd.concat(frames, ignore_index=True)


def stored_patrol_day(conn: Connection, county: str) -> dict[str, Any] | None:
    """What the dataset row says about the county's generated patrol day, if any."""
    notes = sql.scalar(conn, "demo/stored_patrol_day", c=normalise_county_code(county))
    return notes if isinstance(notes, dict) else None


def is_current(conn: Connection, county: str, now: dt.datetime | None = None) -> bool:
    """Whether the stored patrol day is this generator's, the demo day and recent enough."""
    stored = stored_patrol_day(conn, county)
    if not stored or stored.get("generator") != PATROL_GENERATOR:
        return False
    want = patrol_window(now or dt.datetime.now(dt.UTC))
    return stored.get("day") == want.day.isoformat() and (
        dt.datetime.fromisoformat(stored["end"]) >= want.end - REFRESH_AFTER
    )


def remove_patrol_day(conn: Connection, county: str) -> int:
    """Delete the county's generated tracks and their fixes; returns the tracks removed."""
    county = normalise_county_code(county)
    gone = sql.execute(conn, "demo/generated_tracks", p=county[:6] + "%").scalars().all()
    if gone:
        sql.execute(conn, "demo/delete_track_fixes", ids=gone)
        sql.execute(conn, "demo/delete_tracks", ids=gone)
    sql.execute(conn, "demo/forget_patrol_day", c=county)
    return len(gone)


def write_patrol_day(
    conn: Connection,
    county: str,
    seed: int = 20231,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Replace the county's generated patrol day with the demo day's, in the caller's transaction.

    A worker who already has a real (not generated) track that day is left to it: generated
    fixes never go into a real track.
    """
    county = normalise_county_code(county)
    window = patrol_window(now or dt.datetime.now(dt.UTC))
    prefix = county[:6] + "%"
    if sql.execute(conn, "demo/dataset_exists", c=county).first() is None:
        raise NotFound(f"demo county {county} is not loaded; run `gisgrid demo` first")
    removed = remove_patrol_day(conn, county)
    grids = sql.execute(conn, "demo/current_grids_of_county", p=prefix).all()
    road_geoms = shapely.from_wkb(
        [bytes(w) for w in sql.execute(conn, "demo/county_roads", c=county).scalars()]
    )
    if not len(road_geoms):
        raise NotFound(f"county {county} has no roads to patrol; generate them first")
    workers = sql.execute(conn, "demo/workers_to_walk", p=prefix, d=window.day).all()
    grid_ids = np.array([g.id for g in grids], dtype=np.int64)
    x0, y0, x1, y1 = shapely.total_bounds(road_geoms)
    epsg = utm_epsg((x0 + x1) / 2, (y0 + y1) / 2)
    to_m = pyproj.Transformer.from_crs(4326, epsg, always_xy=True)
    to_ll = pyproj.Transformer.from_crs(epsg, 4326, always_xy=True)
    grid_m = shapely.transform(
        shapely.from_wkb([bytes(g.wkb) for g in grids]), to_m.transform, interleaved=False
    )
    road_m = shapely.transform(road_geoms, to_m.transform, interleaved=False)
    graphs = grid_road_graphs(grid_m, road_m)

    staff = np.array([w.id for w in workers], dtype=np.int64)
    worker_grid = np.searchsorted(grid_ids, np.array([w.grid_id for w in workers], dtype=np.int64))
    town = np.array([grids[i].village_code[:9] for i in worker_grid])
    towns, town_idx = np.unique(town, return_inverse=True)
    share = np.random.default_rng([seed, window.day.toordinal()]).uniform(
        *SHARE_BY_TOWN, len(towns)
    )
    # Who goes out is each worker's own draw: leaving one worker out changes no one else.
    # Full-time workers by their town's share; part-time workers and household leaders (联户长)
    # take part too, fewer of them on any one morning.
    role = np.array([w.role for w in workers])
    goes_out = np.array([_worker_rng(seed, window.day, s, 0).random() for s in staff])
    share_of = np.where(
        role == "full_time",
        share[town_idx],
        np.where(role == "part_time", PART_TIME_SHARE, LEADER_SHARE),
    )
    patrols = goes_out < share_of
    by_role = {r: int((patrols & (role == r)).sum()) for r in ROLES}
    on_duty = {r: int((role == r).sum()) for r in ROLES}
    progress(
        f"simulating {int(patrols.sum())} on patrol ({by_role['full_time']} of "
        f"{on_duty['full_time']} on-duty full-time grid workers, {by_role['part_time']} part-time, "
        f"{by_role['household_leader']} household leaders), "
        f"{window.start:%Y-%m-%d %H:%M}-{window.end:%H:%M} (GENERATED)"
    )
    fixes = simulate_patrol_day(
        graphs, worker_grid, staff, patrols, window, seed, interval_s=INTERVAL_S
    )
    lon, lat = to_ll.transform(fixes["x"].to_numpy(), fixes["y"].to_numpy())
    frame = pd.DataFrame(
        {
            "staff": staff[fixes["worker"].to_numpy(np.int64)],
            "t": pd.to_datetime(fixes["t"].to_numpy(), unit="s", utc=True),
            "lon": np.round(lon, 7),
            "lat": np.round(lat, 7),
            "accuracy_m": fixes["accuracy_m"].to_numpy(),
        }
    )
    result = ingest_fixes(conn, frame, source=SOURCE, generated=True)
    summary = {
        "generator": PATROL_GENERATOR,
        "generated": PATROL_NOTE,
        "seed": seed,
        "day": window.day.isoformat(),
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "interval_s": INTERVAL_S,
        "workers_on_duty": on_duty["full_time"],
        "on_duty_by_role": on_duty,
        "patrolling_by_role": by_role,
        "workers_patrolling": int(fixes["worker"].nunique()),
        "tracks": len(result["tracks"]),
        "fixes": int(result["accepted"]),
        "dropped": int(result["dropped_jump"] + result["dropped_off_duty"]),
        "replaced_tracks": removed,
    }
    sql.execute(conn, "demo/note_patrol_day", p=json.dumps(summary), c=county)
    return summary


def load_patrol_day(
    engine: Engine,
    county: str,
    seed: int = 20231,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Generate the demo day's patrols for a loaded demo county, in one transaction."""
    t0 = time.perf_counter()
    with engine.begin() as conn:
        summary = write_patrol_day(conn, county, seed=seed, now=now, progress=progress)
    # Fresh statistics: the staff and coverage queries plan on patrol_fix's size.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        sql.execute(c, "demo/analyze_patrols")
    secs = time.perf_counter() - t0
    progress(
        f"patrol day {summary['day']}: {summary['tracks']} tracks, {summary['fixes']:,} fixes "
        f"(replaced {summary['replaced_tracks']} generated tracks) in {secs:.1f} s"
    )
    return {**summary, "seconds": round(secs, 1)}


def ensure_patrol_day(
    engine: Engine,
    county: str,
    seed: int = 20231,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, Any] | None:
    """Generate the demo day's patrols unless the stored day is current; None if it was."""
    with engine.connect() as conn:
        if is_current(conn, county, now):
            return None
    return load_patrol_day(engine, county, seed=seed, now=now, progress=progress)
