"""The rungs of bench.intake_ceiling: the bare form endpoint, plus one more piece of the intake
per rung, each served as `gisgrid serve` serves the app (`python -m bench.ceiling_app PORT`).

BENCH_CEILING_RUNG picks the rung:
- `bare`: bench.bare_app itself (the peer of bench_intake);
- `select1`: bare + one `SELECT 1` per request through the intake's async pool;
- `insert`: bare + one durable INSERT per request (autocommit, synchronous_commit on, as the
  pool's sessions set it) into an unindexed scratch table (BENCH_CEILING_TABLE);
- `notify`: the same INSERT and a NOTIFY in its transaction, as the intake's trigger sends one
  (PostgreSQL serialises the commits of notifying transactions, their WAL flush included);
- `intake`: bare + the core's own entry (`gisgrid.reports.file_report`: its group commit and
  the whole intake statement), a ReportIn made from the form's fields, the request's own
  Idempotency-Key; no front door, limits, caller lookup, events hub or listeners.
The database is GISGRID_DATABASE_URL, as for `gisgrid serve`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from bench import bare_app
from gisgrid.db import make_intake_pool, resolve_database_url
from gisgrid.reports import AuditEntry, IntakeConfig, ReportIn, file_report
from gisgrid.settings import Settings

PATH = "/open311/v2/requests.json"
RUNGS = ("bare", "select1", "insert", "notify", "intake")


def create_app() -> FastAPI:
    """The app of the rung BENCH_CEILING_RUNG names."""
    rung = os.environ.get("BENCH_CEILING_RUNG", "bare")
    if rung not in RUNGS:
        raise SystemExit(f"BENCH_CEILING_RUNG={rung!r}: one of {RUNGS}")
    if rung == "bare":
        return bare_app.app
    settings = Settings()
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The pool gisgrid's lifespan builds: same size, session options, check before use.
        state["pool"] = pool = make_intake_pool(resolve_database_url(settings), settings)
        await pool.open(wait=True)
        state["config"] = IntakeConfig.from_settings(settings)
        try:
            yield
        finally:
            await pool.close()

    async def select1(request: Request, form: Any) -> str:
        async with state["pool"].connection() as conn:
            cur = await conn.execute("SELECT 1")
            row = await cur.fetchone()
        return str(row[0])

    async def insert(request: Request, form: Any) -> str:
        # Autocommit: the INSERT is its own durable transaction, as each report's commit is.
        async with state["pool"].connection() as conn:
            await conn.execute(
                f"INSERT INTO {os.environ['BENCH_CEILING_TABLE']} (key, body) VALUES (%s, %s)",
                (request.headers.get("idempotency-key"), str(form.get("description"))),
            )
        return "1"

    async def notify(request: Request, form: Any) -> str:
        # One statement, so one autocommit transaction: the row and its notice commit together.
        async with state["pool"].connection() as conn:
            await conn.execute(
                f"WITH i AS (INSERT INTO {os.environ['BENCH_CEILING_TABLE']} (key, body) "
                "VALUES (%s, %s) RETURNING key) SELECT pg_notify('bench_ceiling', key) FROM i",
                (request.headers.get("idempotency-key"), str(form.get("description"))),
            )
        return "1"

    async def intake(request: Request, form: Any) -> str:
        report = ReportIn(
            service_code=str(form["service_code"]),
            lon=float(form["long"]),
            lat=float(form["lat"]),
            description=str(form["description"]),
            idempotency_key=request.headers.get("idempotency-key"),
        )
        audit = AuditEntry("bench", PATH, "127.0.0.1", statuses={})
        stored = await file_report(
            state["pool"], report, state["config"], audit, api_key=str(form["api_key"])
        )
        return str(stored["id"])

    work: Callable[[Request, Any], Awaitable[str]] = {
        "select1": select1,
        "insert": insert,
        "notify": notify,
        "intake": intake,
    }[rung]
    app = FastAPI(lifespan=lifespan)

    @app.post(PATH, status_code=201)
    async def create(request: Request) -> list[dict[str, str]]:
        """Parse the form as the bare endpoint does, do the rung's database work, answer."""
        form = await request.form()
        rid = await work(request, form)
        return [{"service_request_id": rid, "service_code": str(form.get("service_code"))}]

    return app


if __name__ == "__main__":
    from gisgrid import serving

    serving.run(serving.config("bench.ceiling_app:create_app", "127.0.0.1", int(sys.argv[1])))
