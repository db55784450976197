"""Map pages (center wall, worker phone, planner) and the JSON they poll, plus PNG/HTML export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Hashable
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from api.browser import LangDep, switch_url
from api.deps import ConnDep, DbDep, MapPageDep
from api.params import GenerationQ, GridQ
from api.security import PrincipalDep
from gisgrid.access import visits
from gisgrid.access.accounts import FIELD_ROLES, MAP_EDITORS, REGISTER_READERS, Principal, Role
from gisgrid.divisions import units
from gisgrid.divisions.codes import unit_prefix
from gisgrid.errors import InvalidCoordinate, NotFound
from gisgrid.mapdata import SharedAnswers, basemap, layers, wall
from gisgrid.patrols import coverage
from gisgrid.reports import CANCEL_REASONS, CATEGORIES, OUTCOMES, cases
from maps import center as center_page
from maps import export, offline, pages
from maps import worker as worker_page
from maps.assets import read_static, shell_assets
from maps.i18n import t

router = APIRouter(tags=["maps"])

GEOJSON = "application/geo+json"
NO_STORE = {"Cache-Control": "no-store"}
UnitQ = Annotated[str, Query(description="6-digit county, 9-digit town or 12-digit village code")]
BboxQ = Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")]
ZoomQ = Annotated[int | None, Query(ge=0, le=22, description="simplify geometry for this zoom")]
GridFilterQ = Annotated[str | None, Query(description="15-digit grid code")]


def _q(path: str, **params: Any) -> str:
    return path + "?" + urlencode({k: v for k, v in params.items() if v is not None})


def _measures() -> dict[str, str]:
    return {k: layers.MEASURES[k][0] for k in layers.available_measures()}


# Who may open each page: centre operators (and planners) the wall, grid staff the phone map
# (household leaders too: it shows their grid's cases and doors), planners the planning map.
# Department handlers (职能部门) are not on the wall: a department sees and acts on the cases sent
# to it, which its inbox lists (GET /api/v1/departments/{code}/cases), not every case of a county.
CENTER_ROLES = REGISTER_READERS - {Role.department_handler}
WORKER_ROLES = FIELD_ROLES | {Role.household_leader}
PLANNER_ROLES = MAP_EDITORS | {Role.town_operator, Role.village_operator}


def _signin(request: Request) -> RedirectResponse:
    """Send an anonymous visitor of a page to the sign-in form, and back afterwards."""
    target = request.url.path + ("?" + request.url.query if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)


def _allow(who: Principal, roles: frozenset[Role], code: str, action: str) -> None:
    """Role and scope check for a unit (6/9/12 digits) or grid (15 digits) code."""
    who.require(roles, action)
    who.require_scope(code if len(code.strip()) == 15 else unit_prefix(code), action)


def _html(body: str, download: str | None = None) -> HTMLResponse:
    headers = dict(NO_STORE)
    if download:
        headers["Content-Disposition"] = f'attachment; filename="{download}"'
    return HTMLResponse(body, headers=headers)


@router.get("/maps/center", response_class=HTMLResponse)
def center(
    page: MapPageDep,
    unit: UnitQ,
    measure: Annotated[str, Query(description="open_per_100, overdue_cases, households…")] = (
        "open_per_100"
    ),
    export_html: Annotated[
        bool, Query(alias="export", description="download a self-contained snapshot")
    ] = False,
    area: Annotated[str, Query(description="filter: a town (or village) under the unit")] = "",
    category: Annotated[str, Query(description="filter: a category code or family")] = "",
    days: Annotated[int, Query(description="filter: period in days (1, 7, 30, 90)")] = 30,
) -> Response:
    """The center's live wall (一图统揽) for a county, town or village."""
    request, basemap, conn, who, lang, tiles = page
    if who.is_public:
        return _signin(request)
    _allow(who, CENTER_ROLES, unit, "the center map")
    layers.check_measure(measure)
    outline = layers.unit_outline(conn, unit)
    props = outline["properties"]
    code = props["code"]
    gen = layers.current_generation(conn, code)
    # Patrol coverage takes seconds for a county: computed when it is the measure shown, and
    # fetched by the wall when someone picks it.
    grids = layers.grid_measures(
        conn,
        code,
        zoom=12,
        with_coverage=measure == "coverage",
        coverage_cache=request.app.state.coverage_cache,
    )
    kids = wall.children(conn, code)
    if area and area not in {k["code"] for k in kids}:
        area = ""  # a filter from an old link: show the whole unit rather than fail
    if days not in wall.PERIODS:
        days = 30
    try:
        wall.categories_of(category)
    except NotFound:
        category = ""
    data = _unit_page(
        outline,
        grids,
        tiles,
        lang,
        title=props["name"],
        # Staff positions come after the page (wall.js asks at once): the map draws sooner.
        staff=layers.staff_positions(conn, code) if export_html else None,
        ranking=layers.ranking(conn, code),
        measures=_measures(),
        snapshot=export_html,
        urls={
            "wall": _q("/maps/data/wall", unit=code),
            "dashboard": _q("/maps/data/dashboard", unit=code, ranked=code),
            "staff": _q("/maps/data/staff", unit=code),
            "grid_measures": _q("/maps/data/grids", unit=code, geometry="false"),
            "grid_tiles": "/tiles/grids/{z}/{x}/{y}.mvt?generation=" + str(gen),
            "household_tiles": "/tiles/households/{z}/{x}/{y}.mvt",
            "case": "/api/v1/reports/",
            "reassign": "/maps/data/reassign",
            "export_png": _q("/maps/export.png", unit=code, measure=measure, width=1600),
            # Push (GET /api/v1/events, server-sent events): a case event in the wall's scope
            # triggers the same delta request the wall otherwise polls for.
            "events": "/api/v1/events",
        },
    )
    state = {
        "cases": wall.cases(conn, code),
        "dashboard": wall.dashboard(conn, area or code, days, category or None, ranked=code),
        "children": kids,
        "categories": [
            {
                "code": c.code,
                "name": c.name_zh if lang == "zh" else c.name,
                "family": c.family.value,
                "triage": c.triage.value,
                "alarm": c.alarm,
            }
            for c in CATEGORIES
        ],
        "steps": _steps_for(who),
        # Closing codes (结案类型; those that need a reason list them) and reasons to refuse.
        "outcomes": {code: sorted(o.reasons) for code, o in OUTCOMES.items()},
        "cancel_reasons": list(CANCEL_REASONS),
        "filters": {"unit": area, "category": category, "days": days},
    }
    html = center_page.center_page(
        data, measure, basemap, wall=state, switch_url=switch_url(request, lang)
    )
    if export_html:
        return _html(pages.inline_assets(html, read_static), f"gisgrid-center-{code}.html")
    return _html(html)


