"""The FastAPI application, built by create_app(settings)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api import browser, errors, security
from api.routers import (
    audit,
    auth,
    boundaries,
    cases,
    departments,
    events,
    health,
    home,
    households,
    locate,
    maps,
    media,
    ogc,
    open311,
    patrols,
    residents,
    search,
    static,
    tiles,
    units,
)
from gisgrid.db import libpq_url, make_engine, make_intake_pool, resolve_database_url
from gisgrid.mapdata.tiles import TileCache
from gisgrid.media import PhotoStore
from gisgrid.reports import IntakeConfig
from gisgrid.reports.events import EventHub
from gisgrid.settings import Settings

DESCRIPTION = """
gisgrid serves grid-based community governance (网格化管理) from PostGIS: administrative units,
grids, and which grid (and which grid worker) a point belongs to.

Demo counties are partly GENERATED: names, codes and the county outline are real; town,
village and grid polygons, households, staff and reports are synthetic and flagged `generated`.
"""


SWAGGER_DIR = Path(__file__).resolve().parent / "static" / "swagger-ui"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database is resolved (and a local PostGIS started) at start-up."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = resolve_database_url(settings)
        app.state.engine = make_engine(url)
        # The intake's own pool: a report costs one round trip and no thread hop (issue 4).
        app.state.intake_pool = make_intake_pool(url)
        await app.state.intake_pool.open()
        # Push (issue 16): one LISTEN connection per process, fanned out to open streams.
        app.state.events = EventHub(libpq_url(url))
        await app.state.events.start()
        try:
            yield
        finally:
            await app.state.events.stop()
            await app.state.intake_pool.close()
            app.state.engine.dispose()

    # The stock /docs and /redoc pages load their scripts from a CDN and break on an intranet;
    # serve Swagger UI from the package instead (api/static/swagger-ui, Apache-2.0).
    app = FastAPI(
        title="gisgrid",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.mount("/assets/swagger-ui", StaticFiles(directory=SWAGGER_DIR), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """Swagger UI from local assets."""
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="gisgrid API",
            swagger_js_url="/assets/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/assets/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/assets/swagger-ui/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

    errors.install(app)
    app.state.intake_config = IntakeConfig.from_settings(settings)
    app.state.rate_limiter = security.RateLimiter()
    app.state.tile_cache = TileCache(settings.tile_cache_mb * 1024 * 1024)
    app.state.photos = PhotoStore(settings.state_dir / "media")
    app.add_middleware(security.BodyLimit)  # inside the audit: a refused write is recorded too
    app.add_middleware(security.AuditWrites)
    app.add_middleware(browser.RememberLang)
    # Pages and GeoJSON for phones on weak links: compressed when the browser asks for it
    # (benchmark clients send no Accept-Encoding, so their figures are unchanged).
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=5)
    for router in (
        health.router,
        home.router,
        auth.router,
        units.router,
        locate.router,
        households.router,
        audit.router,
        patrols.router,
        open311.router,
        cases.router,
        departments.router,
        events.router,
        media.router,
        residents.router,
        maps.router,
        search.router,
        tiles.router,
        static.router,
        boundaries.router,
        ogc.router,
    ):
        app.include_router(router)
    return app
