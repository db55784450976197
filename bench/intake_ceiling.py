"""Where reports-in throughput dies (issue 18 item 2): a ladder of ceilings, in one run.

Each rung is the bare FastAPI form endpoint plus one more piece of the intake, served as
`gisgrid serve` serves the app (gisgrid.serving.config: uvloop, httptools with one write per
answer, log level info, no uvicorn access log), driven by wrk with bench_intake's requests
(4 connections, 10 s, after 3 s of warm-up, each request its own Idempotency-Key):

  0. the bare FastAPI form endpoint (bench.bare_app, bench_intake's peer);
  1. + one `SELECT 1` per request through the intake's async pool (gisgrid.db);
  2. + one durable INSERT per request into an unindexed scratch table;
  2n. + the same INSERT with a NOTIFY in its transaction (the intake's trigger sends one per
     statement: PostgreSQL serialises notifying commits, WAL flush included, cluster-wide);
  3. + the core's whole intake (gisgrid.reports.file_report: group commit, intake statement);
  4. `gisgrid serve` and the README's Open311 POST (what bench_intake measures).

Round-robin, 3 rounds, a fresh server per rung per round, medians; each row: req/s, ratio to
rung 0 in the same round, p50/p99, CPU per request of the server process, of PostgreSQL (all
its processes) and of wrk, and the machine's load. Then, in each round, the PostgreSQL-only
ceilings with pgbench (no HTTP, no Python; the service's session options, prepared
statements), on a copy of the bench database: a durable INSERT (1 and 4 connections), the same
with a NOTIFY, the intake statement at `-c 4` with 1 report per call and `-c 1` with 4 per call,
the intake at `-c 4` with its NOTIFY trigger switched off (on the copy only), and the cost of
assembling pgbench's parameters (subtracted from the intake's CPU).

`./run bench ceiling`; the bench's reports, key and scratch schema are deleted afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import Engine, text

from bench import bench_intake
from bench.common import (
    BIN,
    Server,
    cpu_seconds,
    database_url,
    delete_key_reports,
    demo_engine,
    load,
    postgres_cpu_seconds,
    serve_gisgrid,
    serve_peer,
    wrk,
)
from gisgrid.db import make_engine, session_options
from gisgrid.reports import AuditEntry, IntakeConfig, ReportIn
from gisgrid.reports.intake import batch_param, intake_params
from gisgrid.reports.taxonomy import CATEGORIES
from gisgrid.settings import Settings

# A quick look (not a figure): BENCH_CEILING_ROUNDS=1 BENCH_CEILING_SECONDS=3
ROUNDS = int(os.environ.get("BENCH_CEILING_ROUNDS", "3"))
CONNECTIONS = bench_intake.CONNECTIONS
SECONDS = int(os.environ.get("BENCH_CEILING_SECONDS", str(bench_intake.SECONDS)))
WARM_UP_S = bench_intake.WARM_UP_S
TARGET = bench_intake.THROUGHPUT_TARGET
SCHEMA = "bench_ceiling"
POINTS = 2000

RUNGS = [
    ("0 bare FastAPI", "bare"),
    ("1 + SELECT 1", "select1"),
    ("2 + durable INSERT", "insert"),
    ("2n + INSERT with NOTIFY", "notify"),
    ("3 + core intake", "intake"),
    ("4 gisgrid serve", "serve"),
]
# The bare peer as bench_intake runs it (uvicorn's CLI, log level warning, its default
# http): the figure issue 18's 0.3x was first measured against, for comparison with rung 0.
PEER = "0' bare, bench_intake's way"

# The intake statement as the group commit sends it (gisgrid/sql/reports/intake_batch.sql),
# each call its reports' parameters from the prepared table with a fresh Idempotency-Key.
_ONE = (
    f"(SELECT p || jsonb_build_object('idempotency_key', 'pgb-' || gen_random_uuid()) "
    f"FROM {SCHEMA}.params WHERE i = :i%d)"
)
_INTAKE = (
    "SELECT b.o_n, b.o_outcome, b.o_detail, (b.o_report).* "
    "FROM gisgrid_intake_batch(jsonb_build_array(%s), NULL) AS b;\n"
)
# Only the parameters' assembly: its cost is subtracted from the intake calls' (it is not
# the service's: the worker sends the batch ready-made).
_ASSEMBLY = "SELECT jsonb_build_array(%s);\n"


def _pgbench_script(reports: int, statement: str) -> str:
    sets = "".join(f"\\set i{n} random(1, {POINTS})\n" for n in range(reports))
    return sets + statement % ", ".join(_ONE % n for n in range(reports))


_INSERT = f"INSERT INTO {SCHEMA}.scratch VALUES ('pgbench', 'bench');\n"
_INSERT_NOTIFY = (
    f"WITH i AS (INSERT INTO {SCHEMA}.scratch VALUES ('pgbench', 'bench') RETURNING key) "
    "SELECT pg_notify('bench_ceiling', key) FROM i;\n"
)
# The intake's NOTIFY comes from this trigger (gisgrid/sql/reports/events_functions.sql); the
# row without it is measured on the bench's own copy of the database only.
NOTIFY_TRIGGER = "gisgrid_report_inserted"

PGBENCH = [
    # label, connections, reports per call, script, the NOTIFY trigger on
    ("pgbench -c 1 durable INSERT", 1, 1, _INSERT, True),
    ("pgbench -c 4 durable INSERT", 4, 1, _INSERT, True),
    ("pgbench -c 4 INSERT with NOTIFY", 4, 1, _INSERT_NOTIFY, True),
    ("pgbench -c 4 intake, NOTIFY trigger off", 4, 1, _pgbench_script(1, _INTAKE), False),
    ("pgbench -c 4 intake, 1 per call", 4, 1, _pgbench_script(1, _INTAKE), True),
    ("pgbench -c 1 intake, 4 per call", 1, 4, _pgbench_script(4, _INTAKE), True),
    ("pgbench -c 4 parameters only", 4, 1, _pgbench_script(1, _ASSEMBLY), True),
]
ASSEMBLY = PGBENCH[-1][0]


def _pg_cpu(settings: Settings) -> float | None:
    """CPU seconds so far of the whole cluster: its live processes, the postmaster itself and
    every child it has reaped (pgbench's backends end with their connections, before the
    figures are read; their time is then in the postmaster's cutime/cstime)."""
    live = postgres_cpu_seconds(settings)
    if live is None:
        return None
    pid_file = settings.state_dir / "pg" / "data" / "postmaster.pid"
    master = pid_file.read_text().split("\n", 1)[0].strip()
    fields = Path(f"/proc/{master}/stat").read_text().rsplit(")", 1)[1].split()
    return live + sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


WAIT_KINDS = ("NOTIFY lock", "WAL", "other waits", "on CPU")


@contextmanager
def _waits(url: str) -> Iterator[dict[str, float]]:
    """What the busy backends of the service (application_name gisgrid-api: the intake pool's)
    and of pgbench are doing, sampled every 20 ms; the
    shares of the samples by WAIT_KINDS once the block ends. (The sampler's own ~50 queries
    a second cost PostgreSQL ~0.01 ms of CPU per report at these rates.)"""
    import threading
    import time

    counts = dict.fromkeys(WAIT_KINDS, 0)
    done = threading.Event()

    def sample() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not done.is_set():
                for kind, event in conn.execute(
                    "SELECT wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE application_name IN ('gisgrid-api', 'pgbench') AND state = 'active' "
                    "AND pid <> pg_backend_pid()"
                ):
                    if kind == "Lock" and event == "object":  # the NOTIFY commit lock
                        counts["NOTIFY lock"] += 1
                    elif kind is None:
                        counts["on CPU"] += 1
                    elif (event or "").startswith("WAL"):
                        counts["WAL"] += 1
                    else:
                        counts["other waits"] += 1
                time.sleep(0.02)

    shares: dict[str, float] = {}
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield shares
    finally:
        done.set()
        thread.join()
        total = sum(counts.values()) or 1
        shares.update({f"wait {k}": v / total * 100 for k, v in counts.items()})


def _wait_text(r: dict[str, float]) -> str:
    shares = [f"{k} {r[f'wait {k}']:.0f}%" for k in WAIT_KINDS if r.get(f"wait {k}")]
    return "; busy backends: " + (", ".join(shares) or "none seen")


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended (wrk, pgbench once waited for)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _measure(server: Server, lua: str, settings: Settings, url: str) -> dict[str, float]:
    """wrk at CONNECTIONS for SECONDS after a warm-up: latency, req/s, CPU per request."""
    wrk(server.base, lua, CONNECTIONS, WARM_UP_S)
    worker, pg, client = (
        cpu_seconds(server.proc.pid),
        _pg_cpu(settings),
        _children_cpu(),
    )
    with _waits(url) as waits:
        r = wrk(server.base, lua, CONNECTIONS, SECONDS)
    n = r["req_s"] * SECONDS
    r["worker_ms"] = (cpu_seconds(server.proc.pid) - worker) / n * 1000
    pg_after = _pg_cpu(settings)
    r["pg_ms"] = (pg_after - pg) / n * 1000 if pg is not None and pg_after is not None else 0.0
    r["wrk_ms"] = (_children_cpu() - client) / n * 1000
    return r | waits


def _server(rung: str, engine: Engine, table: str) -> AbstractContextManager[Server]:
    """A fresh server for `rung`, served as `gisgrid serve` serves the app."""
    if rung == "serve":
        return serve_gisgrid(engine, bench_intake.DIFFERS)
    if rung == "peer":
        argv = [str(BIN / "uvicorn"), "bench.bare_app:app", "--port", "{port}",
                "--log-level", "warning", "--no-access-log"]  # fmt: skip
        return serve_peer(PEER, argv, ready_path="/openapi.json")
    env = {
        "BENCH_CEILING_RUNG": rung,
        "BENCH_CEILING_TABLE": table,
        "GISGRID_DATABASE_URL": database_url(engine),
    }
    argv = [sys.executable, "-m", "bench.ceiling_app", "{port}"]
    return serve_peer(f"rung {rung}", argv, env=env, ready_path="/openapi.json")


@contextmanager
def _scratch(engine: Engine, key: str) -> Iterator[str]:
    """The bench's scratch schema: the INSERT rung's table and pgbench's prepared parameters
    (POINTS household points, random services, under the bench's key); dropped afterwards."""
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        # No index, no key: what a durable commit of one row costs, nothing more.
        conn.execute(text(f"CREATE TABLE {SCHEMA}.scratch (key text, body text)"))
        conn.execute(text(f"CREATE TABLE {SCHEMA}.params (i integer PRIMARY KEY, p jsonb)"))
        pts = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM household ORDER BY id % 997, id LIMIT :n"),
            {"n": POINTS},
        ).all()
    config = IntakeConfig.from_settings(Settings())
    audit = AuditEntry("bench", "/open311/v2/requests.json", "127.0.0.1", statuses={})
    now = dt.datetime.now(dt.UTC)
    rows = []
    for i, (lon, lat) in enumerate(pts, 1):
        report = ReportIn(
            service_code=CATEGORIES[i % len(CATEGORIES)].code,
            lon=lon,
            lat=lat,
            description="bench",
            idempotency_key="placeholder",
        )
        one = batch_param([intake_params(report, lon, lat, config, now, api_key=key, audit=audit)])
        rows.append({"i": i, "p": one["batch"]})
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {SCHEMA}.params VALUES (:i, CAST(:p AS jsonb) -> 0)"), rows)
    try:
        yield f"{SCHEMA}.scratch"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))


