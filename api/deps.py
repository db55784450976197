"""Dependencies shared by the routers."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, NamedTuple

from fastapi import Depends, Query, Request
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Connection

from api.browser import LangDep
from api.capacity import Database
from api.errors import outcome_statuses
from api.security import PrincipalDep, client_address, principal_of, request_token
from gisgrid import reports
from gisgrid.access.accounts import Principal
from gisgrid.mapdata import basemap, layers
from gisgrid.media import PhotoStore
from gisgrid.settings import Settings
from maps import pages


async def get_db(request: Request) -> Database:
    """The engine behind the app's gate (run core functions with `await db.run(fn, ...)`)."""
    db: Database = request.app.state.db
    return db


async def get_conn(request: Request) -> AsyncIterator[Connection]:
    """A connection in a transaction for one request, inside a database slot; committed when
    the route returns, rolled back if it raises. 503 Overloaded when no slot comes free soon.

    Async on purpose: checkout and give-back run on the gate's own threads (one per slot), not
    in the thread pool the routes use, so a full pool can never stop a connection coming back.
    """
    db: Database = request.app.state.db
    async with db.gate.slot():
        conn = await db.checkout()
        try:
            yield conn
        except BaseException:
            await db.finish(conn, ok=False)
            raise
        await db.finish(conn, ok=True)


# scope="function": commit before the response is sent, so a client never sees success for a
# write that then fails to commit, nor reads back before its own write is visible.
ConnDep = Annotated[Connection, Depends(get_conn, scope="function")]
DbDep = Annotated[Database, Depends(get_db)]


@dataclass
class Intake:
    """What filing a report needs from the app: pools, settings and the request's audit entry."""

    pool: AsyncConnectionPool
    config: reports.IntakeConfig
    audit: reports.AuditEntry


async def get_intake(request: Request) -> Intake:
    """The intake's pool and configuration, with the audit entry of this request."""
    # Who is calling, as PrincipalDep finds it, without its two nested dependencies: each one
    # FastAPI solves costs every report tens of microseconds (issue 18).
    who = await principal_of(request, request_token(request))
    request.state.principal = who
    audit = reports.AuditEntry(
        username=who.username,
        path=request.url.path,
        client=client_address(request),
        account_id=who.account_id,
        role=who.role.value if who.role else None,
        statuses=outcome_statuses(),
    )
    state = request.app.state
    return Intake(state.intake_pool, state.intake_config, audit)


IntakeDep = Annotated[Intake, Depends(get_intake)]


async def get_report_config(request: Request) -> reports.IntakeConfig:
    """How reports move through the loop: calendars per county, stage limits, reopening."""
    config: reports.IntakeConfig = request.app.state.intake_config
    return config


ReportConfigDep = Annotated[reports.IntakeConfig, Depends(get_report_config)]


async def get_basemap(request: Request) -> pages.Basemap:
    """The service's own basemap (tiles stamped with its version) and the external one the
    settings may name (an unknown datum is refused here, not in a browser)."""
    s: Settings = request.app.state.settings
    layers.basemap_offset(112.0, 23.0, s.basemap_datum)
    db: Database = request.app.state.db
    stamp = await db.run(basemap.version)
    return pages.Basemap(
        s.basemap_url,
        s.basemap_datum,
        s.basemap_attribution,
        own_tiles=f"/tiles/basemap/{{z}}/{{x}}/{{y}}.mvt?v={stamp}",
        labels=f"/maps/data/labels?v={stamp}",
    )


BasemapDep = Annotated[pages.Basemap, Depends(get_basemap)]


async def get_photos(request: Request) -> PhotoStore:
    """Where photo files live (under the state dir)."""
    store: PhotoStore = request.app.state.photos
    return store


PhotosDep = Annotated[PhotoStore, Depends(get_photos)]


class Plan(NamedTuple):
    """A redraw draft a route acts on, as every redraw function takes it first: (conn, who, id)."""

    conn: Connection
    who: Principal
    plan_id: int


async def get_plan(conn: ConnDep, who: PrincipalDep, plan_id: int) -> Plan:
    """The request's connection, its caller and the draft's number from the path."""
    return Plan(conn, who, plan_id)


PlanDep = Annotated[Plan, Depends(get_plan)]


class MapPage(NamedTuple):
    """What a map page is drawn from: the request, the basemap, a connection, the caller, the
    reader's language and whether to draw the many features as vector tiles."""

    request: Request
    basemap: pages.Basemap
    conn: Connection
    who: Principal
    lang: str
    tiles: bool


async def get_map_page(
    request: Request,
    basemap: BasemapDep,
    conn: ConnDep,
    who: PrincipalDep,
    lang: LangDep,
    tiles: Annotated[
        bool, Query(description="force vector tiles for the grids (the worker's: households)")
    ] = False,
) -> MapPage:
    """What the center's wall, the worker's phone map and the planner's map each take."""
    return MapPage(request, basemap, conn, who, lang, tiles)


MapPageDep = Annotated[MapPage, Depends(get_map_page)]
