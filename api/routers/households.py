"""The household register: scoped by area, personal fields masked for those who may not see them."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from api.deps import ConnDep
from api.params import MAX_ID, Offset
from api.security import PrincipalDep, client_address
from gisgrid.access import households
from gisgrid.access.households import MAX_PAGE

router = APIRouter(prefix="/api/v1", tags=["households"])


@router.get("/households")
def list_households(
    conn: ConnDep,
    who: PrincipalDep,
    request: Request,
    grid: Annotated[str, Query(description="15-digit grid code")],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Households of one grid in your scope (reads of personal data are audited)."""
    return households.list_households(conn, who, grid, limit, offset, client_address(request))


@router.get("/households/{household_id}")
def get_household(
    conn: ConnDep,
    who: PrincipalDep,
    request: Request,
    household_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> dict[str, Any]:
    """One household in your scope."""
    return households.get_household(conn, who, household_id, client_address(request))
