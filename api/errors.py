"""Domain errors -> HTTP status, in one table; validation errors that name the bad value."""

import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gisgrid import errors

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
    errors.StalePlan: 409,
    errors.GridRuleBroken: 409,
}


def _status(exc: errors.GisGridError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.GisGridError)
    status = _status(exc)
    # RFC 6750: a 401 says which scheme would work.
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"detail": str(exc), "error": type(exc).__name__}, status_code=status, headers=headers
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"] if p not in ("query", "body", "path"))
        got = f", got {_short(err['input'])}" if "input" in err and err["input"] is not None else ""
        problems.append(f"{where}: {err['msg']}{got}")
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


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(errors.GisGridError, _domain_error)
    app.add_exception_handler(sqlalchemy.exc.OperationalError, _database_down)
    app.add_exception_handler(psycopg.OperationalError, _database_down)
    app.add_exception_handler(RequestValidationError, _validation_error)
