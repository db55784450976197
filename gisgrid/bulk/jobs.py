"""Bulk job rows: one per run, its id on every result row; how partitions' results add up."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Engine

from gisgrid import sql
from gisgrid.bulk.engine import Runner


def run_job(
    engine: Engine,
    kind: str,
    params: dict[str, Any],
    runner: Runner,
    task: Callable[[Any], dict[str, Any]],
    partitions: list[Any],
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Start a job row, run `task` over the partitions (each gets (job_id, partition)), finish
    the row (done, or failed with the error, which is raised again); the summary."""
    t0 = time.perf_counter()
    with engine.begin() as conn:
        job = sql.scalar(
            conn,
            "bulk/insert_job",
            kind=kind,
            params=json.dumps(params, default=str),
            engine=runner.describe(),
            partitions=len(partitions),
        )
    results: list[dict[str, Any]] = []
    try:
        for got in runner.map(task, [(job, p) for p in partitions]):
            results.append(got)
            progress(
                f"{kind} job {job}: {len(results)}/{len(partitions)} partitions "
                f"({got.get('partition')}: {got.get('rows', 0):,} rows, {got.get('seconds')} s)"
            )
    except Exception as exc:
        with engine.begin() as conn:
            sql.execute(
                conn,
                "bulk/finish_job",
                job=job,
                status="failed",
                rows=sum(r.get("rows", 0) for r in results),
                error=f"{type(exc).__name__}: {exc}"[:2000],
            )
        raise
    rows = sum(r.get("rows", 0) for r in results)
    with engine.begin() as conn:
        sql.execute(conn, "bulk/finish_job", job=job, status="done", rows=rows, error=None)
    return {
        "job": job,
        "kind": kind,
        "engine": runner.describe(),
        "partitions": len(partitions),
        "rows": rows,
        "seconds": round(time.perf_counter() - t0, 3),
        "totals": totals(results),
    }


def totals(results: Iterable[dict[str, Any]]) -> dict[str, float]:
    """Numeric fields summed over the partitions' summaries (seconds: task time, not wall)."""
    out: dict[str, float] = {}
    for r in results:
        for k, v in r.items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                out[k] = round(out.get(k, 0) + v, 3)
    return out
