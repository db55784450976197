"""Liveness and versions."""

from typing import Any

from fastapi import APIRouter

from api.deps import EngineDep
from gisgrid.db import server_versions

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(engine: EngineDep) -> dict[str, Any]:
    """Database and PostGIS versions; fails if the database is unreachable."""
    return {"status": "ok", **server_versions(engine)}
