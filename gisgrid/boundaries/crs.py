"""Which coordinate systems an import understands, and converting them to WGS84.

EPSG:4326 and EPSG:4490 (CGCS2000) are stored as they are (they agree within centimetres);
the CGCS2000 Gauss-Kruger zones EPSG:4491-4554 are projected back with PROJ; GCJ-02 and BD-09
(Chinese web maps) are converted exactly with gisgrid.datum, and only when the caller says so,
because a file cannot say it: such files are labelled EPSG:4326 or carry no CRS at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj
import shapely

from gisgrid import datum
from gisgrid.errors import InvalidCoordinate

WEB_DATUMS = {"gcj02": datum.gcj02_to_wgs84, "bd09": datum.bd09_to_wgs84}
GEOGRAPHIC = {"wgs84": 4326, "epsg:4326": 4326, "cgcs2000": 4490, "epsg:4490": 4490}
GK_EPSG = range(4491, 4555)


@dataclass(frozen=True)
class SourceCrs:
    """The CRS features arrive in: an EPSG code, or a web-map datum on top of lon/lat."""

    epsg: int | None
    web_datum: str | None = None

    @property
    def label(self) -> str:
        """How the report names it: 'EPSG:4526' or 'GCJ-02'."""
        if self.web_datum:
            return {"gcj02": "GCJ-02", "bd09": "BD-09"}[self.web_datum]
        return f"EPSG:{self.epsg}"

    @property
    def projected(self) -> bool:
        """True for a projected CRS (coordinates in metres)."""
        return self.epsg is not None and pyproj.CRS.from_epsg(self.epsg).is_projected


def parse_crs(value: str) -> SourceCrs:
    """'EPSG:4526', '4526', 'wgs84', 'cgcs2000', 'gcj02' or 'bd09' -> SourceCrs."""
    key = value.strip().lower().replace("-", "").replace("_", "")
    if key in WEB_DATUMS:
        return SourceCrs(4326, key)
    if key in GEOGRAPHIC:
        return SourceCrs(GEOGRAPHIC[key])
    code = key.removeprefix("epsg:")
    if code.isdigit():
        try:
            pyproj.CRS.from_epsg(int(code))
        except pyproj.exceptions.CRSError:
            pass
        else:
            return SourceCrs(int(code))
    raise InvalidCoordinate(
        f"crs={value!r} is not understood; use EPSG:4326, EPSG:4490 (CGCS2000), a CGCS2000 "
        "Gauss-Kruger zone EPSG:4491-4554, gcj02 (Gaode/Tencent) or bd09 (Baidu)"
    )


def from_file_crs(crs: pyproj.CRS | None) -> SourceCrs | None:
    """The SourceCrs a file declares, or None when it declares nothing usable."""
    if crs is None:
        return None
    epsg = crs.to_epsg(min_confidence=70)
    if epsg is None:
        # Shapefiles from ArcGIS often carry a .prj PROJ recognises only loosely.
        matches = crs.list_authority(min_confidence=50) if hasattr(crs, "list_authority") else []
        epsg = int(matches[0].code) if matches else None
    return SourceCrs(epsg) if epsg else None


def central_meridian(epsg: int) -> float | None:
    """The central meridian of a transverse Mercator CRS, else None."""
    op = pyproj.CRS.from_epsg(epsg).coordinate_operation
    if op is None:
        return None
    for p in op.params:
        if p.name == "Longitude of natural origin":
            return float(p.value)
    return None


def zone_half_width(epsg: int) -> float:
    """1.5 degrees for the 3-degree zones (EPSG:4513-4554), 3 for the 6-degree ones."""
    return 1.5 if 4513 <= epsg <= 4554 else 3.0


def gk_zone_for(lon: float) -> int:
    """The CGCS2000 3-degree Gauss-Kruger CRS (no zone prefix) whose central meridian is nearest."""
    cm = int(np.clip(3 * round(lon / 3), 75, 135))
    return 4534 + (cm - 75) // 3


def guess_from_coordinates(bounds: np.ndarray, county_lon: float | None) -> tuple[str, str]:
    """For a file with no CRS: ('ok', '') if it looks like lon/lat, else ('error', advice)."""
    minx, miny, maxx, maxy = bounds
    if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
        return "ok", ""
    if minx > 1e7 and maxx < 5e7 and 0 < miny < 1e7:
        zone = int(minx // 1_000_000)
        if 25 <= zone <= 45:
            return "error", (
                f"no CRS in the file; x={minx:.0f} looks like CGCS2000 3-degree Gauss-Kruger zone "
                f"{zone} (EPSG:{4513 + zone - 25}): pass --crs EPSG:{4513 + zone - 25}"
            )
        if 13 <= zone <= 23:
            return "error", (
                f"no CRS in the file; x={minx:.0f} looks like CGCS2000 6-degree Gauss-Kruger zone "
                f"{zone} (EPSG:{4491 + zone - 13}): pass --crs EPSG:{4491 + zone - 13}"
            )
    if minx > 0 and maxx < 1e6 and 0 < miny < 1e7:
        hint = f" (for this county: EPSG:{gk_zone_for(county_lon)})" if county_lon else ""
        return "error", (
            "no CRS in the file; the coordinates look like metres in a Gauss-Kruger zone without "
            f"a zone prefix: pass --crs with the zone's EPSG code, EPSG:4534-4554{hint}"
        )
    return "error", (
        f"no CRS in the file and coordinates (x {minx:.6g}..{maxx:.6g}, y {miny:.6g}..{maxy:.6g}) "
        "are neither lon/lat nor Gauss-Kruger metres: pass --crs"
    )


def to_wgs84(geoms: np.ndarray, src: SourceCrs) -> np.ndarray:
    """Every geometry converted to WGS84 lon/lat (vectorised over all vertices at once)."""
    if src.web_datum:
        fn = WEB_DATUMS[src.web_datum]
        return shapely.transform(geoms, lambda x, y: fn(x, y), interleaved=False)
    if src.epsg in (4326, 4490, None):
        return geoms
    tr = pyproj.Transformer.from_crs(src.epsg, 4490, always_xy=True)
    return shapely.transform(geoms, lambda x, y: tr.transform(x, y), interleaved=False)


def metric(geoms: np.ndarray, lon: float) -> np.ndarray:
    """WGS84 geometries projected to the CGCS2000 3-degree zone nearest lon, for areas in m2."""
    tr = pyproj.Transformer.from_crs(4490, gk_zone_for(lon), always_xy=True)
    return shapely.transform(geoms, lambda x, y: tr.transform(x, y), interleaved=False)


def from_metric(g: shapely.Geometry, lon: float) -> shapely.Geometry:
    """The inverse of metric(): a geometry in the zone nearest lon back to WGS84."""
    tr = pyproj.Transformer.from_crs(gk_zone_for(lon), 4490, always_xy=True)
    return shapely.transform(g, lambda x, y: tr.transform(x, y), interleaved=False)
