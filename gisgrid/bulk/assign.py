"""Bulk point -> grid assignment, partition by partition, on any runner.

A partition is one county's points (PostGIS: households or reports whose grid is in the county;
GeoParquet: one county file, Hilbert-sorted). Each task reads its points, builds a GridIndex
(gisgrid.assignment, the single-process code) over the current grids whose boxes meet the
points' box, assigns, and writes (point, grid) rows itself: COPY into `bulk_assignment` under
the job's id, or one GeoParquet-side file per partition. An index of the grids meeting the box
answers exactly as an index of all grids: any grid covering a point meets the box around it,
and ties still go to the lowest code. So the result is the single-process result.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from sqlalchemy import Engine

from gisgrid import sql
from gisgrid.assignment import GridIndex
from gisgrid.bulk.engine import Bound, Runner, process_id, worker_engine
from gisgrid.bulk.jobs import run_job, totals
from gisgrid.errors import DataSourceError, NotFound

TABLES = ("household", "report")
UNPLACED = "000000"  # the partition of rows in no grid yet (no county to go by)
_POINTS = {
    "household": ("bulk/household_points", "bulk/household_points_unplaced"),
    "report": ("bulk/report_points", "bulk/report_points_unplaced"),
}
_APPLY = {"household": "bulk/apply_household_grids", "report": "bulk/apply_report_grids"}


@dataclass(frozen=True)
class AssignTask:
    """What a task needs besides its partition: where to read and write, and the index's cell."""

    url: str  # the database (PostGIS source and results)
    table: str  # household | report (PostGIS source)
    parquet: str | None = None  # a generated province's folder (GeoParquet source)
    out: str | None = None  # where GeoParquet results go
    cell_m: float = 50.0


def _index_for(codes: np.ndarray, wkb: list[bytes] | pa.Array, cell_m: float) -> GridIndex:
    return GridIndex.build(codes.tolist(), shapely.from_wkb(wkb), cell_m=cell_m)


