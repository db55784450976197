"""Administrative units (county, town/street, village/community) and grids."""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import ConnDep, ReportConfigDep
from api.params import Offset, aware
from api.security import PrincipalDep
from gisgrid.divisions import units
from gisgrid.divisions.units import MAX_PAGE
from gisgrid.reports import bulletin, rankings, scores
from maps import bulletin as bulletin_page

router = APIRouter(prefix="/api/v1", tags=["units"])

GEOJSON = "application/geo+json"
UnitCode = Annotated[str, Path(description="6-digit county, 9-digit town or 12-digit village code")]


@router.get("/units/{code}")
def get_unit(
    conn: ConnDep,
    code: UnitCode,
    geometry: Annotated[bool, Query(description="include the unit's polygon")] = False,
) -> dict[str, Any]:
    """An administrative unit: code, name, level, parent, counts."""
    return units.get_unit(conn, code, geometry=geometry)


@router.get("/units/{code}/children")
def get_children(conn: ConnDep, code: UnitCode) -> list[dict[str, Any]]:
    """The units directly under a unit (a village's children are its grids)."""
    return units.unit_children(conn, code)


@router.get("/units/{code}/scores")
def get_scores(
    conn: ConnDep,
    who: PrincipalDep,
    config: ReportConfigDep,
    code: UnitCode,
    start: Annotated[
        dt.datetime | None, Query(description="from (a date without a zone is China time)")
    ] = None,
    end: Annotated[dt.datetime | None, Query(description="until, exclusive; default now")] = None,
    by: Annotated[
        str,
        Query(
            description="rows by children (default), towns, villages, grids, workers "
            "(signed-in staff only: names) or departments"
        ),
    ] = "children",
) -> dict[str, Any]:
    """Closure (结案率), on-time closure (按期结案率), solved, satisfaction and reopen rates, mean
    handling time in working hours and overdue cases of a unit and each row under it, for the
    cases that fell due in the period (default: the last 30 days), ranked; definitions included."""
    return scores.unit_scores(conn, code, aware(start), aware(end), by=by, who=who, config=config)


MonthQ = Annotated[
    str | None,
    Query(
        description="YYYY-MM, China time; default the last complete month",
        examples=["2025-05"],
        pattern=r"^\d{4}-\d{2}$",
    ),
]


@router.get("/units/{code}/triage")
def get_triage(
    conn: ConnDep,
    code: UnitCode,
    start: Annotated[dt.datetime | None, Query(description="from; default 30 days ago")] = None,
    end: Annotated[dt.datetime | None, Query(description="until, exclusive; default now")] = None,
) -> dict[str, Any]:
    """三事分流: cases received in the period by class (自家事, 大家事, 公家事), for a unit and each
    unit under it, and where each class goes."""
    return scores.unit_triage(conn, code, aware(start), aware(end))


@router.get("/units/{code}/redblack")
def get_red_black(
    conn: ConnDep,
    who: PrincipalDep,
    config: ReportConfigDep,
    code: UnitCode,
    month: MonthQ = None,
) -> dict[str, Any]:
    """Red and black lists (红黑榜) of a month: towns, villages, workers and departments ranked by
    the county's rules (default: on-time closure rate, top and bottom 3, a minimum of cases).
    Signed-in staff whose scope covers the unit (workers are named)."""
    return rankings.red_black(conn, who, code, month, config)


BULLETIN_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "png": "image/png",
}


@router.get(
    "/units/{code}/bulletin",
    response_model=None,
    responses={200: {"content": {t: {} for t in BULLETIN_TYPES.values()}}},
)
def get_bulletin(
    conn: ConnDep,
    who: PrincipalDep,
    config: ReportConfigDep,
    code: UnitCode,
    month: MonthQ = None,
    format: Annotated[
        Literal["json", "csv", "html", "png"],
        Query(description="json, csv, html (printable A4 page) or png (the map)"),
    ] = "json",
) -> Response | dict[str, Any]:
    """The monthly bulletin (通报) of a unit: its scores, its children ranked, departments,
    三事分流, red and black lists and a map; the same figures as /scores for the month."""
    b = bulletin.monthly_bulletin(conn, who, code, month, config)
    name = f"gisgrid-bulletin-{b['unit']['code']}-{b['month']}"
    if format == "json":
        return b
    if format == "csv":
        return Response(
            bulletin.bulletin_csv(b),
            media_type=BULLETIN_TYPES["csv"],
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    png = bulletin_page.render_png(b)
    if format == "png":
        return Response(png, media_type="image/png")
    return HTMLResponse(bulletin_page.render_html(b, png))


@router.get("/grids", response_class=JSONResponse, responses={200: {"content": {GEOJSON: {}}}})
def list_grids(
    conn: ConnDep,
    bbox: Annotated[
        str | None,
        Query(
            description="minlon,minlat,maxlon,maxlat (WGS84)", examples=["112.0,23.1,112.2,23.3"]
        ),
    ] = None,
    village: Annotated[str | None, Query(description="12-digit village code")] = None,
    unit: Annotated[str | None, Query(description="any unit code: county, town or village")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Offset = 0,
    as_of: Annotated[dt.datetime | None, Query(description="grids valid on this date")] = None,
) -> JSONResponse:
    """Current grids as a GeoJSON FeatureCollection."""
    page = units.list_grids(
        conn,
        bbox=units.parse_bbox(bbox) if bbox else None,
        village=village,
        unit=unit,
        limit=limit,
        offset=offset,
        as_of=aware(as_of),
    )
    return JSONResponse(page, media_type=GEOJSON)


@router.get(
    "/grids/{code}", response_class=JSONResponse, responses={200: {"content": {GEOJSON: {}}}}
)
def get_grid(
    conn: ConnDep,
    code: Annotated[str, Path(description="15-digit grid code")],
    as_of: Annotated[dt.datetime | None, Query(description="the grid valid on this date")] = None,
) -> JSONResponse:
    """One current grid (or the one valid on as_of) as a GeoJSON Feature."""
    return JSONResponse(units.get_grid(conn, code, as_of=aware(as_of)), media_type=GEOJSON)