@contextmanager
def _copy(engine: Engine) -> Iterator[str]:
    """A copy of the bench database (scratch schema and key included) for pgbench, whose
    NOTIFY trigger may be switched off without touching the database `gisgrid serve` uses;
    its url. Dropped afterwards."""
    url = database_url(engine)
    base, name = url.rsplit("/", 1)
    copy = f"{name}_bench_ceiling"
    engine.dispose()  # a template database must have no other sessions
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}" STRATEGY FILE_COPY')
    try:
        yield f"{base}/{copy}"
    finally:
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


def _trigger(engine: Engine, on: bool) -> None:
    with engine.begin() as conn:
        verb = "ENABLE" if on else "DISABLE"
        conn.execute(text(f"ALTER TABLE report {verb} TRIGGER {NOTIFY_TRIGGER}"))


def _clean(engine: Engine, key_name: str) -> None:
    """The bench's reports so far deleted (the key kept), so each rung starts alike."""
    with engine.begin() as conn:
        kid = conn.execute(text("SELECT id FROM api_key WHERE name = :n"), {"n": key_name}).scalar()
        conn.execute(text("DELETE FROM report WHERE api_key_id = :k"), {"k": kid})
        conn.execute(text(f"TRUNCATE {SCHEMA}.scratch"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE report"))


def _stored(engine: Engine, key_name: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM report r JOIN api_key k ON k.id = r.api_key_id "
                    "WHERE k.name = :n"
                ),
                {"n": key_name},
            ).scalar_one()
        )