def _steps_for(who: Principal) -> dict[str, dict[str, Any]]:
    """The case steps this account may take from the wall, with the statuses (and, for the
    steps of the loop's first stages, the stages) they apply to, as the loop allows them."""
    return {
        name: {
            "from": sorted(s.from_statuses),
            "stages": sorted(s.from_stages) if s.from_stages is not None else None,
            "note": s.needs_note,
        }
        for name, s in cases.STEPS.items()
        if who.role in s.roles and name in WALL_STEPS
    }


# What the center does from its wall: register a report found true on site (分析立案), chase,
# reassign, verify and close with a closing code or send back, refuse (不予立案, with a reason).
# The on-site check (核查) is the grid worker's, from the phone.
WALL_STEPS = ("register", "supervise", "reassign", "close", "return", "cancel", "accept")


@router.get("/maps/worker", response_class=HTMLResponse)
def worker(page: MapPageDep, grid: GridQ) -> Response:
    """A grid worker's phone map of one grid: cases, households, where am I."""
    request, basemap, conn, who, lang, tiles = page
    if who.is_public:
        return _signin(request)
    _allow(who, WORKER_ROLES, grid, "the worker map")
    fc = layers.grid_measures(conn, grid=grid)
    p = fc["features"][0]["properties"]
    hh = layers.households(conn, grid=p["code"])
    # Roads of this grid nobody walked in the last day: where to go next (patrol coverage).
    now = dt.datetime.now(dt.UTC)
    unpatrolled = coverage.coverage_by_unit(conn, p["code"], now - dt.timedelta(days=1), now)[
        "uncovered_segments"
    ]
    data = pages.PageData(
        title=f"{p['name']}",
        bbox=_bbox_of(fc),
        grids=fc,
        households=None if tiles else hh,
        reports=layers.open_reports(conn, grid=p["code"]),
        household_count=p["households"],
        force_tiles=tiles,
        unpatrolled=unpatrolled,
        fetched_at=now.isoformat(),
        lang=lang,
        unit=p["code"][:6],
        urls={
            "worker_data": _q("/maps/data/worker", grid=p["code"]),
            "household_tiles": "/tiles/households/{z}/{x}/{y}.mvt",
            "events": "/api/v1/events",
            "way": "/api/v1/patrols/way",
            "patrol_report": "/api/v1/patrols/reports",
        },
    )
    return _html(
        worker_page.worker_page(
            data,
            basemap,
            lang=lang,
            categories=CATEGORIES,
            username=who.username,
            grid=p["code"],
            visits=jsonable_encoder(visits.due_list(conn, who, p["code"])),
            handlers=cases.handlers_of_grid(conn, who, p["code"]),
        )
    )


