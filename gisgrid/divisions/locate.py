"""Point-in-grid lookup: which grid, village, town and county a point is in, and who serves it."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from psycopg import AsyncConnection
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.errors import InvalidCoordinate, OutsideCoverage


def check_lon_lat(lon: float, lat: float) -> None:
    """Raise InvalidCoordinate naming the bad value, with a hint when lon and lat look swapped."""
    for name, value in (("lon", lon), ("lat", lat)):
        if not math.isfinite(value):
            raise InvalidCoordinate(f"{name}={value} is not a finite number")
    if not -90 <= lat <= 90:
        hint = "; did you swap lon and lat?" if -90 <= lon <= 90 and -180 <= lat <= 180 else ""
        raise InvalidCoordinate(f"lat={lat} is outside [-90, 90]{hint}")
    if not -180 <= lon <= 180:
        raise InvalidCoordinate(f"lon={lon} is outside [-180, 180]")


def locate(
    conn: Connection, lon: float, lat: float, as_of: dt.datetime | None = None
) -> dict[str, Any]:
    """The grid covering (lon, lat) in WGS84 (current, or valid at as_of), its units and staff."""
    check_lon_lat(lon, lat)
    row = sql.first(conn, "divisions/locate", lon=lon, lat=lat, as_of=as_of)
    if row is None:
        raise OutsideCoverage(_outside_message(conn, lon, lat, as_of))
    return _answer(lon, lat, as_of, row, row["staff"])


async def locate_async(
    aconn: AsyncConnection[Any], lon: float, lat: float, as_of: dt.datetime | None = None
) -> dict[str, Any]:
    """`locate` on an async connection in one round trip (the service's hot path: no thread,
    no transaction of its own); the same answer, or OutsideCoverage with the same message."""
    check_lon_lat(lon, lat)
    row = await sql.afirst(aconn, "divisions/locate", lon=lon, lat=lat, as_of=as_of)
    if row is None:
        raise OutsideCoverage(await _outside_message_async(aconn, lon, lat, as_of))
    return _answer(lon, lat, as_of, row, row["staff"])


def _answer(
    lon: float, lat: float, as_of: dt.datetime | None, row: Any, staff: Any
) -> dict[str, Any]:
    return {
        "point": {"lon": lon, "lat": lat, "datum": "WGS84"},
        "grid": {"code": row["code"], "name": row["name"], "generated": row["geom_generated"]},
        "as_of": as_of.isoformat() if as_of else None,
        "village": {"code": row["village_code"], "name": row["village_name"]},
        "town": {"code": row["town_code"], "name": row["town_name"]},
        "county": {"code": row["county_code"], "name": row["county_name"]},
        "staff": [dict(s) for s in staff],
    }


async def _outside_message_async(
    aconn: AsyncConnection[Any], lon: float, lat: float, as_of: dt.datetime | None = None
) -> str:
    when = f" on {as_of.isoformat()}" if as_of else ""
    msg = f"lon={lon}, lat={lat} is outside every grid this service holds{when}"
    if -90 <= lon <= 90 and -180 <= lat <= 180:
        swapped = await sql.afirst(aconn, "divisions/locate", lon=lat, lat=lon, as_of=as_of)
        if swapped is not None:
            return (
                msg + f"; lon={lat}, lat={lon} is inside grid {swapped['code']}: did you swap them?"
            )
    counties = await sql.afirst(aconn, "divisions/served_counties")
    served = next(iter(counties.values())) if counties else None
    return msg + f" (served counties: {served or 'none loaded'})"


def _outside_message(
    conn: Connection, lon: float, lat: float, as_of: dt.datetime | None = None
) -> str:
    when = f" on {as_of.isoformat()}" if as_of else ""
    msg = f"lon={lon}, lat={lat} is outside every grid this service holds{when}"
    # A swapped pair that lands in a grid is the commonest cause; say so when it does.
    if -90 <= lon <= 90 and -180 <= lat <= 180:
        swapped = sql.execute(conn, "divisions/locate", lon=lat, lat=lon, as_of=as_of).first()
        if swapped is not None:
            return msg + f"; lon={lat}, lat={lon} is inside grid {swapped.code}: did you swap them?"
    counties = sql.execute(conn, "divisions/served_counties").scalar_one()
    return msg + f" (served counties: {counties or 'none loaded'})"
