"""Domain errors -> HTTP status, in one table; validation errors that name the bad value.

The table is the only place a status is decided: JSON errors here, Open311's error list
(api/routers/open311.py renders the same status in the spec's format) and the status the
intake's audit entry records (`outcome_statuses`) all read it.
"""

import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg.errors import LockNotAvailable, QueryCanceled
from psycopg_pool import PoolTimeout, TooManyRequests
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import browser
from gisgrid import errors, reports

log = logging.getLogger(__name__)

STATUS = {
    errors.NotFound: 404,
    errors.OutsideCoverage: 404,
    errors.InvalidCoordinate: 422,
    errors.InvalidCode: 422,
    errors.InvalidGeometry: 422,
    errors.TopologyError: 409,
    errors.DataSourceError: 503,
    errors.LocalDatabaseError: 503,
    errors.DatabaseUnavailable: 503,
    errors.Overloaded: 503,
    errors.NotAuthenticated: 401,
    errors.UnknownToken: 401,
    errors.Forbidden: 403,
    errors.Conflict: 409,
    errors.RateLimited: 429,
    errors.PayloadTooLarge: 413,
    errors.InvalidTrack: 422,
    errors.InvalidPeriod: 422,
    errors.InvalidApiKey: 403,
    errors.InvalidReport: 400,
    errors.IdempotencyConflict: 409,
    errors.InvalidImport: 422,
    errors.ImportRefused: 409,
    errors.StalePlan: 409,
    errors.GridRuleBroken: 409,
    errors.CalendarError: 422,
    errors.UnsupportedMedia: 415,
}


def status_of(error: errors.GisGridError | type[errors.GisGridError]) -> int:
    """The HTTP status of a domain error (by its nearest class in the table; 400 otherwise)."""
    cls = error if isinstance(error, type) else type(error)
    return next((STATUS[c] for c in cls.__mro__ if c in STATUS), 400)


def outcome_statuses() -> dict[str, int]:
    """The status of each intake outcome, for the audit entry stored with a report."""
    return {"created": 201, "replayed": 200} | {
        outcome: status_of(cls) for outcome, cls in reports.OUTCOME_ERRORS.items()
    }


def retry_after_of(error: errors.GisGridError) -> int | None:
    """Seconds to wait before retrying: every 429 and 503 says it (Retry-After)."""
    if error.retry_after is not None:
        return error.retry_after
    return {429: 60, 503: 5}.get(status_of(error))


def open311_error(path: str, status: int, message: str, retry_after: int | None = None) -> Response:
    """An error in GeoReport v2's shape: a list of {code, description}, XML for .xml paths."""
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    if path.endswith(".xml"):
        doc = ET.Element("errors")
        item = ET.SubElement(doc, "error")
        ET.SubElement(item, "code").text = str(status)
        ET.SubElement(item, "description").text = message
        body = '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(doc, encoding="unicode")
        return Response(body, status, headers, media_type="text/xml; charset=utf-8")
    return JSONResponse([{"code": status, "description": message}], status, headers)


