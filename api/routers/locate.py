"""Which grid is this point in?"""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.deps import DbDep
from api.params import aware
from gisgrid.datum import to_wgs84
from gisgrid.divisions import locate as lookup

router = APIRouter(prefix="/api/v1", tags=["locate"])


@router.get("/locate")
async def locate(
    request: Request,
    db: DbDep,
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
    # One statement on the async pool inside a database slot, as tile misses: a quarter of a
    # county's requests are locates, and a thread, a transaction and two queries each made
    # them the costliest reads of the service (issue 13).
    async with db.gate.slot(), request.app.state.intake_pool.connection() as aconn:
        result = await lookup.locate_async(aconn, float(x), float(y), as_of=aware(as_of))
    result["point"]["input"] = {"lon": lon, "lat": lat, "datum": datum}
    return result
