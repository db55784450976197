"""Open311 GeoReport v2 at /open311/v2/: services, service definitions, requests in and out.

Errors follow the spec's shape: a list of {code, description} (JSON) or <errors><error> (XML);
the status is the one every other route answers for the same error (api/errors.py's table).
"""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from api.capacity import Database
from api.deps import DbDep, get_intake
from api.errors import open311_error, retry_after_of, status_of
from api.params import MAX_ID
from api.photos import is_file, read_photo
from api.security import PrincipalDep, rate_limit
from gisgrid import errors, media, reports
from gisgrid.access.accounts import CASE_HANDLERS, PUBLIC, Principal, Role
from gisgrid.reports import intake, open311

log = logging.getLogger(__name__)
router = APIRouter(prefix="/open311/v2", tags=["open311"])

FORMATS = ("json", "xml")
JSON = "application/json"
_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
# Element name of one item in each XML list, per the spec's examples.
XML_ITEM = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
}


def _xml_value(parent: ET.Element, name: str, value: Any) -> None:
    el = ET.SubElement(parent, name)
    if isinstance(value, list):
        item = XML_ITEM.get(name, "item")
        for v in value:
            _xml_value(el, item, v)
    elif isinstance(value, dict):
        for k, v in value.items():
            _xml_value(el, k, v)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    elif value is not None:
        el.text = str(value)


def render(fmt: str, root: str, body: Any, status: int = 200, **headers: str) -> Response:
    """JSON as is, or XML with `root` as the document element (spec shapes)."""
    if fmt == "xml":
        doc = ET.Element(root)
        items = body if isinstance(body, list) else [body]
        if isinstance(body, list):
            for item in items:
                _xml_value(doc, XML_ITEM.get(root, "item"), item)
        else:
            for k, v in body.items():
                _xml_value(doc, k, v)
        text = ET.tostring(doc, encoding="unicode", xml_declaration=False)
        return Response(
            '<?xml version="1.0" encoding="utf-8"?>' + text,
            status_code=status,
            media_type="text/xml; charset=utf-8",
            headers=headers,
        )
    # JSONResponse's own bytes, from an encoder made once (json.dumps with options builds one
    # per call).
    return Response(
        _JSON.encode(body).encode(), status_code=status, media_type=JSON, headers=headers
    )


def _error(fmt: str, status: int, message: str, retry_after: int | None = None) -> Response:
    return open311_error(f".{fmt}" if fmt in FORMATS else ".json", status, message, retry_after)


def _domain_error(fmt: str, exc: errors.GisGridError) -> Response:
    """A domain error in the spec's error list, its status (and Retry-After) from the table."""
    return _error(fmt, status_of(exc), str(exc), retry_after_of(exc))


def _guard(fmt: str, work: Callable[[], Response]) -> Response:
    """Run a handler, turning domain errors into the spec's error list."""
    if fmt not in FORMATS:
        return _error("json", 404, f"format {fmt!r} is not served; use .json or .xml")
    try:
        return work()
    except errors.GisGridError as exc:
        return _domain_error(fmt, exc)


async def _aguard(fmt: str, work: Callable[[], Awaitable[Response]]) -> Response:
    """The same for handlers that wait for the database."""
    if fmt not in FORMATS:
        return _error("json", 404, f"format {fmt!r} is not served; use .json or .xml")
    try:
        return await work()
    except errors.GisGridError as exc:
        return _domain_error(fmt, exc)


@router.get("/services.{fmt}", summary="Service list (the report taxonomy)")
def service_list(fmt: str) -> Response:
    """Every category: GB/T 31000 governance and city-management components and events."""
    return _guard(fmt, lambda: render(fmt, "services", open311.services()))


@router.get("/services/{code}.{fmt}", summary="Service definition (attributes)")
def service_definition(code: str, fmt: str) -> Response:
    """The attributes a request of this service may carry."""
    return _guard(fmt, lambda: render(fmt, "service_definition", open311.service_definition(code)))


def _exact_for(who: Principal) -> Callable[[Mapping[str, Any]], bool]:
    """Case handlers see exact locations in their scope; everyone else sees the grid."""

    def exact(r: Mapping[str, Any]) -> bool:
        grid = r["grid"]["code"] if r["grid"] else ""
        if who.role == Role.department_handler:
            # A department sees the cases sent to it, not every report of its county.
            dept = r.get("department")
            if not dept or dept["code"] != who.department:
                return False
        return who.role in CASE_HANDLERS and bool(grid) and who.covers(grid)

    return exact


