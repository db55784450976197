"""PostgreSQL's CPU per report for the intake statement alone (issue 18 item 2), in-process.

`python -m bench.intake_pg_cpu [REV ...]`: each git revision REV (default: main) and the
working tree get a scratch copy of the demo database with their own schema (the tree's
migrations that REV lacks are downgraded in REV's copy) and their own intake functions, and
the same kind of reports (demo household points, random services, each its own
Idempotency-Key, write-audit entries) are sent as the group commit sends them (batches of 1,
2 and 4, one autocommit statement each, synchronous_commit on); the backend's own CPU
(/proc/<pid>/stat) per report is printed, rounds interleaved, medians of 3, with the load.
No HTTP and no worker: this isolates the statement from everything the bench_intake run adds.
`python -m bench.intake_pg_cpu --profile [SIZE] [REV ...]`: each version once, with every
statement's time per report from pg_stat_statements (the cluster must preload it:
shared_preload_libraries, pg_stat_statements.track = all; not the project's default).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import secrets
import statistics
import subprocess
import sys
import uuid
from typing import Any

import psycopg

from bench.common import PROJECT_DIR, database_url, demo_engine, load
from gisgrid import sql
from gisgrid.db import FUNCTION_FILES
from gisgrid.reports import api_keys
from gisgrid.reports.intake import (
    INTAKE_SQL,
    AuditEntry,
    IntakeConfig,
    ReportIn,
    batch_param,
    intake_params,
)
from gisgrid.reports.taxonomy import CATEGORIES
from gisgrid.settings import Settings

SCRATCH = "gisgrid_intake_pg_cpu"
# More reports and fewer batch sizes on a busy machine: BENCH_PG_CPU_REPORTS=2000 ..._BATCHES=1,4
REPORTS = int(os.environ.get("BENCH_PG_CPU_REPORTS", "500"))
ROUNDS = 5
BATCHES = tuple(int(b) for b in os.environ.get("BENCH_PG_CPU_BATCHES", "1,2,4").split(","))


def _function_sql(rev: str | None) -> str:
    """The function files of `rev` (None: the working tree), as install_functions runs them."""
    parts = []
    for name in FUNCTION_FILES:
        if rev is None:
            parts.append(sql.load(name))
        else:
            path = f"gisgrid/sql/{name}.sql"
            parts.append(
                subprocess.run(
                    ["git", "show", f"{rev}:{path}"],
                    cwd=PROJECT_DIR,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
    return "\n".join(parts)


def _scratch(demo_url: str, label: str = "") -> str:
    """A fresh copy of the demo database (its url): the runs' reports never reach the demo's."""
    base, demo_db = demo_url.rsplit("/", 1)
    name = SCRATCH + (f"_{label}" if label else "")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{demo_db}"')
    return base + "/" + name


def _schema_as_of(url: str, rev: str) -> None:
    """Downgrade the copy at `url` (the tree's schema) to `rev`'s: undo newer migrations."""
    from alembic import command
    from alembic.config import Config

    from gisgrid.db import MIGRATIONS_DIR, normalise_url

    def _ids(ref: str | None) -> set[str]:
        out = subprocess.run(
            ["git", "ls-tree", "--name-only", ref or "HEAD", "gisgrid/migrations/versions/"],
            cwd=PROJECT_DIR,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        return {p.rsplit("/", 1)[1] for p in out if p.endswith(".py")}

    tree = {p.name for p in (PROJECT_DIR / "gisgrid/migrations/versions").glob("*.py")}
    newer = sorted(tree - _ids(rev), reverse=True)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    for name in newer:
        revision = name.removesuffix(".py")
        command.downgrade(cfg, f"{revision}@-1")
        print(f"  {rev}'s copy: without migration {revision}", flush=True)


def _reports(conn: psycopg.Connection[Any], key: str, n: int) -> list[dict[str, Any]]:
    pts = conn.execute(
        "SELECT ST_X(geom), ST_Y(geom) FROM household ORDER BY id % 997, id LIMIT 2000"
    ).fetchall()
    config = IntakeConfig()
    now = dt.datetime.now(dt.UTC)
    audit = AuditEntry("bench", "/open311/v2/requests.json", "127.0.0.1", statuses={})
    out = []
    for i in range(n):
        lon, lat = random.choice(pts)
        rep = ReportIn(
            service_code=random.choice(CATEGORIES).code,
            lon=lon,
            lat=lat,
            description="bench",
            idempotency_key=f"pgcpu-{uuid.uuid4().hex}-{i}",
        )
        out.append(intake_params(rep, lon, lat, config, now, api_key=key, audit=audit))
    return out


def _run(
    url: str, functions: str, reports: list[dict[str, Any]], size: int, profile: bool = False
) -> float:
    """Backend CPU ms per report for `reports` sent in batches of `size`."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(functions.encode())
        conn.execute("SET synchronous_commit = on")
        # A warm backend: plans cached, catalogs read.
        for i in range(0, 20, size):
            conn.execute(INTAKE_SQL, batch_param(reports[i : i + size])).fetchall()
        pid = conn.info.backend_pid
        if profile:
            conn.execute("SET pg_stat_statements.track = 'all'")
            conn.execute("SELECT pg_stat_statements_reset()")
        before = _cpu_ns(pid)
        for i in range(20, len(reports), size):
            rows = conn.execute(INTAKE_SQL, batch_param(reports[i : i + size])).fetchall()
            assert all(r[1] in ("created", "replayed") for r in rows), rows
        ms = (_cpu_ns(pid) - before) / (len(reports) - 20) / 1e6
        if profile:
            _print_statements(conn, len(reports) - 20)
        return ms


def _cpu_ns(pid: int) -> int:
    # The scheduler's own account of the backend's time on a CPU, in ns (no 10 ms ticks).
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def _print_statements(conn: psycopg.Connection[Any], n: int) -> None:
    """Each statement's own time per report (pg_stat_statements, nested ones included)."""
    rows = conn.execute(
        "SELECT calls, total_exec_time, toplevel, regexp_replace(query, '\\s+', ' ', 'g') "
        "FROM pg_stat_statements WHERE dbname_filter() "
        "ORDER BY total_exec_time DESC LIMIT 25".replace(
            "dbname_filter()",
            "dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
    ).fetchall()
    for calls, total, top, query in rows:
        print(
            f"      {total / n:7.4f} ms/report {calls / n:5.2f} calls/report "
            f"{'top ' if top else '    '}{query[:110]}"
        )


def _copies(
    revs: list[str], statements: bool = False
) -> tuple[dict[str, str], dict[str, str], str]:
    """Each revision's intake functions and the working tree's, a scratch copy of the demo
    database for each (its schema as of that revision), and one API key in every copy."""
    settings = Settings()
    engine = demo_engine(settings.demo_county, settings)
    demo_url = database_url(engine)
    engine.dispose()
    versions = {rev: _function_sql(rev) for rev in revs} | {"tree": _function_sql(None)}
    urls = {label: _scratch(demo_url, str(i)) for i, label in enumerate(versions)}
    for rev in revs:
        _schema_as_of(urls[rev], rev)
    key = api_keys.PREFIX + secrets.token_urlsafe(24)
    for url in urls.values():
        with psycopg.connect(url, autocommit=True) as conn:
            if statements:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute(
                "INSERT INTO api_key (name, key_hash) VALUES (%s, %s)",
                ("bench-pg-cpu", api_keys.key_hash(key)),
            )
    return versions, urls, key


def profile(revs: list[str], size: int = 2) -> None:
    """Each version once, batches of `size`, with pg_stat_statements' per-statement times."""
    versions, urls, key = _copies(revs, statements=True)
    for label, functions in versions.items():
        with psycopg.connect(urls[label]) as conn:
            reports = _reports(conn, key, REPORTS)
        print(f"  {label}, batches of {size} ({load()}):", flush=True)
        ms = _run(urls[label], functions, reports, size, profile=True)
        print(f"    backend CPU {ms:.3f} ms per report", flush=True)


def main(revs: list[str]) -> None:
    """Print the backend's CPU per report for each revision's functions and the working tree's."""
    versions, urls, key = _copies(revs)
    results: dict[tuple[str, int], list[float]] = {}
    print(f"intake statement alone, {REPORTS} reports per run, {load()}", flush=True)
    for rnd in range(ROUNDS):
        for size in BATCHES:
            for label, functions in versions.items():
                with psycopg.connect(urls[label]) as conn:
                    reports = _reports(conn, key, REPORTS)
                ms = _run(urls[label], functions, reports, size)
                results.setdefault((label, size), []).append(ms)
                print(
                    f"  round {rnd + 1} batch {size} {label:>8}: {ms:.3f} ms  ({load()})",
                    flush=True,
                )
    print(f"medians of {ROUNDS} rounds, backend CPU per report ({load()}):")
    for size in BATCHES:
        cells = "  ".join(
            f"{label} {statistics.median(results[(label, size)]):.3f} ms" for label in versions
        )
        print(f"  batch {size}: {cells}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--profile"]:
        size = int(sys.argv[2]) if sys.argv[2:3] and sys.argv[2].isdigit() else 2
        profile([a for a in sys.argv[2:] if not a.isdigit()] or ["main"], size)
    else:
        main(sys.argv[1:] or ["main"])