def _box(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return (0.0, 0.0, 0.0, 0.0)
    return (float(x[ok].min()), float(y[ok].min()), float(x[ok].max()), float(y[ok].max()))


def assign_postgis_partition(item: tuple[int, str], task: AssignTask) -> dict[str, Any]:
    """One county's points (or the unplaced ones) from PostGIS, assigned; rows COPYed under
    the job. Returns the partition's summary."""
    job, county = item
    t0, cpu0 = time.perf_counter(), time.thread_time()
    engine = worker_engine(task.url)
    with engine.begin() as conn:
        by_county, unplaced = _POINTS[task.table]
        raw = (
            sql.copy_csv(conn, unplaced)
            if county == UNPLACED
            else sql.copy_csv(conn, by_county, county=county)
        )
        frame = pd.read_csv(
            io.BytesIO(raw),
            header=None,
            names=["id", "x", "y"],
            dtype={"id": "int64", "x": "float64", "y": "float64"},
        )
        x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
        x0, y0, x1, y1 = _box(x, y)
        grids = sql.execute(conn, "bulk/grids_in_box", x0=x0, y0=y0, x1=x1, y1=y1).all()
        t1 = time.perf_counter()
        if grids and len(frame):
            index = _index_for(
                np.array([g.code for g in grids]), [bytes(g.wkb) for g in grids], task.cell_m
            )
            t2 = time.perf_counter()
            at = index.assign(x, y)
        else:
            t2 = time.perf_counter()
            at = np.full(len(frame), -1, dtype=np.int64)
        ids = np.array([g.id for g in grids] or [0], dtype=np.int64)
        grid_id = pd.array(ids[np.maximum(at, 0)], dtype="Int64")
        grid_id[at < 0] = pd.NA
        t3 = time.perf_counter()
        sql.copy_frame(
            conn,
            "bulk_assignment",
            pd.DataFrame(
                {
                    "county_code": county,
                    "job_id": job,
                    "point_id": frame["id"].to_numpy(dtype=np.int64),
                    "grid_id": grid_id,
                }
            ),
        )
    t4 = time.perf_counter()
    return _summary(county, len(frame), at, len(grids), t0, t1, t2, t3, t4, cpu0)


def _summary(
    part: str, n: int, at: np.ndarray, grids: int, t0: float, t1: float, t2: float, t3: float,
    t4: float, cpu0: float,
) -> dict[str, Any]:  # fmt: skip
    return {
        "partition": part,
        # CPU this task's thread got: beside `seconds` (wall), what a shared machine gave it.
        "cpu_s": round(time.thread_time() - cpu0, 4),
        "rows": n,
        "outside": int((at < 0).sum()),
        "grids": grids,
        "read_s": round(t1 - t0, 4),
        "index_s": round(t2 - t1, 4),
        "assign_s": round(t3 - t2, 4),
        "write_s": round(t4 - t3, 4),
        "seconds": round(t4 - t0, 3),
        "worker": process_id(),
    }


def read_points(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids, lon and lat of a GeoParquet point partition (WKB geometry column)."""
    table = pq.read_table(path, columns=["id", "geometry"])
    xy = shapely.get_coordinates(shapely.from_wkb(table.column("geometry").combine_chunks()))
    return table.column("id").to_numpy(), xy[:, 0], xy[:, 1]


def read_grids_in_box(path: str | Path, box: tuple[float, float, float, float]) -> pa.Table:
    """The grids of a GeoParquet grid file whose boxes meet `box` (row groups skipped by their
    statistics, then rows filtered), ordered by code."""
    x0, y0, x1, y1 = box
    table = pq.read_table(
        path,
        columns=["code", "geometry"],
        filters=[("xmin", "<=", x1), ("xmax", ">=", x0), ("ymin", "<=", y1), ("ymax", ">=", y0)],
    )
    return table.sort_by("code")


def assign_parquet_partition(item: tuple[int, str], task: AssignTask) -> dict[str, Any]:
    """One GeoParquet point partition assigned; (id, grid_code) written beside it in `out`."""
    job, name = item
    if task.parquet is None or task.out is None:
        raise DataSourceError("a GeoParquet assignment needs the province folder and an output")
    t0, cpu0 = time.perf_counter(), time.thread_time()
    root = Path(task.parquet)
    ids, x, y = read_points(root / "points" / f"{name}.parquet")
    grids = read_grids_in_box(root / "grids.parquet", _box(x, y))
    t1 = time.perf_counter()
    codes = grids.column("code").to_numpy(zero_copy_only=False).astype(str)
    index = _index_for(codes, grids.column("geometry").combine_chunks(), task.cell_m)
    t2 = time.perf_counter()
    at = index.assign(x, y)
    t3 = time.perf_counter()
    grid = index.codes[np.maximum(at, 0)].astype(object)
    grid[at < 0] = None
    out = pa.table({"id": ids, "grid_code": pa.array(grid, type=pa.string())})
    Path(task.out).mkdir(parents=True, exist_ok=True)
    pq.write_table(out, Path(task.out) / f"{name}.parquet")
    t4 = time.perf_counter()
    return _summary(name, len(ids), at, len(codes), t0, t1, t2, t3, t4, cpu0) | {"job": job}


def postgis_partitions(engine: Engine, table: str, unit: str = "") -> list[str]:
    """The counties (6 digits) under `unit` with current grids, and UNPLACED when unit is ''."""
    with engine.connect() as conn:
        counties = list(sql.execute(conn, "bulk/counties", prefix=unit[:6]).scalars())
    return [*counties, UNPLACED] if not unit else counties


def run_assignment(
    engine: Engine,
    url: str,
    table: str,
    runner: Runner,
    unit: str = "",
    cell_m: float = 50.0,
    progress: Any = print,
) -> dict[str, Any]:
    """Assign every household or report (under a county code, or all) on the runner; rows in
    `bulk_assignment` under the job. Nothing in household/report changes until applied."""
    if table not in TABLES:
        raise NotFound(f"cannot assign {table!r}; choose one of {', '.join(TABLES)}")
    parts = postgis_partitions(engine, table, unit)
    task = AssignTask(url=url, table=table, cell_m=cell_m)
    return run_job(
        engine,
        f"assign_{table}s",
        {"unit": unit, "cell_m": cell_m},
        runner,
        Bound(assign_postgis_partition, task),
        parts,
        progress,
    )


def run_parquet_assignment(
    engine: Engine | None,
    root: str,
    out: str,
    runner: Runner,
    cell_m: float = 50.0,
    progress: Any = print,
) -> dict[str, Any]:
    """Assign every point of a generated province's GeoParquet folder on the runner; one
    result file per partition in `out`. No database: the job is not recorded."""
    names = [p.stem for p in sorted((Path(root) / "points").glob("*.parquet"))]
    if not names:
        raise NotFound(f"no point partitions in {root}/points; write a province there first")
    task = Bound(
        assign_parquet_partition,
        AssignTask(url="", table="", parquet=root, out=out, cell_m=cell_m),
    )
    t0 = time.perf_counter()
    results = list(runner.map(task, [(0, n) for n in names]))

    return {
        "kind": "assign_points",
        "engine": runner.describe(),
        "partitions": len(names),
        "rows": sum(r["rows"] for r in results),
        "seconds": round(time.perf_counter() - t0, 3),
        "totals": totals(results),
        "parts": results,
    }


def apply_assignment(engine: Engine, job: int, progress: Any = print) -> dict[str, int]:
    """Move the rows whose grid changed to the grid a finished assignment job found, county by
    county (each one UPDATE of the changed rows only); the number moved per county."""
    with engine.begin() as conn:
        row = sql.first(conn, "bulk/job", job=job)
        if row is None or not row["kind"].startswith("assign_"):
            raise NotFound(f"no assignment job {job}")
        if row["status"] != "done":
            raise NotFound(f"assignment job {job} is {row['status']}, not done: nothing applied")
        table = row["kind"][len("assign_") : -1]
        moved = {}
        for county in sql.execute(conn, "bulk/job_counties", job=job).scalars():
            moved[county] = sql.execute(conn, _APPLY[table], county=county, job=job).rowcount
            progress(f"job {job}: {moved[county]:,} {table}s of {county} moved")
    return moved