# The format and the client key are read from the request, not declared as parameters: FastAPI
# inspects each declared path and header parameter's type on every request, a fifth of the
# worker's time per report (issue 18). They are documented here instead.
_CREATE_PARAMETERS = [
    {"name": "fmt", "in": "path", "required": True, "schema": {"type": "string"}},
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Same key, same request: a resubmission returns the first report",
        "schema": {"type": "string"},
    },
]


class RequestOnly(APIRoute):
    """A route whose endpoint takes the request alone and returns its Response: FastAPI's
    per-request dependency solving and parameter checks are skipped (issue 18: ~a tenth of
    the worker's time per report); the OpenAPI entry is the route's as declared."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The endpoint itself."""
        handler: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return handler


_intake_limit = rate_limit("intake")


async def create_request(request: Request) -> Response:
    """Place the report in its grid, give it to a worker, return the id, grid and person."""
    # The per-client limits first, then who is calling (as the dependencies ran them).
    await _intake_limit(request)
    i = await get_intake(request)
    fmt = request.path_params["fmt"]
    idempotency_key = request.headers.get("idempotency-key")
    if fmt not in FORMATS:
        return _error("json", 404, f"format {fmt!r} is not served; use .json or .xml")
    form = await request.form()
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    photo = None
    # The photo store and the engine's gate only when a photo comes (not dependencies: each
    # one solved costs every report, and almost none carries a photo).
    db: Database = request.app.state.db
    photos: media.PhotoStore = request.app.state.photos
    try:
        # multipart with a `media` file (as several Open311 servers take it): the photo is
        # stored first and media_url points at its served copy (no EXIF).
        if is_file(form.get("media")):
            photo = await read_photo(form.get("media"))
            await run_in_threadpool(media.write_files, photos, photo)
            fields["media_url"] = str(request.base_url).rstrip("/") + media.url(photo.sha256)
        parsed = open311.parse_post(fields, idempotency_key)
        api_key = fields.get("api_key") or request.query_params.get("api_key")
        stored = await reports.file_report(i.pool, parsed, i.config, i.audit, api_key=api_key)
        if photo is not None:
            await db.run(_link_photo, photos, stored["id"], photo)
    except errors.GisGridError as exc:
        if photo is not None:
            await _discard_photo(db, photos, photo.sha256)
        return _domain_error(fmt, exc)
    finally:
        # Unwritten, the audit middleware records the refusal instead.
        request.state.audited = i.audit.written
    replayed = "true" if stored["replayed"] else "false"
    return render(
        fmt,
        "service_requests",
        [open311.post_response(stored)],
        200 if stored["replayed"] else 201,
        **{"Idempotent-Replayed": replayed},
    )


router.add_api_route(
    "/requests.{fmt}",
    create_request,
    methods=["POST"],
    summary="Create a service request (form-encoded)",
    openapi_extra={"parameters": _CREATE_PARAMETERS},
    route_class_override=RequestOnly,
)


def direct_routes() -> list[APIRoute]:
    """The routes the front door answers itself (api/front.py: no router on their way)."""
    return [r for r in router.routes if isinstance(r, RequestOnly)]


def _link_photo(conn: Any, photos: media.PhotoStore, report_id: int, photo: media.Prepared) -> None:
    media.link_report_photo(conn, photos, PUBLIC, report_id, photo)


async def _discard_photo(db: Database, photos: media.PhotoStore, sha: str) -> None:
    """Remove a refused request's photo files (best effort: when the database is busy or away
    they stay, unreferenced, and a resend of the same photo reuses them)."""
    try:
        await db.run(media.discard_files, photos, sha)
    except errors.GisGridError:
        log.warning("photo %s of a refused request kept: the database did not answer", sha[:12])


@router.get("/requests.{fmt}", summary="Service requests (90 days unless dates are given)")
async def list_requests(request: Request, db: DbDep, who: PrincipalDep, fmt: str) -> Response:
    """Requests by service_request_id, service_code, start_date/end_date and status."""
    exact = _exact_for(who)

    async def work() -> Response:
        query = open311.parse_query(dict(request.query_params))
        found = await db.run(partial(intake.query_reports, **query))
        return render(fmt, "service_requests", [open311.as_request(r, exact(r)) for r in found])

    return await _aguard(fmt, work)


@router.get("/requests/{request_id}.{fmt}", summary="One service request")
async def get_request(request_id: str, db: DbDep, who: PrincipalDep, fmt: str) -> Response:
    """One request, as a one-element list (the spec's shape)."""
    exact = _exact_for(who)

    async def work() -> Response:
        if not request_id.isdigit() or int(request_id) > MAX_ID:
            raise errors.NotFound(
                f"service request {request_id[:40]!r} does not exist (ids are numbers)"
            )
        found = await db.run(intake.read_report, int(request_id))
        return render(fmt, "service_requests", [open311.as_request(found, exact(found))])

    return await _aguard(fmt, work)
