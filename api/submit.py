"""Storing one report from an HTTP request: the intake's hot path, shared by Open311 and the
residents' web form. One statement on the async pool, no thread, no ORM."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from fastapi import Request
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.security import client_address
from gisgrid import errors
from gisgrid.access import accounts
from gisgrid.reports import api_keys, intake


def audit_entry(request: Request) -> intake.AuditEntry:
    """The write-audit entry stored with the report (the intake needs no sign-in)."""
    who = accounts.PUBLIC
    return intake.AuditEntry(
        username=who.username,
        path=request.url.path,
        client=client_address(request),
        account_id=who.account_id,
        role=who.role.value if who.role else None,
    )


async def submit(
    request: Request,
    engine: Engine,
    report: intake.ReportIn,
    api_key: str | None,
    *,
    stored_key_hash: str | None = None,
) -> dict[str, Any]:
    """Store one report sent with `api_key` (or the service's own key, by its stored hash)."""
    config: intake.IntakeConfig = request.app.state.intake_config
    if stored_key_hash is None:
        api_keys.key_hash(api_key)  # no key at all: refused before the database is asked
    point = intake.locate_input(report)
    audit = audit_entry(request)
    if point is None:
        # An address to look up first: rare, so it takes the ordinary engine in a thread.
        def by_address() -> dict[str, Any]:
            with engine.begin() as conn:
                return intake.submit_report(
                    conn, report, config=config, api_key=api_key, audit=audit
                )

        try:
            return await run_in_threadpool(by_address)
        finally:
            request.state.audited = True  # stored with the report, or rolled back with it
    params = intake.intake_params(
        report,
        *point,
        config,
        dt.datetime.now(dt.UTC),
        api_key=api_key,
        audit=audit,
        stored_key_hash=stored_key_hash,
    )
    pool: AsyncConnectionPool = request.app.state.intake_pool
    try:
        async with pool.connection() as aconn:
            cur = aconn.cursor(row_factory=dict_row)
            row = await (await cur.execute(intake.INTAKE_SQL, params)).fetchone()
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise errors.LocalDatabaseError(
            f"the database did not answer ({type(exc).__name__}); nothing was stored, so send "
            "the same request again (with the same Idempotency-Key) in a moment"
        ) from None
    request.state.audited = True  # the statement wrote the entry, whatever the outcome
    assert row is not None
    return intake.intake_result(row, report, point, api_key)
