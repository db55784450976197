"""Residents (群众): file a report from a phone's browser and follow what happens to it.

No account and no API key: the page posts with the service's own key (`resident-web`, never
shown; revoking it switches the form off). Same intake as Open311, so the same grid, person,
time limit, duplicate linking and Idempotency-Key replay. The follow-up page is public like an
Open311 request: the grid, not the spot; levels, not names; only notes written for the reporter.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Header, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from api.browser import LangDep, switch_url
from api.deps import BasemapDep, ConnDep, DbDep, IntakeDep, PhotosDep, ReportConfigDep
from api.params import ReportId
from api.photos import read_photo
from api.security import rate_limit
from gisgrid import errors, reports
from gisgrid.divisions import units
from gisgrid.mapdata import layers
from gisgrid.reports import cases, field
from gisgrid.reports.taxonomy import CATEGORIES
from maps import pages, resident
from maps.i18n import t

router = APIRouter(tags=["residents"])

WEB_KEY = "resident-web"


class ResidentReport(BaseModel):
    """A report from the residents' web form."""

    service_code: str = Field(description="a service code from /open311/v2/services.json")
    lon: float = Field(description="longitude of the problem")
    lat: float = Field(description="latitude of the problem")
    crs: Literal["wgs84", "gcj02", "bd09"] = Field("wgs84", description="datum of lon/lat")
    description: str = Field(min_length=1, max_length=reports.MAX_DESCRIPTION)
    address: str | None = Field(None, max_length=500, description="a landmark or address")
    phone: str | None = Field(
        None, max_length=30, description="for a call-back; shown to staff only, never published"
    )


def _receipt(stored: dict[str, Any]) -> dict[str, Any]:
    """What the reporter is told at once: the number to follow, where it went, by when."""
    return {
        "id": stored["id"],
        "track_url": f"/report/{stored['id']}",
        "status": stored["effective_status"],
        "status_label": cases.STATUS_LABELS.get(
            stored["effective_status"], stored["effective_status"]
        ),
        "grid": stored["grid"],
        "village": stored["village"],
        "handler_level": stored["handler"]["level"],
        "due_at": stored["due_at"],
        # A resident's report is checked on site first (核查); its time limit starts when it is
        # registered, and the check has a limit of its own.
        "stage": stored["stage"]["name"],
        "stage_label": stored["stage"]["label"],
        "stage_due_at": stored["stage"]["due_at"],
        "duplicate_of": stored["duplicate_of"],
        "replayed": stored["replayed"],
    }


def _follow_url(report_id: int, receipt: str | None) -> str:
    """The follow-up page; with the receipt it also lets the reporter rate the outcome.

    The receipt rides in the fragment (#k=), which browsers never send: it stays out of
    server and proxy logs, and the page's script hands it to the rating form.
    """
    return f"/report/{report_id}" + (f"#{urlencode({'k': receipt})}" if receipt else "")


@router.post(
    "/api/v1/public/reports",
    status_code=201,
    dependencies=[Depends(rate_limit("intake"))],
    summary="File a report as a resident (no account needed)",
)
async def file_report(
    request: Request,
    response: Response,
    intake_with: IntakeDep,
    body: ResidentReport,
    idempotency_key: Annotated[
        str | None,
        Header(description="Same key, same report: a phone sending twice files it once"),
    ] = None,
) -> dict[str, Any]:
    """Place the report in its grid and give it to a worker; returns the number to follow."""
    report = reports.ReportIn(
        service_code=body.service_code.strip(),
        lon=body.lon,
        lat=body.lat,
        crs=body.crs,
        address_string=(body.address or "").strip() or None,
        description=body.description.strip(),
        reporter={"phone": body.phone.strip()} if body.phone and body.phone.strip() else {},
        source="resident",
        idempotency_key=idempotency_key,
    )
    i = intake_with
    try:
        stored = await reports.file_report(i.pool, report, i.config, i.audit, service_key=WEB_KEY)
    except errors.InvalidApiKey:
        raise errors.Forbidden(
            f"the residents' web form is switched off on this service (key {WEB_KEY!r} revoked); "
            "use the hotline or ask your grid worker",
            reason="residents.form_off",
        ) from None
    finally:
        # Unwritten, the audit middleware records the refusal instead.
        request.state.audited = i.audit.written
    if stored["replayed"]:
        response.status_code = 200
    # The Idempotency-Key is the reporter's receipt: kept on the phone, it proves who filed it.
    return _receipt(stored) | {"follow_url": _follow_url(stored["id"], idempotency_key)}


class Verdict(BaseModel):
    """The reporter's verdict on a closed report."""

    receipt: str = Field(description="the Idempotency-Key the report was filed with")
    satisfied: bool
    note: str | None = Field(None, max_length=2000, description="anything to add")


@router.post(
    "/api/v1/public/reports/{report_id}/verdict",
    dependencies=[Depends(rate_limit("intake"))],
    summary="Rate the outcome of your own report (no account: the receipt proves it)",
)
def rate_report(
    conn: ConnDep, config: ReportConfigDep, report_id: ReportId, body: Verdict
) -> dict[str, Any]:
    """Satisfied or not, once each time it is closed; unsatisfied in time reopens it."""
    return cases.reporter_verdict(
        conn, report_id, body.receipt, body.satisfied, body.note, config=config
    )


