"""Beyond one process and one machine (issue 19).

(a) The same bulk assignment of ~10 million GENERATED points (households and a year of reports
    of a 60-county generated province, GeoParquet partitions by county, Hilbert-sorted) to its
    ~61,000 grids: gisgrid's bulk job on a local Dask cluster of 1 and of 2 worker processes,
    beside single-process DuckDB spatial (read_parquet + SPATIAL_JOIN on ST_Intersects of the
    grid and ST_Point over the native x/y columns, the lowest code on a tie; DUCKDB_QUERY) on
    the same files in the same run. Answers compared point by point.
    Printed: medians of RUNS, each run's machine load, the CPU the workers actually got, the
    scaling efficiency from 1 to 2 workers, the ratio to DuckDB, and the projection to 8 and 64
    workers from the measured per-partition times (its assumptions printed with it).

(b) The service at 1, 2 and 4 worker processes (`gisgrid serve --workers N`), in the same run,
    three runs, medians: Open311 intake throughput and latency (wrk, real reports), grid tiles
    cold (every tile of the county fetched once) and warm (wrk cycling them).
(c) The shared rate limit: at 1, 2 and 4 workers, sign-ins with wrong passwords sent round-robin
    over one keep-alive connection pinned to each worker; N workers must refuse at the same count
    as one (each worker alone saw about 1/N of them).

(d) `beside`: the service's intake p50/p99 idle and while a bulk assignment runs on the same
    machine.

`GISGRID_BENCH_SCALE_PARTS` (default `service,limit,bulk,beside`) chooses the parts;
`GISGRID_BENCH_SCALE_COUNTIES` (default 60: ~10 million points) the size of the bulk part.
"""

from __future__ import annotations

import glob
import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import text

from bench.bench_intake import LUA
from bench.bench_tiles import _tile_list
from bench.common import (
    BIN,
    delete_key_reports,
    demo_engine,
    fetch_once,
    load,
    repeat,
    serve_gisgrid,
    wrk,
    wrk_paths,
)
from gisgrid import bulk
from gisgrid.demo import province
from gisgrid.mapdata import layers
from gisgrid.reports import api_keys
from gisgrid.reports.taxonomy import CATEGORIES
from gisgrid.settings import Settings

# 60 counties: 10.04 million points (households + a year of reports) for seed 20231.
COUNTIES = int(os.environ.get("GISGRID_BENCH_SCALE_COUNTIES", "60"))
SEED = 20231
RUNS = 3
WORKERS = (1, 2)


def province_folder(settings: Settings) -> Path:
    """Where the bench's generated province lives (kept between runs: ~5 min to draw)."""
    return settings.state_dir / "bench" / f"province-{COUNTIES}-{SEED}"


# DuckDB's best plan here: its SPATIAL_JOIN operator (an R-tree over the grids, probed by the
# points), fed straight from the native point columns (ST_Point(x, y); DuckDB 1.5 reads the
# GeoParquet 1.1 point struct as STRUCT(x, y), not as GEOMETRY); ST_Intersects of a point and a
# polygon is "covered by" (edges included), as GridIndex; min(code) is the tie rule.
DUCKDB_QUERY = """COPY (
  SELECT p.id, min(g.code) AS grid_code
  FROM read_parquet('{root}/points/*.parquet') p
  LEFT JOIN read_parquet('{root}/grids.parquet') g
    ON ST_Intersects(g.geometry, ST_Point(p.geometry.x, p.geometry.y))
  GROUP BY p.id
) TO '{out}' (FORMAT parquet)"""


def _duckdb_version() -> str:
    import duckdb

    return str(duckdb.__version__)


def _duckdb(root: Path, out: Path, threads: int) -> tuple[float, float]:
    """DuckDB spatial, one process: the same points to the lowest-code covering grid, written
    as Parquet (as the bulk job writes its files); the wall and CPU seconds."""
    import duckdb
    import duckdb_extension_spatial

    ext = glob.glob(
        os.path.join(os.path.dirname(duckdb_extension_spatial.__file__), "extensions", "*",
                     "spatial.duckdb_extension")
    )[0]  # fmt: skip
    con = duckdb.connect()
    con.execute(f"LOAD '{ext}'")
    con.execute(f"SET threads = {threads}")
    t, cpu = time.perf_counter(), time.process_time()
    con.execute(DUCKDB_QUERY.format(root=root, out=out))
    secs, cpu = time.perf_counter() - t, time.process_time() - cpu
    con.close()
    return secs, cpu


