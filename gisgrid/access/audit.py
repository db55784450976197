"""The audit log: who wrote what, and who saw whose personal data, when and from where."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypedDict, Unpack

from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access.accounts import Principal


class Entry(TypedDict, total=False):
    """What an entry says beyond who did what: the request, what it touched, its answer."""

    method: str | None
    path: str | None
    object_type: str | None
    object_ids: Sequence[str | int] | None
    client: str | None
    status: int | None


def record(conn: Connection, who: Principal, action: str, **entry: Unpack[Entry]) -> None:
    """Append one entry (in the caller's transaction)."""
    sql.execute(conn, "access/insert_audit_entry", **_entry(who, action, entry))


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
    pool: AsyncConnectionPool, who: Principal, action: str, **entry: Unpack[Entry]
) -> None:
    """Append one entry on the async pool, committed at once (a request's write audit)."""
    async with pool.connection() as aconn:
        await sql.aexecute(aconn, "access/insert_audit_entry", **_entry(who, action, entry))


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


def _entry(who: Principal, action: str, entry: Entry) -> dict[str, Any]:
    """The bound parameters of one audit entry."""
    ids = entry.get("object_ids")
    return {
        "a": who.account_id,
        "u": who.username,
        "r": who.role.value if who.role else None,
        "act": action,
        "m": entry.get("method"),
        "p": entry.get("path"),
        "ot": entry.get("object_type"),
        "oi": [str(i) for i in ids] if ids is not None else None,
        "c": entry.get("client"),
        "s": entry.get("status"),
    }