@router.get("/api/v1/public/reports/{report_id}", summary="Follow a report (public)")
def follow_report(conn: ConnDep, report_id: ReportId) -> dict[str, Any]:
    """Status, grid, handler level, time limit and each step of one report."""
    return cases.progress(conn, report_id)


@router.get("/report", response_class=HTMLResponse, include_in_schema=False)
def report_page(
    request: Request,
    conn: ConnDep,
    basemap: BasemapDep,
    lang: LangDep,
    unit: Annotated[str | None, Query(description="6-digit county code")] = None,
) -> HTMLResponse:
    """The residents' page: find the place on the map, say what is wrong, send."""
    code = unit or units.first_county(conn)
    outline = layers.unit_outline(conn, code)
    county = outline["properties"]["code"]
    # No grid polygons in the page: it must open fast on any phone. Grid outlines come as
    # cached vector tiles when zoomed in, and a tap asks /api/v1/locate which grid it is.
    generation = layers.current_generation(conn, county)
    data = pages.PageData(
        title=outline["properties"]["name"],
        bbox=outline["properties"]["bbox"],
        outline=outline,
        urls={
            "file": "/api/v1/public/reports",
            "photos": "/api/v1/public/reports/{id}/photos",
            "track": "/report/",
            "locate": "/api/v1/locate",
            "grid_tiles": f"/tiles/grids/{{z}}/{{x}}/{{y}}.mvt?generation={generation}",
        },
        lang=lang,
        unit=county[:6],
    )
    return HTMLResponse(
        resident.resident_page(data, CATEGORIES, basemap, switch_url=switch_url(request, lang)),
        headers={"Cache-Control": "no-store"},
    )


@router.get("/report/track", include_in_schema=False)
def track(
    request: Request,
    lang: LangDep,
    id: Annotated[str, Query(description="the report's number")] = "",
) -> Response:
    """The follow-up form's target: on to the report's page, or the form again saying why."""
    number = id.strip().lstrip("#").strip()
    if number.isdigit() and len(number) <= 12:
        return RedirectResponse(f"/report/{int(number)}", status_code=303)
    # A person typed this: a page that says what to type, never an HTTP error.
    problem = t(lang, "progress.not_a_number", given=id.strip()) if id.strip() else None
    return HTMLResponse(
        resident.track_page(lang, problem, switch_url=switch_url(request, lang)),
        headers={"Cache-Control": "no-store"},
    )


@router.get("/report/{report_id}", response_class=HTMLResponse, include_in_schema=False)
def progress_page(
    request: Request,
    conn: ConnDep,
    lang: LangDep,
    report_id: ReportId,
    said: Annotated[str | None, Query(description="a message after rating")] = None,
) -> HTMLResponse:
    """What happened to a report, step by step, for whoever filed it."""
    switch = switch_url(request, lang)
    try:
        found = cases.progress(conn, report_id)
    except errors.NotFound:
        problem = t(lang, "progress.no_such_report", id=report_id)
        return HTMLResponse(resident.track_page(lang, problem, switch_url=switch), 404)
    # Only the messages this site writes after a rating are shown, never text from the link.
    message = t(lang, f"progress.said_{said}") if said in SAID else None
    return HTMLResponse(
        resident.progress_page(lang, found, message, switch_url=switch),
        headers={"Cache-Control": "no-store"},
    )


# What the page may say after a rating (?said=...): keys, so a link cannot put words on it.
SAID = ("thanks", "forbidden", "conflict")


@router.post(
    "/report/{report_id}/verdict",
    include_in_schema=False,
    dependencies=[Depends(rate_limit("intake"))],
)
async def rate_from_page(
    request: Request, report_id: ReportId, db: DbDep, config: ReportConfigDep
) -> Response:
    """The follow-up page's 满意/不满意 form: rate, then back to the page saying what happened."""
    form = await request.form()
    receipt = str(form.get("k") or "")
    satisfied = str(form.get("satisfied") or "") == "yes"
    note = str(form.get("note") or "")[:2000]

    try:
        await db.run(
            partial(cases.reporter_verdict, config=config), report_id, receipt, satisfied, note
        )
        said = "thanks"
    except errors.Forbidden:
        said = "forbidden"
    except errors.Conflict:
        said = "conflict"
    target = f"/report/{report_id}?{urlencode({'said': said})}#{urlencode({'k': receipt})}"
    return RedirectResponse(target, status_code=303)


@router.post(
    "/api/v1/public/reports/{report_id}/photos",
    status_code=201,
    dependencies=[Depends(rate_limit("intake"))],
    summary="Add a photo to your own report (no account: the receipt proves it)",
)
async def add_reporter_photo(
    request: Request,
    report_id: ReportId,
    db: DbDep,
    photos: PhotosDep,
    receipt: Annotated[str, Form(description="the Idempotency-Key the report was filed with")],
    photo: UploadFile,
) -> dict[str, Any]:
    """JPEG, PNG or HEIC up to 10 MB, at most three, while the report is open; the served copy
    has no EXIF, and the first photo becomes the report's Open311 media_url."""
    prepared = await read_photo(photo)
    base = str(request.base_url).rstrip("/")

    return await db.run(field.add_reporter_photo, photos, report_id, receipt, prepared, base)
