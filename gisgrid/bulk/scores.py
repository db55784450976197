"""Scores for every unit of every county in a period, on any runner: one task per county.

Each task reads the county's due cases once (`gisgrid.reports` unit_frame, the single-process
code) and computes the county's measures and its towns', villages' and grids' with the same
grouped sums the scores endpoint uses (measures, rows_by), then COPYs one row per unit into
`bulk_unit_score`. A county is the natural partition: every case is in exactly one county, and
every unit's figures come from its own county's cases only.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Float, Integer

from gisgrid import sql
from gisgrid.bulk.engine import Bound, Runner, process_id, worker_engine
from gisgrid.bulk.jobs import run_job
from gisgrid.errors import NotFound
from gisgrid.models import BulkUnitScore
from gisgrid.reports import IntakeConfig, measures, period, rows_by, unit_frame

GROUPINGS = ("towns", "villages", "grids")
# The measures a row stores, as bulk_unit_score declares them (models.py): whole counts and
# rates, in column order; the table's keys and level are not measures.
_MEASURES = [c for c in BulkUnitScore.__table__.columns if not c.primary_key and c.name != "level"]
COUNTS = tuple(c.name for c in _MEASURES if isinstance(c.type, Integer))
RATES = tuple(c.name for c in _MEASURES if isinstance(c.type, Float))


@dataclass(frozen=True)
class ScoresTask:
    """The database, the period and the loop's configuration (calendars for working hours)."""

    url: str
    start: dt.datetime
    end: dt.datetime
    config: IntakeConfig


def county_scores(item: tuple[int, str], task: ScoresTask) -> dict[str, Any]:
    """A county's own scores and every town's, village's and grid's, as bulk_unit_score rows."""
    job, county = item
    t0 = time.perf_counter()
    engine = worker_engine(task.url)
    with engine.connect() as conn:
        unit, frame = unit_frame(conn, county, task.start, task.end, task.config)
        rows = [{"code": unit["code"], "level": unit["level"]} | measures(frame)]
        for by in GROUPINGS:
            rows += rows_by(conn, unit, frame, by)
    out = pd.DataFrame(rows)
    table = pd.DataFrame(
        {"county_code": county, "job_id": job, "unit_code": out["code"], "level": out["level"]}
    )
    for col in COUNTS:
        table[col] = out[col].astype("Int64")
    for col in RATES:
        table[col] = out[col].astype("Float64")
    with engine.begin() as conn:
        sql.copy_frame(conn, "bulk_unit_score", table)
    return {
        "partition": county,
        "rows": len(table),
        "cases": len(frame),
        "seconds": round(time.perf_counter() - t0, 3),
        "worker": process_id(),
    }


def run_scores(
    engine: Engine,
    url: str,
    runner: Runner,
    unit: str = "",
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    config: IntakeConfig | None = None,
    progress: Any = print,
) -> dict[str, Any]:
    """Scores of every county under `unit` (a code prefix; '' for all) and of every unit in
    them, one task per county on the runner; rows in `bulk_unit_score` under the job."""
    start, end = period(start, end)
    with engine.connect() as conn:
        counties = list(sql.execute(conn, "bulk/counties", prefix=unit[:6]).scalars())
    if not counties:
        raise NotFound(f"no county with current grids under {unit!r}")
    return run_job(
        engine,
        "scores",
        {"unit": unit, "start": start, "end": end},
        runner,
        Bound(county_scores, ScoresTask(url, start, end, config or IntakeConfig())),
        counties,
        progress,
    )
