"""Bulk work beyond one process (issue 19): assignment, coverage and scores on Dask.

Each job splits into partitions that a Dask cluster (or this process) runs with the
single-process code of the other rooms (GridIndex, coverage_by_unit, the scores' grouped sums)
and writes back with COPY into narrow tables keyed by county and job; see engine.py for where
the tasks run and docs/scale.md for the figures.
"""

from gisgrid.bulk.assign import (
    UNPLACED,
    apply_assignment,
    read_points,
    run_assignment,
    run_parquet_assignment,
)
from gisgrid.bulk.coverage import run_coverage, windows
from gisgrid.bulk.engine import DaskRunner, LocalRunner, Runner, open_runner
from gisgrid.bulk.scores import run_scores

__all__ = [
    "UNPLACED",
    "DaskRunner",
    "LocalRunner",
    "Runner",
    "apply_assignment",
    "open_runner",
    "read_points",
    "run_assignment",
    "run_coverage",
    "run_parquet_assignment",
    "run_scores",
    "windows",
]
