"""The household register: scoped by area, personal fields masked for those who may not see them."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from api.deps import ConnDep, DbDep, PhotosDep
from api.params import GridQ, HouseholdId, IdempotencyKey, Offset
from api.photos import is_file, read_photo
from api.security import PrincipalDep, client_address
from gisgrid import media
from gisgrid.access import households, visits
from gisgrid.access.households import MAX_PAGE
from gisgrid.errors import InvalidReport

router = APIRouter(prefix="/api/v1", tags=["households"])


@router.get("/households")
def list_households(
    conn: ConnDep,
    who: PrincipalDep,
    request: Request,
    grid: GridQ,
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
    household_id: HouseholdId,
) -> dict[str, Any]:
    """One household in your scope."""
    return households.get_household(conn, who, household_id, client_address(request))


class VisitBody(BaseModel):
    """One household visit (入户走访) as the phone sends it."""

    kind: str = Field(description=f"one of: {', '.join(visits.KINDS)}")
    note: str | None = Field(None, max_length=visits.MAX_NOTE)
    size: int | None = Field(None, description="info_update: members living there now")
    phone: str | None = Field(None, max_length=30, description="info_update: the phone now")
    visited_at: dt.datetime | None = Field(None, description="when (default now; with a zone)")
    lon: float | None = Field(None, description="where the phone was (WGS84)")
    lat: float | None = None


async def _visit_input(request: Request) -> tuple[VisitBody, media.Prepared | None]:
    """JSON, or multipart with the same fields and an optional `photo` file."""
    ctype = request.headers.get("content-type", "")
    photo = None
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        raw: dict[str, Any] = {
            k: v for k, v in form.multi_items() if isinstance(v, str) and v.strip() != ""
        }
        part = form.get("photo")
        if is_file(part):
            photo = await read_photo(part)
    else:
        try:
            raw = await request.json()
        except ValueError:
            raise InvalidReport("send the visit as JSON or multipart/form-data") from None
        if not isinstance(raw, dict):
            raise InvalidReport("the visit must be a JSON object")
    try:
        return VisitBody.model_validate(raw), photo
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


@router.post("/households/{household_id}/visits", status_code=201)
async def record_visit(
    request: Request,
    who: PrincipalDep,
    db: DbDep,
    photos: PhotosDep,
    household_id: HouseholdId,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Record a visit to a household in your grid: routine, care, dispute or info_update (size,
    phone: changes the register, audited); note; an optional `photo` (multipart). A resend with
    the same Idempotency-Key returns the visit already recorded (200)."""
    # The body (a photo, maybe) is read and checked before a database slot is taken.
    body, photo = await _visit_input(request)

    # VisitBody's fields are VisitIn's own, by name.
    visit = visits.VisitIn(**body.model_dump(), photo=photo, idempotency_key=idempotency_key)

    def record(conn: Any) -> dict[str, Any]:
        return visits.record_visit(
            conn,
            who,
            household_id,
            visit,
            store=photos,
            client=client_address(request),
            path=request.url.path,
        )

    done = await db.run(record)
    return JSONResponse(
        jsonable_encoder(done),
        status_code=200 if done["replayed"] else 201,
        headers={"Idempotent-Replayed": "true" if done["replayed"] else "false"},
    )


@router.get("/households/{household_id}/visits")
def household_visits(
    conn: ConnDep, who: PrincipalDep, request: Request, household_id: HouseholdId
) -> list[dict[str, Any]]:
    """A household's visits in your scope, newest first."""
    households.get_household(conn, who, household_id, client_address(request))  # scope
    return visits.history(conn, who, household_id)


@router.get("/visits/due")
def visits_due(
    conn: ConnDep,
    who: PrincipalDep,
    grid: GridQ,
) -> dict[str, Any]:
    """A grid's households by visit priority: overdue care-tagged households first."""
    return visits.due_list(conn, who, grid)
