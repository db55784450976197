"""The household register (户), read through the caller's role and scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import audit, visits
from gisgrid.access.accounts import PERSONAL_READERS, REGISTER_READERS, Principal
from gisgrid.divisions import grid_code
from gisgrid.errors import InvalidCode, NotFound

MAX_PAGE = 1000


def list_households(
    conn: Connection,
    who: Principal,
    grid: str,
    limit: int = 100,
    offset: int = 0,
    client: str | None = None,
) -> dict[str, Any]:
    """Households of one grid inside the caller's scope; personal fields only for readers."""
    who.require(REGISTER_READERS, "reading the household register")
    code = grid_code(grid)
    who.require_scope(code, "reading households")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidCode(f"limit={limit} must be between 1 and {MAX_PAGE}")
    reveal = who.role in PERSONAL_READERS
    rows = _select(conn, who, reveal, grid=code, limit=limit, offset=offset)
    if reveal and rows:
        audit.read_personal(
            conn, who, "/api/v1/households", "household", [r["id"] for r in rows], client
        )
    return {
        "grid": code,
        "personal_fields": "shown" if reveal else "masked",
        "numberMatched": rows[0]["matched"] if rows else 0,
        "households": [_out(r) for r in rows],
    }


def get_household(
    conn: Connection, who: Principal, household_id: int, client: str | None = None
) -> dict[str, Any]:
    """One household inside the caller's scope."""
    who.require(REGISTER_READERS, "reading the household register")
    reveal = who.role in PERSONAL_READERS
    rows = _select(conn, who, reveal, id=household_id, limit=1, offset=0)
    if not rows:
        # Say whether it exists elsewhere without saying anything about it.
        exists = sql.execute(conn, "access/household_exists", i=household_id).first()
        if exists:
            raise who.outside_scope(
                "reading households",
                f"住户 {household_id}",
                f"household {household_id} is outside your scope {who.scope}",
            )
        raise NotFound(f"no household has id {household_id}")
    if reveal:
        audit.read_personal(
            conn, who, f"/api/v1/households/{household_id}", "household", [household_id], client
        )
    return {
        **_out(rows[0]),
        "personal_fields": "shown" if reveal else "masked",
        "visits": visits.history(conn, who, household_id),
    }


def _select(
    conn: Connection,
    who: Principal,
    reveal: bool,
    *,
    grid: str | None = None,
    id: int | None = None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in sql.execute(
            conn,
            "access/households",
            reveal=reveal,
            scope=who.scope,
            grid=grid,
            id=id,
            limit=limit,
            offset=offset,
        ).mappings()
    ]


def _out(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k != "matched"}
