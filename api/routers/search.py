"""Search on every map: places, cases by number, households for staff in their scope."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.deps import ConnDep
from api.security import PrincipalDep, client_address
from gisgrid.mapdata import search as finder

router = APIRouter(prefix="/api/v1", tags=["search"])


@router.get("/search")
def search(
    conn: ConnDep,
    who: PrincipalDep,
    request: Request,
    q: Annotated[str, Query(max_length=finder.MAX_QUERY, description="name, address, code, #case")],
    unit: Annotated[str | None, Query(description="county, town or village code")] = None,
    limit: Annotated[int, Query(ge=1, le=finder.MAX_RESULTS)] = 10,
) -> dict[str, Any]:
    """Towns, villages, grids (name or code), addresses and places whose name holds `q`; a case
    by its number; for staff who may read people, households in scope by name or phone tail
    (those reads are audited)."""
    return finder.search(conn, who, q, unit, limit, client_address(request))