def _pgbench(url: str, settings: Settings, clients: int, script: str, seconds: int) -> dict:
    """pgbench running `script` (prepared statements, as psycopg prepares a repeated one)
    with the service's session options (synchronous_commit on): calls/s and CPU."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as f:
        f.write(script)
        f.flush()
        pg, client = _pg_cpu(settings), _children_cpu()
        out = subprocess.run(
            ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(clients),
             "-T", str(seconds), "-f", f.name, url],
            capture_output=True, text=True, check=True,
            env={**os.environ, "PGOPTIONS": session_options(settings)},
        ).stdout  # fmt: skip
        pg_after = _pg_cpu(settings)
        client = _children_cpu() - client
    calls = int(_field(out, "number of transactions actually processed:").split("/")[0])
    tps = float(_field(out, "tps =").split()[0])
    latency = float(_field(out, "latency average =").split()[0])
    pg_s = (pg_after - pg) if pg is not None and pg_after is not None else float("nan")
    return {"calls": calls, "calls_s": tps, "latency_ms": latency, "pg_s": pg_s, "client_s": client}


def _field(out: str, label: str) -> str:
    for line in out.splitlines():
        if line.startswith(label):
            return line[len(label) :].strip()
    raise RuntimeError(f"pgbench printed no {label!r}:\n{out}")


def _pgbench_row(
    copy: Engine,
    url: str,
    settings: Settings,
    name: str,
    label: str,
    clients: int,
    per_call: int,
    script: str,
    trigger: bool,
) -> dict[str, float]:
    """One pgbench row on the copy: warm-up, then SECONDS; reports/s, CPU per report."""
    _trigger(copy, trigger)
    before = load()
    _pgbench(url, settings, clients, script, WARM_UP_S)
    stored = _stored(copy, name)
    with _waits(url) as waits:
        p = _pgbench(url, settings, clients, script, SECONDS)
    reports = p["calls"] * per_call
    stored = _stored(copy, name) - stored
    q = {
        "reports_s": p["calls_s"] * per_call,
        "pg_ms": p["pg_s"] / reports * 1000,
        "client_ms": p["client_s"] / reports * 1000,
        "latency_ms": p["latency_ms"],
        "load1": float(before.split()[1]),
    } | waits
    intake = "intake" in label
    check = (
        f"  INVALID: {stored} of {reports} reports stored" if intake and stored != reports else ""
    )
    print(
        f"  {label:<40} {q['reports_s']:7.0f} /s  call latency {q['latency_ms']:.2f} ms  "
        f"CPU/call or report: PG {q['pg_ms']:.3f} pgbench {q['client_ms']:.3f} ms"
        f"{_wait_text(q)}  ({before}){check}",
        flush=True,
    )
    _clean(copy, name)
    return q


def _row(label: str, r: dict[str, float], extra: str = "") -> str:
    return (
        f"  {label:<30} {r['req_s']:7.0f} req/s {r.get('ratio', float('nan')):6.3f}x  "
        f"p50 {r['p50_ms']:6.2f} p99 {r['p99_ms']:6.2f} ms  CPU/req: server "
        f"{r['worker_ms']:.3f} PG {r['pg_ms']:.3f} wrk {r['wrk_ms']:.3f} ms{extra}"
    )


def main() -> None:
    """Print the ladder's rows per round, then medians, the pgbench ceilings and the budget."""
    settings = Settings()
    engine = demo_engine(settings.demo_county, settings)
    name, key, pts, lua = bench_intake.client(engine)
    print(
        f"reports-in ceiling ladder: wrk {CONNECTIONS} connections {SECONDS} s after "
        f"{WARM_UP_S} s warm-up, one worker, {ROUNDS} rounds round-robin, fresh servers"
    )
    http: dict[str, list[dict[str, float]]] = {}
    pgb: dict[str, list[dict[str, float]]] = {}
    ladder = [*RUNGS[:1], (PEER, "peer"), *RUNGS[1:]]
    try:
        with _scratch(engine, key) as table, _copy(engine) as copy_url:
            copy = make_engine(copy_url)
            _clean(engine, name)
            for rnd in range(1, ROUNDS + 1):
                print(f"round {rnd}/{ROUNDS}", flush=True)
                bare = 0.0
                for label, rung in ladder:
                    before = load()
                    with _server(rung, engine, table) as s:
                        bench_intake._check_one(s.base, key, pts[0])
                        r = _measure(s, lua, settings, database_url(engine))
                    if rung == "bare":
                        bare = r["req_s"]
                    r["ratio"] = r["req_s"] / bare
                    r["load1"] = float(before.split()[1])
                    bad = r["non2xx"] + r["sock_err"]
                    warn = f"  INVALID: {bad:.0f} non-2xx/socket errors" if bad else ""
                    print(_row(label, r, f"{_wait_text(r)}  ({before}){warn}"), flush=True)
                    http.setdefault(label, []).append(r)
                    if rung in ("insert", "notify", "intake", "serve"):
                        _clean(engine, name)
                for label, clients, per_call, script, trigger in PGBENCH:
                    pgb.setdefault(label, []).append(
                        _pgbench_row(copy, copy_url, settings, name, label, clients, per_call,
                                     script, trigger)
                    )  # fmt: skip
            _trigger(copy, True)
            copy.dispose()
    finally:
        n = delete_key_reports(engine, name)
        print(f"(deleted the bench's {n:,} reports left, its key, the scratch schema and copy)")
    _summary(http, pgb)