@router.get(offline.SERVICE_WORKER_URL, include_in_schema=False)
def service_worker() -> Response:
    """The worker map's service worker: shell precached, last good copy of page and data."""
    # no-cache: a deploy must reach phones on their next visit, not a day later.
    return Response(
        offline.service_worker(shell_assets()),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/maps/planner", response_class=HTMLResponse)
def planner(page: MapPageDep, unit: UnitQ, generation: GenerationQ = None) -> Response:
    """Planner's map: grids by households against the mean, per generation."""
    request, basemap, conn, who, lang, tiles = page
    if who.is_public:
        return _signin(request)
    _allow(who, PLANNER_ROLES, unit, "the planner map")
    outline = layers.unit_outline(conn, unit)
    props = outline["properties"]
    code = props["code"]
    gens = layers.generations(conn, code)
    gen = generation if generation is not None else layers.current_generation(conn, code)
    if gen not in {g["id"] for g in gens}:
        raise NotFound(f"generation={gen} is not one of {[g['id'] for g in gens]} for {code}")
    grids = layers.grid_measures(
        conn, code, generation=gen, zoom=12, coverage_cache=request.app.state.coverage_cache
    )
    redraw = None
    if who.role in MAP_EDITORS:  # drafting is for planners, county operators and admins
        below = [] if props["level"] == "village" else units.unit_children(conn, code)
        redraw = {
            "units": [{"code": code, "name": props["name"]}]
            + [{"code": u["code"], "name": u["name"]} for u in below],
            # A first band around today's mean (about 0.7x to 1.35x); the planner sets it.
            "band": _default_band(layers.balance(grids)["mean"]),
            "plans": "/api/v1/plans",
        }
    data = _unit_page(
        outline,
        grids,
        tiles,
        lang,
        title=t(lang, "planner.title", name=props["name"]),
        generations=gens,
        generation_id=gen,
        balance=layers.balance(grids),
        redraw=redraw,
        urls={
            "grid_measures": _q("/maps/data/grids", unit=code, generation=gen, geometry="false"),
            "grid_tiles": "/tiles/grids/{z}/{x}/{y}.mvt?generation=" + str(gen),
        },
    )
    return _html(pages.planner_page(data, basemap, switch_url=switch_url(request, lang)))


def _unit_page(
    outline: dict[str, Any], grids: dict[str, Any], tiles: bool, lang: str, **more: Any
) -> pages.PageData:
    """A map page over a unit's grids (the center's wall, the planner) and what it adds."""
    props = outline["properties"]
    return pages.PageData(
        bbox=props["bbox"],
        outline=outline,
        grids=grids,
        grid_count=len(grids["features"]),
        force_tiles=tiles,
        lang=lang,
        unit=props["code"][:6],  # search looks in the page's county first
        **more,
    )


def _default_band(mean: float) -> list[int]:
    lo = max(10, int(round(mean * 0.7, -1)))
    return [lo, max(lo + 10, int(round(mean * 1.35, -1)))]


def _bbox_of(fc: dict[str, Any]) -> list[float]:
    xs: list[float] = []
    ys: list[float] = []

    def walk(c: Any) -> None:
        if isinstance(c[0], int | float):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for part in c:
                walk(part)

    for f in fc["features"]:
        walk(f["geometry"]["coordinates"])
    return [min(xs), min(ys), max(xs), max(ys)]


@router.get(
    "/maps/export.png", response_class=Response, responses={200: {"content": {"image/png": {}}}}
)
def export_png(
    conn: ConnDep,
    who: PrincipalDep,
    lang: LangDep,
    unit: UnitQ,
    measure: str = "open_per_100",
    width: Annotated[int, Query(ge=200, le=4000)] = 1200,
    height: Annotated[int, Query(ge=200, le=4000)] = 900,
) -> Response:
    """A bulletin PNG of a unit's grids by measure with open cases: title, unit, date, legend,
    scale and source line in the reader's language (?lang=en for English)."""
    _allow(who, CENTER_ROLES, unit, "exporting a map")
    layers.check_measure(measure)
    outline = layers.unit_outline(conn, unit)
    props = outline["properties"]
    code = props["code"]
    grids = layers.grid_measures(conn, code, zoom=12)
    png = export.render_png(
        props["bbox"],
        grids,
        measure,
        outline=outline,
        reports=layers.open_reports(conn, code),
        width=width,
        height=height,
        lang=lang,
        unit_name=props["name"],
        unit_code=code,
        generated=any(f["properties"]["generated"] for f in grids["features"]),
    )
    return Response(
        png,
        media_type="image/png",
        headers={"Content-Disposition": f'inline; filename="gisgrid-{code}-{measure}.png"'},
    )


# The JSON the pages poll. Small, and they change whenever a report is written; the walls' polls
# (grid measures, open reports, staff positions) are counted once per poll_fresh_s seconds per
# question and shared by every wall asking it (issue 13), with an ETag: a poll that finds the
# same answer gets 304 and no body. "private, no-cache": a browser may keep it but asks each time.
POLL = {"Cache-Control": "private, no-cache"}


async def _shared(
    request: Request, key: Hashable, count: Callable[[], Awaitable[bytes]]
) -> Response:
    """The GeoJSON every poll asking `key` shares (`count` makes it when none is fresh): 304
    when the poll already holds it (If-None-Match), else its bytes."""
    answers: SharedAnswers = request.app.state.poll_answers
    answer = await answers.get(key, count)
    headers = {**POLL, "ETag": answer.etag}
    if answer.matches(request.headers.get("if-none-match")):
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type=GEOJSON, headers=headers)


