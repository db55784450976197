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
# The bulk index's finest cell. Answers do not depend on it (the index is exact); its cost
# does: for a county of ~170,000 points and ~1,000 grids, building and assigning took 2.0 s
# at 50 m cells, 1.1 s at 100 m, 0.96 s at 150 m, 0.88 s at 200 m and 1.15 s at 300 m
# (6 counties, bench/README "issue 19"): coarser cells are fewer to classify, but send more
# points to the exact test.
CELL_M = 150.0


@dataclass(frozen=True)
class AssignTask:
    """What a task needs besides its partition: where to read and write, and the index's cell."""

    url: str  # the database (PostGIS source and results)
    table: str  # household | report (PostGIS source)
    parquet: str | None = None  # a generated province's folder (GeoParquet source)
    out: str | None = None  # where GeoParquet results go
    cell_m: float = CELL_M


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
    t0, cpu0 = time.perf_counter(), time.process_time()
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
        # CPU this task's process got (its thread and Arrow's reading threads; a Dask worker
        # runs one task at a time): beside `seconds` (wall), what a shared machine gave it.
        "cpu_s": round(time.process_time() - cpu0, 4),
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
    """Ids, lon and lat of a GeoParquet point partition (native point encoding or WKB)."""
    # Only the id and the coordinates are read (column projection): the partition's other
    # columns (kind, county, grid_code, hilbert) are half its bytes.
    table = pq.read_table(path, columns=["id", "geometry"])
    ids = table.column("id").to_numpy()
    geometry = table.column("geometry").combine_chunks()
    if pa.types.is_struct(geometry.type):
        # GeoParquet 1.1 native point: x and y are plain double columns, no decoding at all.
        return ids, _doubles(geometry.field("x")), _doubles(geometry.field("y"))
    x, y = _wkb_points(geometry)
    return ids, x, y


def _doubles(column: pa.Array) -> np.ndarray:
    if column.null_count:
        return column.to_numpy(zero_copy_only=False).astype(np.float64)
    return column.to_numpy()


_WKB_POINT = 21  # byte order, type, x, y
_WKB_LE_POINT = b"\x01\x01\x00\x00\x00"  # little-endian, type 1 (2D point)


def _wkb_points(wkb: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """x and y of WKB points: read as fixed 21-byte records when every one is a 2D
    little-endian point (what GeoParquet writers give), else through shapely."""
    if pa.types.is_large_binary(wkb.type):
        wkb = wkb.cast(pa.binary())
    start = wkb.offset
    offsets = np.frombuffer(wkb.buffers()[1], dtype=np.int32)[start : start + len(wkb) + 1]
    if len(wkb) and not wkb.null_count and (np.diff(offsets) == _WKB_POINT).all():
        data = np.frombuffer(wkb.buffers()[2], dtype=np.uint8)
        records = data[offsets[0] : offsets[-1]].reshape(-1, _WKB_POINT)
        if (records[:, :5] == np.frombuffer(_WKB_LE_POINT, dtype=np.uint8)).all():
            xy = np.ascontiguousarray(records[:, 5:]).view("<f8")
            return xy[:, 0].copy(), xy[:, 1].copy()
    xy = shapely.get_coordinates(shapely.from_wkb(wkb), include_z=False)
    return xy[:, 0], xy[:, 1]


@dataclass(frozen=True)
class _Grids:
    """A grid file decoded once per worker process: codes, polygons and their boxes."""

    codes: np.ndarray
    polygons: np.ndarray
    bounds: np.ndarray  # (n, 4): xmin, ymin, xmax, ymax

    def in_box(self, box: tuple[float, float, float, float]) -> np.ndarray:
        """Positions of the grids whose boxes meet `box`, in code order."""
        x0, y0, x1, y1 = box
        b = self.bounds
        hit = (b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0)
        at = np.flatnonzero(hit)
        return at[np.argsort(self.codes[at], kind="stable")]


_GRIDS: dict[tuple[str, int, int], _Grids] = {}


def grids_of(path: str | Path) -> _Grids:
    """The grid file's grids, read and decoded once per process while the file is unchanged
    (60,835 grids: ~0.3 s, once per worker instead of once per partition)."""
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)
    got = _GRIDS.get(key)
    if got is None:
        table = pq.read_table(path, columns=["code", "xmin", "ymin", "xmax", "ymax", "geometry"])
        bounds = np.column_stack(
            [table.column(k).to_numpy() for k in ("xmin", "ymin", "xmax", "ymax")]
        )
        codes = table.column("code").to_numpy(zero_copy_only=False).astype(str)
        polygons = shapely.from_wkb(table.column("geometry").combine_chunks())
        _GRIDS.clear()  # one grid file at a time: a new generation replaces the old
        got = _GRIDS[key] = _Grids(codes, polygons, bounds)
    return got


def assign_parquet_partition(item: tuple[int, str], task: AssignTask) -> dict[str, Any]:
    """One GeoParquet point partition assigned; (id, grid_code) written beside it in `out`."""
    job, name = item
    if task.parquet is None or task.out is None:
        raise DataSourceError("a GeoParquet assignment needs the province folder and an output")
    t0, cpu0 = time.perf_counter(), time.process_time()
    root = Path(task.parquet)
    ids, x, y = read_points(root / "points" / f"{name}.parquet")
    grids = grids_of(root / "grids.parquet")
    near = grids.in_box(_box(x, y))
    t1 = time.perf_counter()
    index = GridIndex.build(grids.codes[near], grids.polygons[near], cell_m=task.cell_m)
    t2 = time.perf_counter()
    at = index.assign(x, y)
    t3 = time.perf_counter()
    # The codes taken by Arrow (no Python string per point); a point in no grid gets null.
    grid = pa.array(index.codes).take(pa.array(at, mask=at < 0))
    out = pa.table({"id": ids, "grid_code": grid})
    Path(task.out).mkdir(parents=True, exist_ok=True)
    pq.write_table(out, Path(task.out) / f"{name}.parquet")
    t4 = time.perf_counter()
    return _summary(name, len(ids), at, len(near), t0, t1, t2, t3, t4, cpu0) | {"job": job}


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
    cell_m: float = CELL_M,
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
    cell_m: float = CELL_M,
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
