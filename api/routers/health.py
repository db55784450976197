"""Liveness (/healthz) and readiness (/readyz): answered within a second under any load."""

import os
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.capacity import Database, async_pool_stats
from gisgrid.db import HealthCheck

router = APIRouter(tags=["health"])


def _load(request: Request) -> dict[str, Any]:
    db: Database = request.app.state.db
    return {
        "db": db.gate.stats(),
        "async_pool": async_pool_stats(request.app.state.intake_pool),
        # The walls' shared answers (issue 13): how many counted, how many given from one.
        "polls": request.app.state.poll_answers.stats(),
    }


def _worker(request: Request) -> dict[str, Any]:
    """This worker process and what it hears from the others (issue 19): each answers for
    itself; a listener that is down means per-request lookups here, never stale answers."""
    state = request.app.state
    known, generation = state.current_generation.get()
    return {
        "pid": os.getpid(),
        "current_generation": generation if known else None,
        "hears_generations": known,
        "hears_token_revocations": state.token_notices.known,
        "token_notices": state.token_notices.notices,
        "rate_limit_local_refusals": state.rate_limiter.local_refusals,
        "rate_limit_counted_alone": state.rate_limiter.local_fallbacks,
    }


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    """Database and PostGIS versions and the load; 503 if the database does not answer.

    The database is asked on a connection of its own twice a second (never queued behind
    requests); this reads the last answer, so it answers at once whatever the load, and what
    it says is at most about a second old.
    """
    health: HealthCheck = request.app.state.health
    ok = await health.check()
    body = {
        "status": "ok" if ok else "down",
        **health.versions,
        "database": {"ok": ok, "detail": health.detail, "checked_s_ago": round(health.age_s, 2)},
        "load": _load(request),
        "worker": _worker(request),
    }
    return JSONResponse(body, 200 if ok else 503, None if ok else {"Retry-After": "5"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """For a load balancer: 200 when this worker should get traffic, else 503 with the reason
    (the database does not answer, or the worker refused requests for lack of capacity in the
    last two seconds)."""
    health: HealthCheck = request.app.state.health
    db: Database = request.app.state.db
    if not await health.check():
        reason = health.detail
    elif db.gate.shedding():
        reason = "at capacity: requests were refused in the last 2 s"
    else:
        return JSONResponse({"ready": True})
    return JSONResponse({"ready": False, "reason": reason}, 503, {"Retry-After": "2"})
