"""The audit log, for admins."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ConnDep
from api.security import PrincipalDep
from gisgrid.access import audit
from gisgrid.access.accounts import Role

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit")
def audit_log(
    conn: ConnDep,
    who: PrincipalDep,
    username: str | None = None,
    action: Annotated[str | None, Query(description="write, read_personal or login")] = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Who wrote what and who read whose personal data, newest first (admins only)."""
    who.require({Role.admin}, "reading the audit log")
    return audit.query(
        conn,
        username=username,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=since,
        limit=limit,
    )