@router.get("/maps/data/grids", response_class=JSONResponse)
async def data_grids(
    request: Request,
    db: DbDep,
    unit: UnitQ,
    generation: GenerationQ = None,
    bbox: BboxQ = None,
    zoom: ZoomQ = None,
    geometry: bool = True,
) -> Response:
    """Grids of a unit with their measures; `bbox` filters, `zoom` simplifies. Counted at most
    once per `poll_fresh_s` seconds (2 s) for every caller asking the same: ETag, 304."""
    box = units.parse_bbox(bbox) if bbox else None
    state = request.app.state
    # Everything the answer depends on; "current" (no generation asked) also by which one is
    # current, as this worker was last told (and never older than poll_fresh_s either way).
    known, current = state.current_generation.get()
    key = ("grids", unit, generation, box, zoom, geometry, current if known else None)

    count = partial(
        layers.grid_measures_json,
        unit=unit,
        generation=generation,
        bbox=box,
        zoom=zoom,
        geometry=geometry,
        # Counted at most once a minute for every wall polling it (issue 13).
        coverage_cache=state.coverage_cache,
    )
    return await _shared(request, key, lambda: db.run(count))


@router.get("/maps/data/reports", response_class=JSONResponse)
async def data_reports(
    request: Request,
    db: DbDep,
    who: PrincipalDep,
    unit: Annotated[str | None, Query(description="unit code")] = None,
    grid: GridFilterQ = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=layers.MAX_REPORTS)] = layers.MAX_REPORTS,
) -> Response:
    """Open reports of a unit or grid (overdue=true: only late ones, latest due first). Counted
    at most once per `poll_fresh_s` seconds (2 s) for every caller asking the same: ETag, 304."""
    # Checked on every request, before any shared answer: the answer depends on the question
    # only (the key), never on who asks, and it reaches only those who may read it.
    _allow(who, CENTER_ROLES | WORKER_ROLES, grid or unit or "", "open reports")
    pool = request.app.state.intake_pool

    # The wall's poll: one statement on the async pool, the document built by the database
    # (thousands of open reports made a Python object each the worker's costliest read).
    async def count() -> bytes:
        async with db.gate.slot(), pool.connection() as aconn:
            return await layers.open_reports_geojson(
                aconn, unit, grid=grid, overdue_only=overdue, limit=limit
            )

    return await _shared(request, ("reports", unit, grid, overdue, limit), count)


