"""Administrative units (county, town/street, village/community) and grids."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from api.deps import ConnDep
from api.params import Offset, aware
from gisgrid.divisions import units
from gisgrid.divisions.units import MAX_PAGE
from gisgrid.reports import scores

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
    code: UnitCode,
    start: Annotated[
        dt.datetime | None, Query(description="from (a date without a zone is China time)")
    ] = None,
    end: Annotated[dt.datetime | None, Query(description="until, exclusive; default now")] = None,
) -> dict[str, Any]:
    """Closure rate (结案率) and on-time closure rate (按期结案率) of a unit and each unit under it,
    for the reports that fell due in the period (default: the last 30 days), ranked."""
    return scores.unit_scores(conn, code, aware(start), aware(end))


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
