"""Which grid is this point in?"""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ConnDep
from gisgrid import locate as lookup
from gisgrid.datum import to_wgs84

router = APIRouter(prefix="/api/v1", tags=["locate"])


@router.get("/locate")
def locate(
    conn: ConnDep,
    lon: Annotated[float, Query(description="longitude, e.g. 112.0")],
    lat: Annotated[float, Query(description="latitude, e.g. 23.2")],
    datum: Annotated[
        str, Query(description="wgs84 (GPS), cgcs2000, gcj02 (Gaode/Tencent) or bd09 (Baidu)")
    ] = "wgs84",
) -> dict[str, Any]:
    """The grid, village, town and county covering a point, and the grid's staff."""
    lookup.check_lon_lat(lon, lat)
    x, y = to_wgs84(lon, lat, datum)
    result = lookup.locate(conn, float(x), float(y))
    result["point"]["input"] = {"lon": lon, "lat": lat, "datum": datum}
    return result