def _answers(path: Path) -> pa.Table:
    return pq.read_table(path, columns=["id", "grid_code"]).sort_by("id")


def _projection(parts: list[dict[str, Any]], field: str, overhead_s: float, workers: int) -> float:
    """Wall time on `workers` workers: the measured partitions (their `field`: wall or CPU
    seconds) handed out in order to whichever worker is free first (as the scheduler does),
    plus the fixed overhead measured on 1 worker."""
    free = np.zeros(workers)
    for p in parts:
        k = int(np.argmin(free))
        free[k] += p[field]
    return float(free.max()) + overhead_s


def part_a(settings: Settings) -> dict[str, Any]:
    """The bulk assignment: 1 and 2 Dask workers beside DuckDB; figures printed and returned."""
    root = province_folder(settings)
    with bulk.open_runner(workers=2) as runner:
        manifest = province.write_parquet(
            root, COUNTIES, SEED, progress=lambda m: print(m, flush=True), map_counties=runner.map
        )
    size = sum(f.stat().st_size for f in root.rglob("*.parquet"))
    print(
        f"data: {manifest['points']:,} GENERATED points ({manifest['households']:,} households, "
        f"{manifest['reports']:,} reports) in {COUNTIES} county partitions, "
        f"{manifest['grid_count']:,} grids; {size / 2**20:,.0f} MiB of GeoParquet at {root}",
        flush=True,
    )
    tmp = Path(tempfile.mkdtemp(prefix="gisgrid-bench-scale-"))
    times: dict[str, list[float]] = {"w1": [], "w2": [], "duck1": [], "duck2": []}
    cpu: dict[str, list[float]] = {"w1": [], "w2": []}
    cpu_secs: dict[str, list[float]] = {k: [] for k in times}
    parts_1: list[dict[str, Any]] = []
    wall_1 = 0.0
    try:
        with (
            bulk.open_runner(workers=1) as one,
            bulk.open_runner(workers=2) as two,
        ):
            runners = {"w1": one, "w2": two}
            # Warm-up: every worker imports gisgrid and reads a partition once, unmeasured.
            for r in runners.values():
                bulk.run_parquet_assignment(None, str(root), str(tmp / "warm"), r, progress=None)
            print(
                f"peer: DuckDB {_duckdb_version()} spatial, one process, SET threads = 1 and 2, "
                f"this query:\n{DUCKDB_QUERY}",
                flush=True,
            )
            for run in range(RUNS):
                print(f"run {run + 1}/{RUNS}: {load()}", flush=True)
                # The load of the shared machine drifts within a run (12 to 24 in one run): the
                # pairs compared (1 and 2 workers; 1 worker and DuckDB 1 thread) are measured
                # next to each other, in alternating order so that neither always goes first.
                order = ["duck1", "w1", "w2", "duck2"]
                for key in order if run % 2 == 0 else order[::-1]:
                    if key.startswith("duck"):
                        threads = int(key[4:])
                        secs, cpu_s = _duckdb(root, tmp / f"{key}.parquet", threads)
                        times[key].append(secs)
                        cpu_secs[key].append(cpu_s)
                        print(
                            f"  DuckDB spatial, {threads} thread(s): {secs:.2f} s "
                            f"({manifest['points'] / secs / 1e6:.2f} M points/s), {cpu_s:.1f} "
                            f"CPU s; {load()}",
                            flush=True,
                        )
                        continue
                    # A new file time: each job's workers read and decode the grid file again
                    # (a worker keeps it between the partitions of a job, and between jobs only
                    # while the file is unchanged), as DuckDB reads it in each query.
                    os.utime(root / "grids.parquet")
                    r = runners[key]
                    got = bulk.run_parquet_assignment(None, str(root), str(tmp / key), r)
                    times[key].append(got["seconds"])
                    workers = int(key[1:])
                    share = got["totals"]["cpu_s"] / (got["seconds"] * workers)
                    cpu[key].append(share)
                    cpu_secs[key].append(got["totals"]["cpu_s"])
                    if key == "w1":
                        parts_1, wall_1 = got["parts"], got["seconds"]
                    t = got["totals"]
                    print(
                        f"  gisgrid bulk, {workers} worker(s): {got['seconds']:.2f} s "
                        f"({got['rows'] / got['seconds'] / 1e6:.2f} M points/s); task time "
                        f"read {t['read_s']:.1f} s, index {t['index_s']:.1f} s, assign "
                        f"{t['assign_s']:.1f} s, write {t['write_s']:.1f} s; the workers got "
                        f"{share:.0%} of their {workers} core(s), {got['totals']['cpu_s']:.1f} "
                        f"CPU s; {load()}",
                        flush=True,
                    )
        ours = pa.concat_tables([_answers(f) for f in sorted((tmp / "w1").glob("*.parquet"))])
        ours = ours.sort_by("id")
        two_ = pa.concat_tables([_answers(f) for f in sorted((tmp / "w2").glob("*.parquet"))])
        duck = _answers(tmp / "duck1.parquet")
        same_12 = ours.equals(two_.sort_by("id"))
        differ = int(
            np.sum(
                ours.column("grid_code").to_numpy(zero_copy_only=False).astype(str)
                != duck.column("grid_code").to_numpy(zero_copy_only=False).astype(str)
            )
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    eff = med["w1"] / (2 * med["w2"])
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
    # The same ratios run by run (each from two neighbouring measurements), then their median.
    eff_runs = [a / (2 * b) for a, b in zip(times["w1"], times["w2"], strict=True)]
    duck_runs = [d / a for a, d in zip(times["w1"], times["duck1"], strict=True)]
    print(
        f"answers: 1 worker = 2 workers: {same_12}; points where DuckDB differs: {differ:,} "
        f"of {ours.num_rows:,}"
    )
    print(
        f"median of {RUNS}: 1 worker {med['w1']:.2f} s, 2 workers {med['w2']:.2f} s, DuckDB "
        f"1 thread {med['duck1']:.2f} s, 2 threads {med['duck2']:.2f} s"
    )
    print(
        f"scaling efficiency 1 -> 2 workers: {eff:.2f} (target >= 0.7); CPU the workers got: "
        f"1 worker {cpu_med['w1']:.0%} of a core, 2 workers {cpu_med['w2']:.0%} of two; "
        f"efficiency per CPU obtained: {eff * cpu_med['w1'] / max(cpu_med['w2'], 1e-9):.2f}; "
        f"run by run {', '.join(f'{e:.2f}' for e in eff_runs)} (median "
        f"{statistics.median(eff_runs):.2f})"
    )
    print(
        f"1 worker vs DuckDB 1 thread: {med['duck1'] / med['w1']:.2f}x (target >= 1); vs "
        f"DuckDB 2 threads: {med['duck2'] / med['w1']:.2f}x; against 1 thread run by run "
        f"{', '.join(f'{d:.2f}x' for d in duck_runs)} (median {statistics.median(duck_runs):.2f}x)"
    )
    cpu_med_s = {k: statistics.median(v) for k, v in cpu_secs.items()}
    print(
        "CPU seconds, medians (the work done, whatever share of the cores it got): gisgrid "
        + ", ".join(f"{w} worker(s) {cpu_med_s[f'w{w}']:.1f} s" for w in WORKERS)
        + f"; DuckDB 1 thread {cpu_med_s['duck1']:.1f} s, 2 threads {cpu_med_s['duck2']:.1f} s; "
        f"DuckDB 1 thread / gisgrid 1 worker: {cpu_med_s['duck1'] / cpu_med_s['w1']:.2f}x"
    )
    task_sum = sum(p["seconds"] for p in parts_1)
    cpu_sum = sum(p["cpu_s"] for p in parts_1)
    overhead = max(wall_1 - task_sum, 0.0)
    parts = sorted(parts_1, key=lambda p: p["partition"])
    # Twice: from the tasks' wall seconds on this machine (slowed by everything else running),
    # and from their CPU seconds (what each would take with a core of its own).
    for field, total, label in (
        ("seconds", wall_1, f"wall: {task_sum:.1f} s of tasks, {overhead:.2f} s outside them"),
        ("cpu_s", cpu_sum + overhead, f"CPU: {cpu_sum:.1f} s of tasks, + the same overhead"),
    ):
        print(
            f"projection from the last 1-worker run ({len(parts)} partitions; {label}): "
            + ", ".join(
                f"{w} workers {_projection(parts, field, overhead, w):.2f} s (efficiency "
                f"{total / (w * _projection(parts, field, overhead, w)):.2f})"
                for w in (1, 2, 8, 64)
            )
        )
    print(
        "  assumes: one free core per worker (not this shared machine), partitions handed out "
        "in county order to the first free worker, per-partition times as measured here, the "
        "files on storage that feeds every worker at once (~25 B a point), the scheduler's "
        "~1 ms a task negligible; beyond 60 workers a 60-partition job cannot go faster than "
        "its largest county: split counties into Hilbert ranges (row groups) for more"
    )
    return {"median_s": med, "efficiency": eff, "cpu": cpu_med, "duckdb_differs": differ}


SERVICE_WORKERS = (1, 2, 4)
CONNECTIONS = 8  # two per worker at 4 workers
SECONDS = 10
WARM_UP_S = 3
LOGIN_LIMIT = 24
# One bench client sends every report: the per-client limits would refuse all but the first.
LIFTED = {
    f"GISGRID_RATE_LIMIT_{k}": ("100000000", "one bench client sends every report")
    for k in ("INTAKE", "INTAKE_KEY", "INTAKE_ADDRESS")
}


def _intake_script(engine: Any, key: str) -> str:
    with engine.connect() as conn:
        pts = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM household ORDER BY id % 997, id LIMIT 2000")
        ).all()
    return LUA % (
        ",".join(f"{{{x!r},{y!r}}}" for x, y in pts),
        ",".join(f'"{c.code}"' for c in CATEGORIES),
        key,
    )


