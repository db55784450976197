"""The audit log: who wrote what, and who saw whose personal data, when and from where."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access.accounts import Principal


def record(
    conn: Connection,
    who: Principal,
    action: str,
    *,
    method: str | None = None,
    path: str | None = None,
    object_type: str | None = None,
    object_ids: Sequence[str | int] | None = None,
    client: str | None = None,
    status: int | None = None,
) -> None:
    """Append one entry (in the caller's transaction)."""
    ids = [str(i) for i in object_ids] if object_ids is not None else None
    sql.execute(
        conn,
        "access/insert_audit_entry",
        **_entry(who, action, method, path, object_type, ids, client, status),
    )


def read_personal(
    conn: Connection,
    who: Principal,
    path: str,
    object_type: str,
    object_ids: Sequence[str | int],
    client: str | None,
) -> None:
    """Record that `who` was shown personal data of these objects by a GET of `path`."""
    record(
        conn,
        who,
        "read_personal",
        method="GET",
        path=path,
        object_type=object_type,
        object_ids=object_ids,
        client=client,
    )


async def record_async(
    pool: AsyncConnectionPool,
    who: Principal,
    action: str,
    *,
    method: str | None = None,
    path: str | None = None,
    client: str | None = None,
    status: int | None = None,
) -> None:
    """Append one entry on the async pool, committed at once (a request's write audit)."""
    async with pool.connection() as aconn:
        await sql.aexecute(
            aconn,
            "access/insert_audit_entry",
            **_entry(who, action, method, path, None, None, client, status),
        )


def query(
    conn: Connection,
    *,
    username: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Entries, newest first, filtered."""
    rows = sql.execute(
        conn,
        "access/audit_entries",
        u=username,
        a=action,
        ot=object_type,
        oi=object_id,
        since=since,
        limit=limit,
    ).mappings()
    return [{**r, "at": r["at"].isoformat()} for r in rows]


def _entry(
    who: Principal,
    action: str,
    method: str | None,
    path: str | None,
    object_type: str | None,
    object_ids: list[str] | None,
    client: str | None,
    status: int | None,
) -> dict[str, Any]:
    """The bound parameters of one audit entry."""
    return {
        "a": who.account_id,
        "u": who.username,
        "r": who.role.value if who.role else None,
        "act": action,
        "m": method,
        "p": path,
        "ot": object_type,
        "oi": object_ids,
        "c": client,
        "s": status,
    }
