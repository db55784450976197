"""Domain errors -> HTTP status, in one table; validation errors that name the bad value.

The table is the only place a status is decided: JSON errors here, Open311's error list
(api/routers/open311.py renders the same status in the spec's format) and the status the
intake's audit entry records (`outcome_statuses`) all read it.
"""

import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import browser
from gisgrid import errors, reports

STATUS = {
    errors.NotFound: 404,
    errors.OutsideCoverage: 404,
    errors.InvalidCoordinate: 422,
    errors.InvalidCode: 422,
    errors.InvalidGeometry: 422,
    errors.TopologyError: 409,
    errors.DataSourceError: 503,
    errors.LocalDatabaseError: 503,
    errors.NotAuthenticated: 401,
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


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.GisGridError)
    status = status_of(exc)
    if browser.wants_page(request):
        return browser.error_page(request, status, str(exc))
    # RFC 6750: a 401 says which scheme would work.
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"detail": str(exc), "error": type(exc).__name__}, status_code=status, headers=headers
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
    return JSONResponse(
        {"detail": "; ".join(problems), "error": "ValidationError", "errors": listed},
        status_code=422,
    )


def _short(value: object, limit: int = 120) -> str:
    """repr() of a value, cut to `limit` characters with its full length said."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    # The server is fine but PostgreSQL is not answering (restarting, unreachable, overloaded):
    # a 503 the client can act on, not a 500 with a traceback.
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return JSONResponse(
        {
            "detail": f"the database did not answer ({first}); try again in a moment",
            "error": "DatabaseUnavailable",
        },
        status_code=503,
        headers={"Retry-After": "5"},
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
    app.add_exception_handler(RequestValidationError, _validation_error)