def part_b(settings: Settings) -> dict[int, dict[str, float]]:
    """Intake and tile throughput at 1, 2 and 4 workers, same run, medians of RUNS."""
    engine = demo_engine(settings.demo_county, settings)
    name = f"bench-scale-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        key = api_keys.create_key(conn, name)
        bbox = layers.unit_outline(conn, settings.demo_county)["properties"]["bbox"]
    lua = _intake_script(engine, key)
    plain = [f"/tiles/grids/{z}/{x}/{y}.mvt" for z, x, y in _tile_list(bbox)]
    print(
        f"service: intake = POST /open311/v2/requests.json (real reports, each its own "
        f"Idempotency-Key), wrk {CONNECTIONS} connections {SECONDS} s after {WARM_UP_S} s warm-up; "
        f"tiles = {len(plain)} grid tiles z10-13, cold (each once, {CONNECTIONS} connections, "
        f"fresh server) and warm (wrk {CONNECTIONS} connections {SECONDS} s); "
        f"workers {SERVICE_WORKERS} one after another in every run",
        flush=True,
    )

    def run() -> dict[str, float]:
        out: dict[str, float] = {}
        for w in SERVICE_WORKERS:
            with serve_gisgrid(engine, LIFTED, workers=w) as s:
                cold, _ = fetch_once(s.base, plain, CONNECTIONS)
                wrk(s.base, lua, CONNECTIONS, WARM_UP_S)
                intake = wrk(s.base, lua, CONNECTIONS, SECONDS)
                warm = wrk(s.base, wrk_paths(plain), CONNECTIONS, SECONDS)
            if intake["non2xx"] or warm["non2xx"]:
                print(f"    {w} workers: non-2xx intake {intake['non2xx']:.0f}, tiles "
                      f"{warm['non2xx']:.0f}", flush=True)  # fmt: skip
            out |= {
                f"w{w}_intake_req_s": intake["req_s"],
                f"w{w}_intake_p50_ms": intake["p50_ms"],
                f"w{w}_intake_p99_ms": intake["p99_ms"],
                f"w{w}_tiles_cold_s": cold,
                f"w{w}_tiles_warm_s": warm["req_s"],
            }
        return out

    try:
        m = repeat("service at 1, 2, 4 workers", run)
    finally:
        n = delete_key_reports(engine, name)
        print(f"(deleted the bench's {n:,} reports and its key)")
    differs = ", ".join(f"{k}={v}" for k, (v, _) in LIFTED.items())
    print(f"medians of {RUNS} runs ({load()}; differs from a user's set-up: {differs}):")
    by_w: dict[int, dict[str, float]] = {}
    for w in SERVICE_WORKERS:
        r = {k.split("_", 1)[1]: v for k, v in m.items() if k.startswith(f"w{w}_")}
        by_w[w] = r
        print(
            f"  {w} worker(s): intake {r['intake_req_s']:7.0f} req/s (p50 "
            f"{r['intake_p50_ms']:.1f} ms, p99 {r['intake_p99_ms']:.1f} ms, "
            f"x{r['intake_req_s'] / by_w[1]['intake_req_s']:.2f}); tiles cold "
            f"{r['tiles_cold_s']:6.0f}/s (x{r['tiles_cold_s'] / by_w[1]['tiles_cold_s']:.2f}), "
            f"warm {r['tiles_warm_s']:6.0f}/s (x{r['tiles_warm_s'] / by_w[1]['tiles_warm_s']:.2f})"
        )
    print(
        f"  (the client, wrk, and PostgreSQL share the machine's {os.cpu_count()} cores with the "
        "workers: beyond one worker per free core more workers cannot add throughput here)"
    )
    return by_w


