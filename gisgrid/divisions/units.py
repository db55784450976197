"""Reading administrative units and grids."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.divisions.codes import grid_code, unit_code, unit_prefix
from gisgrid.errors import InvalidCoordinate, NotFound
from gisgrid.geojson import row_feature

MAX_PAGE = 5000
# A grid's properties in the grids page, as the statement names them (then `generated`).
GRID_COLUMNS = ("code", "name", "village_code", "households", "generation")


def _unit_row(conn: Connection, code: str, geometry: bool) -> dict[str, Any]:
    full = unit_code(code)
    row = sql.one(
        conn,
        "divisions/unit",
        lambda: NotFound(f"no administrative unit has code {full} (asked for {code!r})"),
        code=full,
        prefix=unit_prefix(full),
        geometry=geometry,
    )
    return dict(row)


def get_unit(conn: Connection, code: str, geometry: bool = False) -> dict[str, Any]:
    """One unit: code, name, level, parent, counts, and its geometry if asked."""
    r = _unit_row(conn, code, geometry)
    out: dict[str, Any] = {
        "code": r["code"],
        "short_code": unit_prefix(r["code"]),
        "name": r["name"],
        "level": r["level"],
        "parent": (
            {"code": r["parent_code"], "name": r["parent_name"], "level": r["parent_level"]}
            if r["parent_code"]
            else None
        ),
        "urban_rural": r["urban_rural"],
        "children": r["children"],
        "grids": r["grids"],
        "geometry_generated": r["geom_generated"],
        "geometry_source": r["geom_source"],
        "bbox": _bbox(r["envelope"]),
    }
    if geometry:
        out["geometry"] = r["geometry"]
    return out


def unit_children(conn: Connection, code: str) -> list[dict[str, Any]]:
    """The units directly under one unit, by code; for a village, its current grids."""
    parent = get_unit(conn, code)
    if parent["level"] == "village":
        page = list_grids(conn, village=parent["code"], limit=MAX_PAGE)
        return [
            {
                "code": f["properties"]["code"],
                "name": f["properties"]["name"],
                "level": "grid",
                "parent": parent["code"],
            }
            for f in page["features"]
        ]
    rows = sql.execute(conn, "divisions/child_units", code=parent["code"]).mappings()
    return [
        {"code": r["code"], "name": r["name"], "level": r["level"], "parent": r["parent_code"]}
        for r in rows
    ]


def _bbox(envelope: dict[str, Any] | None) -> list[float] | None:
    if not envelope:
        return None
    if envelope["type"] == "Point":
        x, y = envelope["coordinates"]
        return [x, y, x, y]
    ring = envelope["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return [min(xs), min(ys), max(xs), max(ys)]


def parse_bbox(bbox: str) -> tuple[float, float, float, float]:
    """'minlon,minlat,maxlon,maxlat' -> floats, checked for order and range."""
    parts = bbox.split(",")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise InvalidCoordinate(
            f"bbox={bbox!r} must be four numbers: minlon,minlat,maxlon,maxlat"
        ) from None
    if not (
        -180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90
    ):
        hint = " (did you swap lon and lat?)" if abs(minx) <= 90 and abs(miny) > 90 else ""
        raise InvalidCoordinate(f"bbox={bbox!r} is outside lon [-180, 180], lat [-90, 90]{hint}")
    if minx > maxx or miny > maxy:
        raise InvalidCoordinate(
            f"bbox={bbox!r} has min greater than max; order is minlon,minlat,maxlon,maxlat"
        )
    return minx, miny, maxx, maxy


def list_grids(
    conn: Connection,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    village: str | None = None,
    unit: str | None = None,
    code: str | None = None,
    limit: int = 100,
    offset: int = 0,
    as_of: dt.datetime | None = None,
) -> dict[str, Any]:
    """Current grids (or those valid at as_of) as a GeoJSON FeatureCollection, filtered, paged."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidCoordinate(f"limit={limit} must be between 1 and {MAX_PAGE}")
    if offset < 0:
        raise InvalidCoordinate(f"offset={offset} must not be negative")
    prefix = None
    if village is not None:
        prefix = unit_code(village)
        if len(village.strip()) != 12:
            raise NotFound(
                f"village={village!r} is not a 12-digit village code; use unit= for towns"
            )
    elif unit is not None:
        prefix = unit_prefix(unit)
    minx, miny, maxx, maxy = bbox if bbox else (None, None, None, None)
    rows = sql.rows(
        conn,
        "divisions/grids",
        code=grid_code(code) if code else None,
        prefix=prefix,
        minx=minx,
        miny=miny,
        maxx=maxx,
        maxy=maxy,
        limit=limit,
        offset=offset,
        as_of=as_of,
    )
    features = [
        row_feature(r, "code", GRID_COLUMNS, generated=r["geom_generated"])
        for r in rows
        if r["code"] is not None  # past the end: the one row that only carries the count
    ]
    return {
        "type": "FeatureCollection",
        "numberMatched": rows[0]["matched"],
        "numberReturned": len(features),
        "features": features,
    }


def get_grid(conn: Connection, code: str, as_of: dt.datetime | None = None) -> dict[str, Any]:
    """One current grid (or the one valid at as_of) as a GeoJSON Feature."""
    page = list_grids(conn, code=code, limit=1, as_of=as_of)
    if not page["features"]:
        when = f" on {as_of.isoformat()}" if as_of else ""
        raise NotFound(f"no {'current ' if not as_of else ''}grid has code {code}{when}")
    return page["features"][0]


def first_county(conn: Connection) -> str:
    """The code of the first county loaded (lowest code), or NotFound saying how to load one."""
    code = sql.scalar(conn, "divisions/first_county")
    if code is None:
        raise NotFound("no county is loaded yet; run `gisgrid demo` or import one")
    return str(code)


def grids_in_scope(conn: Connection, scope: str, limit: int = 200) -> list[dict[str, Any]]:
    """Current grids whose code starts with `scope`: code, name, households."""
    return [dict(r) for r in sql.rows(conn, "divisions/grids_in_scope", scope=scope, limit=limit)]