def error_response(
    request: Request, status: int, message: str, name: str, retry_after: int | None = None
) -> Response:
    """The error body every route answers with: JSON {detail, error}, Open311's list there,
    a page for a browser looking at a page."""
    if request.url.path.startswith("/open311/"):
        return open311_error(request.url.path, status, message, retry_after)
    if browser.wants_page(request):
        page = browser.error_page(request, status, message)
        if retry_after:
            page.headers["Retry-After"] = str(retry_after)
        return page
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"  # RFC 6750: a 401 says which scheme would work
    return JSONResponse({"detail": message, "error": name}, status, headers)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.GisGridError)
    return error_response(
        request, status_of(exc), str(exc), type(exc).__name__, retry_after_of(exc)
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"] if p not in ("query", "body", "path"))
        got = f", got {_short(err['input'])}" if "input" in err and err["input"] is not None else ""
        problems.append(f"{where}: {err['msg']}{got}")
    if browser.wants_page(request):
        return browser.error_page(request, 422, "; ".join(problems))
    # The input is named, not echoed whole: a 4,000-character limit must not answer with 4 MB.
    listed = [
        {k: (_short(v) if k == "input" else v) for k, v in err.items() if k != "ctx"}
        | ({"ctx": {k: str(v) for k, v in err["ctx"].items()}} if "ctx" in err else {})
        for err in exc.errors()
    ]
    if request.url.path.startswith("/open311/"):
        return open311_error(request.url.path, 422, "; ".join(problems))
    return JSONResponse(
        {"detail": "; ".join(problems), "error": "ValidationError", "errors": listed},
        status_code=422,
    )


def _short(value: object, limit: int = 120) -> str:
    """repr() of a value, cut to `limit` characters with its full length said."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


async def _database_down(request: Request, exc: Exception) -> Response:
    # The server is fine but PostgreSQL is not answering (restarting, unreachable): a 503 the
    # client can act on. The driver's message names the database's address: logged, not sent.
    log.warning("database unavailable during %s %s: %s", request.method, request.url.path, exc)
    if isinstance(getattr(exc, "orig", exc), LockNotAvailable | QueryCanceled):
        # Waited longer than lock_timeout / statement_timeout allow: busy, not broken.
        return await _domain_error(
            request,
            errors.Overloaded(
                "the request took longer than this service allows (it waited for data another "
                "request was changing, or ran past the statement time limit); nothing was "
                "done, try again in a moment",
                retry_after=5,
            ),
        )
    return await _domain_error(
        request,
        errors.DatabaseUnavailable(
            "the database did not answer; nothing was done, try again in a few seconds"
        ),
    )


async def _overloaded(request: Request, exc: Exception) -> Response:
    # A pool with every connection taken for longer than the wait: busy, not broken.
    return await _domain_error(
        request,
        errors.Overloaded(
            "the service is at capacity (no database connection came free in time); "
            "nothing was done, try again in a moment",
            retry_after=2,
        ),
    )


async def _bad_value(request: Request, exc: Exception) -> Response:
    # A value PostgreSQL refused (out of range for its column type, a NUL byte in text...):
    # the input was bad, not the server. Each such input should be checked before the
    # database sees it; this is the net under those checks.
    orig = getattr(exc, "orig", exc)
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    log.warning(
        "value refused by the database in %s %s: %s", request.method, request.url.path, first
    )
    return error_response(
        request, 422, f"a value in the request was not accepted: {first[:200]}", "InvalidValue"
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    # Starlette's own refusals (no such route, wrong method): a page for people, JSON otherwise.
    assert isinstance(exc, StarletteHTTPException)
    if browser.wants_page(request):
        return browser.error_page(request, exc.status_code, None)
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(errors.GisGridError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sqlalchemy.exc.OperationalError, _database_down)
    app.add_exception_handler(psycopg.OperationalError, _database_down)
    app.add_exception_handler(sqlalchemy.exc.TimeoutError, _overloaded)
    app.add_exception_handler(PoolTimeout, _overloaded)
    app.add_exception_handler(TooManyRequests, _overloaded)
    app.add_exception_handler(sqlalchemy.exc.DataError, _bad_value)
    app.add_exception_handler(psycopg.DataError, _bad_value)
    app.add_exception_handler(RequestValidationError, _validation_error)


async def send_refusal(
    send: Any,
    path: str,
    status: int,
    error: str,
    said: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Answer from ASGI middleware, before any route: Open311's error list on Open311 paths, the
    service's `{"detail", "error"}` elsewhere (the shapes the exception handlers give)."""
    shaped: object = (
        [{"code": status, "description": said}]
        if path.startswith("/open311/")
        else {"detail": said, "error": error}
    )
    body = json.dumps(shaped).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