@router.get("/maps/data/staff", response_class=JSONResponse)
async def data_staff(
    request: Request,
    db: DbDep,
    who: PrincipalDep,
    unit: UnitQ,
    max_age_h: Annotated[int, Query(ge=1, le=720)] = 24,
    after: Annotated[
        dt.datetime | None, Query(description="only staff whose latest fix is newer (ISO 8601)")
    ] = None,
) -> Response:
    """Staff last positions (latest patrol fix) with their age in seconds; with `after`, only
    those who moved since (the wall's update). Without `after`, counted at most once per
    `poll_fresh_s` seconds (2 s) for every caller asking the same (ages as of that count)."""
    _allow(who, CENTER_ROLES, unit, "staff positions")
    if after is not None:
        since = after if after.tzinfo else after.replace(tzinfo=dt.UTC)
        moved = await db.run(wall.staff_moved, unit, since)
        return JSONResponse(moved, media_type=GEOJSON, headers=NO_STORE)

    return await _shared(
        request,
        ("staff", unit, max_age_h),
        lambda: db.run(layers.staff_positions_json, unit, max_age_h),
    )


@router.get("/maps/data/wall", response_class=JSONResponse)
def data_wall(
    conn: ConnDep,
    who: PrincipalDep,
    unit: UnitQ,
    since: Annotated[
        str | None, Query(description="the version from the last answer: only what changed")
    ] = None,
) -> JSONResponse:
    """The wall's cases (open, and fed back awaiting verification), compact; with `since`,
    only the reports written since that version (closed ones included, to be dropped).

    A wall polls this, or calls it when the server's event stream says something changed.
    """
    _allow(who, CENTER_ROLES, unit, "the wall's cases")
    body = wall.cases(conn, unit, since)
    return JSONResponse(body, headers=NO_STORE)


