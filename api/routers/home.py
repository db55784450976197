"""`/`: every visitor lands on their own map — residents on the report page, staff on theirs."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.browser import LangDep, switch_url
from api.deps import ConnDep
from api.security import PrincipalDep
from gisgrid import divisions
from gisgrid.access import Principal, Role
from maps import site

router = APIRouter(tags=["pages"])

FIELD = {Role.grid_worker, Role.grid_chief, Role.household_leader}
CENTER = {
    Role.village_operator,
    Role.town_operator,
    Role.county_operator,
    Role.department_handler,
}


def _unit_of(scope: str) -> str:
    """The unit code a wall map opens on: the scope cut to a county, town or village."""
    for size in (12, 9, 6):
        if len(scope) >= size:
            return scope[:size]
    return scope


@router.get("/", include_in_schema=False)
def home(request: Request, conn: ConnDep, who: PrincipalDep, lang: LangDep) -> Response:
    """Residents and the public: the report page; staff: their grid, wall or planning map."""
    target = _home_of(conn, who)
    if target is not None:
        return RedirectResponse(target, status_code=303)
    grids = divisions.grids_in_scope(conn, who.scope)
    if len(grids) == 1:
        return RedirectResponse("/maps/worker?" + urlencode({"grid": grids[0]["code"]}), 303)
    page = site.grid_picker(lang, grids, switch_url=switch_url(request, lang))
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


def _home_of(conn: ConnDep, who: Principal) -> str | None:
    """Where an account starts, or None when a field worker must pick one of several grids."""
    if who.is_public or who.role in (None, Role.resident):
        return "/report"
    if who.role in FIELD:
        if len(who.scope) == 15:
            return "/maps/worker?" + urlencode({"grid": who.scope})
        return None
    unit = _unit_of(who.scope) if who.scope else divisions.first_county(conn)
    if who.role == Role.planner:
        return "/maps/planner?" + urlencode({"unit": unit})
    return "/maps/center?" + urlencode({"unit": unit})