def _median(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def _summary(
    http: dict[str, list[dict[str, float]]], pgb: dict[str, list[dict[str, float]]]
) -> None:
    """Medians, and what 0.3x of rung 0 asks of each part on this machine's cores."""
    cores = os.cpu_count() or 1
    print(f"medians of {ROUNDS} rounds (ratios taken per round), {load()}:")
    m = {label: _median(rows) for label, rows in http.items()}
    for label, r in m.items():
        loads = "/".join(f"{x['load1']:.1f}" for x in http[label])
        cpu = r["worker_ms"] + r["pg_ms"] + r["wrk_ms"]
        print(
            _row(label, r, f"  all CPU {cpu:.3f} ms: {cores} cores allow {cores * 1000 / cpu:,.0f}"
                 f"/s; 4 connections / p50 allow {CONNECTIONS / r['p50_ms'] * 1000:,.0f}/s"
                 f"{_wait_text(r)}; loads {loads}")
        )  # fmt: skip
    p = {label: _median(rows) for label, rows in pgb.items()}
    assembly = p[ASSEMBLY]["pg_ms"]
    for label, q in p.items():
        loads = "/".join(f"{x['load1']:.1f}" for x in pgb[label])
        own = f", less the parameters' {q['pg_ms'] - assembly:.3f} ms" if "intake" in label else ""
        print(
            f"  {label:<40} {q['reports_s']:7.0f} /s  latency {q['latency_ms']:.2f} ms  "
            f"CPU/call or report: PG {q['pg_ms']:.3f} ms{own}; pgbench {q['client_ms']:.3f} ms"
            f"{_wait_text(q)}; loads {loads}"
        )
    target = TARGET * m[RUNGS[0][0]]["req_s"]
    print(
        f"{TARGET}x of rung 0 = {target:,.0f} reports/s: {cores * 1000 / target:.3f} ms of CPU "
        f"per report on {cores} cores for everything (server, PostgreSQL, wrk); one process "
        f"on one core: <= {1000 / target:.3f} ms"
    )
    first = next((label for label, r in m.items() if r["ratio"] < TARGET), None)
    print(f"first rung under {TARGET}x: {first or 'none'}")