class _Pinned:
    """A keep-alive connection to one worker of a running service (/healthz names it)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.pid = int(self.get("/healthz")[1]["worker"]["pid"])

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        return r.status, json.loads(r.read() or b"{}")

    def sign_in(self) -> int:
        sock = self.conn.sock
        body = urlencode({"username": f"nobody-{uuid.uuid4().hex[:8]}", "password": "x" * 12})
        self.conn.request(
            "POST",
            "/api/v1/auth/token",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        r = self.conn.getresponse()
        r.read()
        if self.conn.sock is not sock:
            raise RuntimeError("a pinned connection was reopened (it may be on another worker)")
        return r.status


def part_c(settings: Settings) -> list[dict[str, Any]]:
    """The sign-in limit at 1, 2 and 4 workers: the count where the first refusal comes."""
    engine = demo_engine(settings.demo_county, settings)
    limit = {
        "GISGRID_RATE_LIMIT_LOGIN": (str(LOGIN_LIMIT), "a small limit to reach"),
        "GISGRID_RATE_LIMIT_NAMESPACE": (f"b{uuid.uuid4().hex[:6]}:", "counts of this bench only"),
    }
    sent = LOGIN_LIMIT + 8
    print(
        f"shared limit: {sent} sign-ins with wrong passwords (each a new unknown name), "
        f"round-robin over one keep-alive connection per worker; limit {LOGIN_LIMIT} a minute "
        "per address",
        flush=True,
    )
    out = []
    for w in SERVICE_WORKERS:
        limit["GISGRID_RATE_LIMIT_NAMESPACE"] = (f"b{uuid.uuid4().hex[:6]}:", "this run only")
        with serve_gisgrid(engine, limit, workers=w) as s:
            port = int(s.base.rsplit(":", 1)[1])
            pinned: dict[int, _Pinned] = {}
            for _ in range(1000):
                c = _Pinned(port)
                if c.pid in pinned:
                    c.conn.close()
                else:
                    pinned[c.pid] = c
                if len(pinned) == w:
                    break
            if len(pinned) < w:
                raise RuntimeError(f"1000 connections reached only {len(pinned)} of {w} workers")
            conns = list(pinned.values())
            codes = [conns[i % w].sign_in() for i in range(sent)]
            per_worker = [
                sum(1 for i, c in enumerate(codes) if i % w == k and c == 401) for k in range(w)
            ]
        accepted = codes.count(401)
        first_refusal = codes.index(429) + 1 if 429 in codes else None
        ok = codes == [401] * LOGIN_LIMIT + [429] * (sent - LOGIN_LIMIT)
        print(
            f"  {w} worker(s) {load()}: accepted {accepted} (per worker {per_worker}), first "
            f"refusal at request {first_refusal}; the same count as one worker: "
            f"{'yes' if ok else 'NO'}",
            flush=True,
        )
        out.append({"workers": w, "accepted": accepted, "per_worker": per_worker, "ok": ok})
    return out


def part_d(settings: Settings) -> dict[str, float]:
    """The service's intake p50/p99 idle and while a bulk assignment runs beside it (1 worker
    each: the service and one Dask worker, a core each on this 2-core machine)."""
    root = province_folder(settings)
    if not (root / "province.json").exists():
        print(f"bulk beside intake: skipped, no province at {root} (run the bulk part first)")
        return {}
    engine = demo_engine(settings.demo_county, settings)
    name = f"bench-scale-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        key = api_keys.create_key(conn, name)
    lua = _intake_script(engine, key)
    print(
        f"intake beside bulk jobs: wrk 4 connections {SECONDS} s idle, then {SECONDS} s while "
        f"`gisgrid bulk assign points --workers 1` assigns the {COUNTIES}-county province again "
        "and again (back to back)",
        flush=True,
    )
    tmp = Path(tempfile.mkdtemp(prefix="gisgrid-bench-beside-"))

    def run() -> dict[str, float]:
        with serve_gisgrid(engine, LIFTED) as s:
            wrk(s.base, lua, 4, WARM_UP_S)
            idle = wrk(s.base, lua, 4, SECONDS)
            # The bulk job takes ~5 s now: jobs run back to back for the whole measurement (each a
            # fresh `gisgrid bulk` process and cluster, as an operator would start it).
            stop = threading.Event()
            jobs: list[int] = []

            def bulk_jobs() -> None:
                while not stop.is_set():
                    job = subprocess.Popen(
                        [str(BIN / "gisgrid"), "bulk", "assign", "points", "--parquet", str(root),
                         "--out", str(tmp / "out"), "--workers", "1"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                    while job.poll() is None:
                        if stop.wait(0.1):
                            job.terminate()
                    jobs.append(job.wait())

            beside = threading.Thread(target=bulk_jobs)
            beside.start()
            try:
                time.sleep(3)  # not measured: the first job's cluster gets going
                done_before = len(jobs)
                busy = wrk(s.base, lua, 4, SECONDS)
                finished = len(jobs) - done_before
            finally:
                stop.set()
                beside.join()
        print(f"    bulk jobs finished during the measurement: {finished} (back to back)")
        return {
            "idle_p50_ms": idle["p50_ms"],
            "idle_p99_ms": idle["p99_ms"],
            "idle_req_s": idle["req_s"],
            "bulk_p50_ms": busy["p50_ms"],
            "bulk_p99_ms": busy["p99_ms"],
            "bulk_req_s": busy["req_s"],
        }

    try:
        m = repeat("intake idle, then beside the bulk job", run)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with engine.begin() as conn:
            kid = conn.execute(text("SELECT id FROM api_key WHERE name = :n"), {"n": name}).scalar()
            conn.execute(text("DELETE FROM report WHERE api_key_id = :k"), {"k": kid})
            conn.execute(text("DELETE FROM api_key WHERE id = :k"), {"k": kid})
    print(
        f"medians of {RUNS} ({load()}): idle p50 {m['idle_p50_ms']:.1f} ms, p99 "
        f"{m['idle_p99_ms']:.1f} ms, {m['idle_req_s']:.0f} req/s; beside the bulk job p50 "
        f"{m['bulk_p50_ms']:.1f} ms, p99 {m['bulk_p99_ms']:.1f} ms, {m['bulk_req_s']:.0f} req/s"
    )
    return m


def main() -> None:
    """The chosen parts of the scale bench, the load printed with each figure."""
    settings = Settings()
    parts = os.environ.get("GISGRID_BENCH_SCALE_PARTS", "service,limit,bulk,beside").split(",")
    print(f"start: {load()}", flush=True)
    if "service" in parts:
        part_b(settings)
    if "limit" in parts:
        part_c(settings)
    if "bulk" in parts:
        part_a(settings)
    if "beside" in parts:
        part_d(settings)
