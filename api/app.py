"""The FastAPI application, built by create_app(settings)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.routers import boundaries, health, locate, ogc, units
from gisgrid.db import make_engine, resolve_database_url
from gisgrid.settings import Settings

DESCRIPTION = """
gisgrid serves grid-based community governance (网格化管理) from PostGIS: administrative units,
grids, and which grid (and which grid worker) a point belongs to.

Demo counties are partly GENERATED: names, codes and the county outline are real; town,
village and grid polygons, households, staff and reports are synthetic and flagged `generated`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database is resolved (and a local PostGIS started) at start-up."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(resolve_database_url(settings))
        try:
            yield
        finally:
            app.state.engine.dispose()

    app = FastAPI(title="gisgrid", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    errors.install(app)
    for router in (health.router, units.router, locate.router, boundaries.router, ogc.router):
        app.include_router(router)
    return app