@router.get("/maps/data/dashboard", response_class=JSONResponse)
def data_dashboard(
    conn: ConnDep,
    who: PrincipalDep,
    unit: UnitQ,
    days: Annotated[int, Query(description="period: 1, 7, 30 or 90 days")] = 30,
    category: Annotated[
        str | None, Query(description="a category code or family (governance, event, component)")
    ] = None,
    ranked: Annotated[
        str | None, Query(description="whose child units to score (default: unit's own)")
    ] = None,
) -> JSONResponse:
    """Headline figures, 30-day trend, mix by category and by 三事 class, and the child units'
    on-time closure over the period (the wall's ranking column)."""
    _allow(who, CENTER_ROLES, unit, "the wall's figures")
    if ranked:
        _allow(who, CENTER_ROLES, ranked, "the wall's ranking")
    return JSONResponse(
        wall.dashboard(conn, unit, days, category or None, ranked=ranked or unit), headers=NO_STORE
    )


@router.get("/maps/data/reassign")
def data_reassign(
    conn: ConnDep,
    who: PrincipalDep,
    report: Annotated[int, Query(description="the case's number")],
) -> list[dict[str, Any]]:
    """Grid workers on duty in the case's village (and your scope) who could take it over."""
    return wall.reassign_choices(conn, who, report)


@router.get("/maps/data/ranking")
def data_ranking(conn: ConnDep, unit: UnitQ) -> list[dict[str, Any]]:
    """Child units ranked worst first (overdue, then open per 100 households)."""
    return layers.ranking(conn, unit)


@router.get("/maps/data/households", response_class=JSONResponse)
def data_households(
    conn: ConnDep,
    who: PrincipalDep,
    grid: GridFilterQ = None,
    unit: Annotated[str | None, Query(description="unit code (with bbox)")] = None,
    bbox: BboxQ = None,
    limit: Annotated[int, Query(ge=1, le=layers.MAX_HOUSEHOLDS)] = layers.MAX_HOUSEHOLDS,
) -> JSONResponse:
    """Household points (no personal fields) of a grid, or of a unit inside a bbox."""
    _allow(who, REGISTER_READERS, grid or unit or "", "household points")
    if unit is not None and grid is None and bbox is None:
        raise InvalidCoordinate(
            f"unit={unit!r} without bbox= would send every household; give bbox= or use "
            "/tiles/households/{z}/{x}/{y}.mvt"
        )
    fc = layers.households(
        conn, grid=grid, unit=unit, bbox=units.parse_bbox(bbox) if bbox else None, limit=limit
    )
    return JSONResponse(fc, media_type=GEOJSON, headers=NO_STORE)


@router.get("/maps/data/worker", response_class=JSONResponse)
def data_worker(conn: ConnDep, who: PrincipalDep, grid: GridQ) -> JSONResponse:
    """What the worker page refreshes: the grid's households and open cases."""
    _allow(who, WORKER_ROLES, grid, "the worker map")
    now = dt.datetime.now(dt.UTC)
    return JSONResponse(
        jsonable_encoder(
            {
                "households": layers.households(conn, grid=grid),
                "reports": layers.open_reports(conn, grid=grid),
                # Each household's last visit and whether one is due (入户走访).
                "visits": visits.due_list(conn, who, grid),
                "handlers": cases.handlers_of_grid(conn, who, grid),
                # What a queued step says it saw (a step someone else took since is a 409).
                "fetched_at": now.isoformat(),
            }
        ),
        headers=NO_STORE,
    )


@router.get("/maps/data/labels")
def data_labels(
    conn: ConnDep,
    bbox: Annotated[str, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")],
    v: Annotated[str | None, Query(description="basemap version (for caching)")] = None,
) -> JSONResponse:
    """Place names for the basemap in a box (units, OSM places, water), with the zoom each
    appears at, and what the basemap there is drawn from (for its attribution)."""
    box = units.parse_bbox(bbox)
    body = {"labels": basemap.labels(conn, box), "sources": basemap.sources_in(conn, box)}
    cache = "public, max-age=86400" if v else "public, max-age=300"
    return JSONResponse(body, headers={"Cache-Control": cache})


@router.get("/maps/data/generations")
def data_generations(conn: ConnDep, unit: UnitQ) -> list[dict[str, Any]]:
    """Grid generations of the unit's county, newest first."""
    return layers.generations(conn, unit)
