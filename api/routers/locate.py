"""Which grid is this point in?"""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ConnDep
from api.params import aware
from gisgrid.datum import to_wgs84
from gisgrid.divisions import locate as lookup

router = APIRouter(prefix="/api/v1", tags=["locate"])


@router.get("/locate")
def locate(
    conn: ConnDep,
    lon: Annotated[float, Query(description="longitude, e.g. 112.0")],
    lat: Annotated[float, Query(description="latitude, e.g. 23.2")],
    datum: Annotated[
        str, Query(description="wgs84 (GPS), cgcs2000, gcj02 (Gaode/Tencent) or bd09 (Baidu)")
    ] = "wgs84",
    as_of: Annotated[
        dt.datetime | None,
        Query(description="answer as on this date (ISO 8601, e.g. 2024-06-01T00:00:00+08:00)"),
    ] = None,
) -> dict[str, Any]:
    """The grid, village, town and county covering a point, and the grid's staff."""
    lookup.check_lon_lat(lon, lat)
    x, y = to_wgs84(lon, lat, datum)
    result = lookup.locate(conn, float(x), float(y), as_of=aware(as_of))
    result["point"]["input"] = {"lon": lon, "lat": lat, "datum": datum}
    return result
