"""OGC API - Features collections over grids and administrative units (what QGIS/GDAL read)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.errors import InvalidCoordinate, NotFound
from gisgrid.geojson import row_feature

MAX_LIMIT = 5000
COLLECTIONS = {
    "grids": (
        "Grids (网格)",
        "Grid versions: current by default; datetime= selects the versions valid then.",
    ),
    "units": (
        "Administrative units",
        "County (区县), towns/streets (乡镇/街道) and villages/communities (村/社区).",
    ),
}
UNIT_LEVELS = ("county", "town", "village")


def parse_datetime(value: str | None) -> tuple[bool, dt.datetime | None, dt.datetime | None]:
    """OGC datetime (instant, 'a/b', '../b', 'a/..') -> (current_only, start, end)."""
    if value is None or not value.strip():
        return True, None, None

    def one(part: str) -> dt.datetime | None:
        part = part.strip()
        if part in ("", ".."):
            return None
        try:
            when = dt.datetime.fromisoformat(part.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidCoordinate(
                f"datetime={value!r}: {part!r} is not an RFC 3339 date or date-time; use e.g. "
                "2024-06-01T00:00:00Z, or an interval 2024-01-01T00:00:00Z/.."
            ) from None
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)

    if "/" in value:
        start, end = (one(p) for p in value.split("/", 1))
        if start and end and start > end:
            raise InvalidCoordinate(f"datetime={value!r}: the interval ends before it starts")
        return False, start, end
    instant = one(value)
    return False, instant, instant


def check_collection(collection: str) -> None:
    """Raise NotFound naming the collections served."""
    if collection not in COLLECTIONS:
        raise NotFound(f"no collection {collection!r}; collections: {', '.join(COLLECTIONS)}")


def collection_extent(conn: Connection, collection: str) -> dict[str, Any]:
    """Spatial (CRS84 bbox) and, for grids, temporal extent of a collection."""
    check_collection(collection)
    if collection == "grids":
        row = sql.execute(conn, "mapdata/grid_extent").one()
    else:
        row = sql.execute(conn, "mapdata/unit_extent").one()
    extent: dict[str, Any] = {
        "spatial": {
            "bbox": [list(row[:4])] if row[0] is not None else [[-180, -90, 180, 90]],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        }
    }
    if collection == "grids":
        extent["temporal"] = {
            "interval": [
                [row[4].isoformat() if row[4] else None, row[5].isoformat() if row[5] else None]
            ],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return extent


def _grid_feature(r: Any) -> dict[str, Any]:
    return row_feature(
        r,
        "id",
        ("code", "name", "village_code", "generation"),
        valid_from=r["valid_from"].isoformat(),
        valid_to=r["valid_to"].isoformat() if r["valid_to"] else None,
        generated=r["geom_generated"],
    )


def _unit_feature(r: Any) -> dict[str, Any]:
    return row_feature(
        r,
        "code",
        ("code", "name", "level", "parent_code", "urban_rural"),
        generated=r["geom_generated"],
    )


def items(
    conn: Connection,
    collection: str,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int = 100,
    offset: int = 0,
    datetime: str | None = None,
    level: str | None = None,
) -> dict[str, Any]:
    """A page of a collection as a GeoJSON FeatureCollection with numberMatched."""
    check_collection(collection)
    if limit < 1 or offset < 0:
        raise InvalidCoordinate(f"limit={limit} must be >= 1 and offset={offset} >= 0")
    limit = min(limit, MAX_LIMIT)  # OGC API: a server caps limit rather than refusing it
    minx, miny, maxx, maxy = bbox if bbox else (None, None, None, None)
    params: dict[str, Any] = {
        "minx": minx,
        "miny": miny,
        "maxx": maxx,
        "maxy": maxy,
        "limit": limit,
        "offset": offset,
    }
    if collection == "grids":
        current, start, end = parse_datetime(datetime)
        params |= {"id": None, "code": None, "current": current, "start": start, "end": end}
        rows = sql.rows(conn, "mapdata/features_grids", **params)
        features = [_grid_feature(r) for r in rows if r["id"] is not None]
    else:
        if level is not None and level not in UNIT_LEVELS:
            raise InvalidCoordinate(f"level={level!r} must be one of {', '.join(UNIT_LEVELS)}")
        params |= {"code": None, "level": level}
        rows = sql.rows(conn, "mapdata/features_units", **params)
        features = [_unit_feature(r) for r in rows if r["code"] is not None]
    # Past the end the one row left carries only the count (no feature).
    matched = int(rows[0]["matched"])
    return {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "features": features,
    }


def item(conn: Connection, collection: str, feature_id: str) -> dict[str, Any]:
    """One feature: a grid by row id (or current grid by 15-digit code), a unit by code."""
    check_collection(collection)
    base = {"minx": None, "miny": None, "maxx": None, "maxy": None, "limit": 1, "offset": 0}
    if collection == "grids":
        fid = feature_id.strip()
        by_code = len(fid) == 15
        # Row ids are PostgreSQL integers: a longer number names no grid.
        if not fid.isdigit() or (not by_code and int(fid) > 2**31 - 1):
            raise NotFound(f"grid feature id {feature_id!r} is not a row id or a 15-digit code")
        params = base | {
            "id": None if by_code else int(fid),
            "code": fid if by_code else None,
            "current": by_code,
            "start": None,
            "end": None,
        }
        row = sql.first(conn, "mapdata/features_grids", **params)
        if row is None or row["id"] is None:
            raise NotFound(f"no grid feature {feature_id!r}")
        return _grid_feature(row)
    row = sql.first(conn, "mapdata/features_units", **base | {"code": feature_id, "level": None})
    if row is None or row["code"] is None:
        raise NotFound(f"no administrative unit {feature_id!r} (use the 12-digit code)")
    return _unit_feature(row)
