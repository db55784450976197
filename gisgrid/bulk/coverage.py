"""Patrol coverage of every unit over a period, on any runner: one task per unit and window.

Each task is `gisgrid.patrols.coverage_by_unit` (the single-process code, unchanged) for one
town, village or grid over one window of at most `window_days`; its figures are COPYed as one
row of `bulk_coverage`. A year is twelve-odd windows per unit: coverage is a share of roads and
homes reached, which does not add up across windows, so each window is its own row (as the
monthly assessment sheets keep it). Tasks are ordered by unit code, so a county's tasks sit
together (its roads and fixes stay warm in PostgreSQL's cache).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from gisgrid import sql
from gisgrid.bulk.engine import Bound, Runner, process_id, worker_engine
from gisgrid.bulk.jobs import run_job
from gisgrid.errors import InvalidPeriod, NotFound
from gisgrid.patrols import coverage_by_unit

LEVELS = ("town", "village", "grid")
# The figures kept per unit and window (coverage_by_unit's own names).
FIELDS = (
    "road_length_m",
    "road_covered_m",
    "segments_total",
    "segments_covered",
    "households_total",
    "households_visited",
    "key_places_total",
    "key_places_visited",
    "fixes",
)


@dataclass(frozen=True)
class CoverageTask:
    """The database and the distance a fix covers a road within."""

    url: str
    buffer_m: float


def windows(
    start: dt.datetime, end: dt.datetime, days: int
) -> list[tuple[dt.datetime, dt.datetime]]:
    """[start, end) cut into consecutive windows of `days` days (the last may be shorter)."""
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise InvalidPeriod(f"start={start} and end={end}: need zoned times with start < end")
    if not 1 <= days <= 62:
        raise InvalidPeriod(f"window_days={days}; coverage is measured over 1 to 62 days")
    step = dt.timedelta(days=days)
    cuts = pd.date_range(start, end, freq=step).to_pydatetime().tolist()
    cuts = [c for c in cuts if c < end] + [end]
    return list(zip(cuts[:-1], cuts[1:], strict=True))


def coverage_task(
    item: tuple[int, tuple[str, dt.datetime, dt.datetime]], task: CoverageTask
) -> dict[str, Any]:
    """One unit over one window: coverage_by_unit's figures, written as a bulk_coverage row."""
    job, (unit, start, end) = item
    t0 = time.perf_counter()
    engine = worker_engine(task.url)
    with engine.connect() as conn:
        res = coverage_by_unit(conn, unit, start, end, buffer_m=task.buffer_m)
    row = {"county_code": unit[:6], "job_id": job, "unit_code": unit}
    row |= {"period_start": start.isoformat(), "period_end": end.isoformat()}
    row |= {k: res[k] for k in FIELDS}
    with engine.begin() as conn:
        sql.copy_frame(conn, "bulk_coverage", pd.DataFrame([row]))
    return {
        "partition": f"{unit} {start:%Y-%m-%d}",
        "rows": 1,
        "fixes": res["fixes"],
        "seconds": round(time.perf_counter() - t0, 3),
        "worker": process_id(),
    }


def units_of(engine: Engine, unit: str, level: str) -> list[str]:
    """The towns, villages or current grids under a county, town or village code."""
    if level not in LEVELS:
        raise NotFound(f"level={level!r}; coverage units are {', '.join(LEVELS)}")
    code = unit.strip()
    prefix = code[:6] if code.endswith("000000") else code[:9] if code.endswith("000") else code
    with engine.connect() as conn:
        got = list(sql.execute(conn, "bulk/units", prefix=prefix, level=level).scalars())
    if not got:
        raise NotFound(f"no {level} under {unit!r}")
    return got


def run_coverage(
    engine: Engine,
    url: str,
    unit: str,
    start: dt.datetime,
    end: dt.datetime,
    runner: Runner,
    *,
    level: str = "town",
    window_days: int = 31,
    buffer_m: float = 15.0,
    progress: Any = print,
) -> dict[str, Any]:
    """Coverage of every `level` unit under `unit` in every window of [start, end), one task
    per unit and window on the runner; rows in `bulk_coverage` under the job."""
    cuts = windows(start, end, window_days)
    tasks = [(u, a, b) for u in units_of(engine, unit, level) for a, b in cuts]
    return run_job(
        engine,
        "coverage",
        {
            "unit": unit,
            "level": level,
            "start": start,
            "end": end,
            "window_days": window_days,
            "buffer_m": buffer_m,
        },  # fmt: skip
        runner,
        Bound(coverage_task, CoverageTask(url, buffer_m)),
        tasks,
        progress,
    )
