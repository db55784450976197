"""The FastAPI application, built by create_app(settings)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api import capacity, errors, security
from api.access_log import AccessLog
from api.front import FrontDoor
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
    plans,
    residents,
    search,
    static,
    tiles,
    units,
)
from gisgrid.access import shared
from gisgrid.db import HealthCheck, libpq_url, make_engine, make_intake_pool, resolve_database_url
from gisgrid.mapdata import CoverageCache, CurrentGeneration, SharedAnswers, TileCache
from gisgrid.media import PhotoStore
from gisgrid.redraw import PlanRunner
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
        # Threads for blocking route bodies; the database gate keeps its own (one per slot).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        app.state.engine = make_engine(url, settings)
        app.state.db = capacity.Database(
            app.state.engine,
            capacity.Gate(settings.db_slots, settings.db_queue, settings.db_wait_s),
        )
        # The async pool: reports (one round trip, no thread hop: issue 4), who is calling and
        # the write audit (issue 13: never a second connection from the engine's pool).
        app.state.intake_pool = make_intake_pool(url, settings)
        # Without wait=True: the service starts (and answers 503) while the database is away.
        await app.state.intake_pool.open()
        # Plain grid tile URLs need the current generation: known here, told of changes.
        app.state.current_generation = CurrentGeneration(
            libpq_url(url), settings.generation_check_s
        )
        await app.state.current_generation.start()
        # Redraw plans run away from the request threads (issue 15); the pool starts on first use.
        app.state.plan_runner = PlanRunner(url, settings.redraw_workers)
        # Idle connections that died with a restarted server are replaced the moment the
        # database answers again, not found one by one by requests (each costs seconds).
        app.state.health = HealthCheck(libpq_url(url), on_recover=[app.state.intake_pool.check])
        # Push (issue 16): one LISTEN connection per process, fanned out to open streams (its
        # own connection: a stream never holds a database slot or a pool connection).
        app.state.events = EventHub(libpq_url(url))
        await app.state.events.start()
        # Tokens revoked on any worker or host are forgotten here too (issue 19).
        app.state.token_notices = shared.TokenNotices(libpq_url(url), app.state.token_cache.forget)
        await app.state.token_notices.start()
        # The listeners reconnect the moment the database answers again, not after a backoff.
        app.state.health.on_recover += [
            app.state.current_generation.wake,
            app.state.token_notices.wake,
        ]
        app.state.health.start()
        try:
            yield
        finally:
            await app.state.token_notices.stop()
            await app.state.events.stop()
            await app.state.current_generation.stop()
            await app.state.health.close()
            app.state.plan_runner.shutdown()
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
    app.state.rate_limiter = security.RateLimiter(shared=settings.shared_limits)
    app.state.token_cache = security.TokenCache()
    app.state.tile_cache = TileCache(settings.tile_cache_mb * 1024 * 1024)
    app.state.coverage_cache = CoverageCache()
    # The walls' polls, each question counted once per poll_fresh_s for every wall (issue 13).
    app.state.poll_answers = SharedAnswers(settings.poll_fresh_s)
    app.state.photos = PhotoStore(settings.state_dir / "media")
    # One front door for every request (issue 18: eleven stacked layers cost each report
    # ~0.13 ms): the access log outside even the flood limit (a refused request is logged with
    # its 503), the flood limit before anything else costs, trusted proxies, security headers,
    # gzip when asked (benchmark clients do not ask), warm grid tiles before routing, the
    # language cookie, the write audit (refused writes too), same origin for cookie-signed
    # writes, the body limit, the input guard. Its docstring has the details.
    app.add_middleware(
        FrontDoor,
        access_log=AccessLog() if settings.access_log else None,
        in_flight=capacity.InFlight(settings.max_in_flight, settings.max_streams),
        trusted=settings.trusted_proxies,
        basemap_url=settings.basemap_url,
        direct=open311.direct_routes(),
    )
    # Routes are matched in this order, route by route: the intake (Open311 and the residents'
    # form), the service's busiest writes, come right after the probes (issue 18).
    for router in (
        health.router,
        open311.router,
        residents.router,
        home.router,
        auth.router,
        units.router,
        locate.router,
        households.router,
        audit.router,
        patrols.router,
        cases.router,
        departments.router,
        events.router,
        media.router,
        maps.router,
        search.router,
        tiles.router,
        static.router,
        boundaries.router,
        plans.router,
        ogc.router,
    ):
        app.include_router(router)
    return app
