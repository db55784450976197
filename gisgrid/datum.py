"""Conversions between WGS84 and the Chinese web-map datums GCJ-02 (Gaode) and BD-09 (Baidu).

Every function takes lon/lat as numpy arrays (any shape, broadcast together) or plain numbers
and returns arrays of the broadcast shape; 0-d input comes back as numpy scalars.

GCJ-02 is WGS84 plus a deliberately obfuscated offset defined by a public forward formula
(Krasovsky ellipsoid, ``_offset_lat``/``_offset_lon`` polynomials). It has no closed-form
inverse, so ``gcj02_to_wgs84`` inverts the forward formula by fixed-point iteration to 1e-9
degrees (about 0.1 mm). BD-09 is a further closed-form twist of GCJ-02. Outside the rough
bounding box of China neither datum applies an offset.
"""

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from gisgrid.errors import InvalidCoordinate

FloatArray = NDArray[np.float64]
# float in -> float out, array in -> array out (ints are accepted as floats).
Coord = TypeVar("Coord", float, FloatArray)
CoordFunction = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]

# Krasovsky 1940 ellipsoid, as used by the published GCJ-02 algorithm.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

# The rough bounding box used by every public implementation; matching it keeps our
# coordinates identical to what Gaode/Baidu SDKs produce near the border.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

_INVERSE_TOLERANCE_DEG = 1e-9
_INVERSE_MAX_ITERATIONS = 30

WGS84_DATUMS = frozenset({"wgs84", "cgcs2000", "epsg:4326", "epsg:4490"})
DATUMS = WGS84_DATUMS | {"gcj02", "bd09"}


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    # Broadcast once so every function returns the same shape for both outputs.
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)


def _out(x: FloatArray, y: FloatArray) -> tuple[Any, Any]:
    # arr[()] turns a 0-d array into a numpy scalar and leaves n-d arrays unchanged.
    return x[()], y[()]


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where a point lies outside China's rough bounding box (no datum offset there)."""
    x, y = _as_arrays(lon, lat)
    return (x < _CHINA_LON[0]) | (x > _CHINA_LON[1]) | (y < _CHINA_LAT[0]) | (y > _CHINA_LAT[1])


def _offset_lat(x: FloatArray, y: FloatArray) -> FloatArray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _offset_lon(x: FloatArray, y: FloatArray) -> FloatArray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj02_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    # The forward offset (degrees) to add to WGS84; zero outside China.
    dlat = _offset_lat(lon - 105.0, lat - 35.0)
    dlon = _offset_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Convert WGS84 lon/lat to GCJ-02 (the published forward formula)."""
    x, y = _as_arrays(lon, lat)
    dx, dy = _gcj02_offset(x, y)
    return _out(x + dx, y + dy)


def gcj02_to_wgs84(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Convert GCJ-02 lon/lat to WGS84, inverting the forward formula to 1e-9 degrees."""
    x, y = _as_arrays(lon, lat)
    # Work on flat arrays: boolean-mask assignment needs at least one dimension.
    shape, gx, gy = x.shape, x.ravel(), y.ravel()
    # The offset changes by well under 1e-4 of a degree per degree, so the fixed-point
    # iteration w <- w - (forward(w) - g) contracts by ~1e-4 per step: 3-4 steps suffice.
    wx, wy = gx.copy(), gy.copy()
    active = ~out_of_china(gx, gy) & np.isfinite(gx) & np.isfinite(gy)
    for _ in range(_INVERSE_MAX_ITERATIONS):
        if not active.any():
            break
        ax, ay = wx[active], wy[active]
        dx, dy = _gcj02_offset(ax, ay)
        ex, ey = ax + dx - gx[active], ay + dy - gy[active]
        wx[active], wy[active] = ax - ex, ay - ey
        still = (np.abs(ex) >= _INVERSE_TOLERANCE_DEG) | (np.abs(ey) >= _INVERSE_TOLERANCE_DEG)
        # Only the points that have not converged are iterated again.
        active[active] = still
    return _out(wx.reshape(shape), wy.reshape(shape))


def gcj02_to_bd09(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Convert GCJ-02 lon/lat to BD-09 (Baidu's closed-form forward formula)."""
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    bx, by = z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006
    outside = out_of_china(x, y)
    return _out(np.where(outside, x, bx), np.where(outside, y, by))


def bd09_to_gcj02(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Convert BD-09 lon/lat to GCJ-02 (the closed-form inverse, good to ~1e-6 degrees)."""
    bx, by = _as_arrays(lon, lat)
    x, y = bx - 0.0065, by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    gx, gy = z * np.cos(theta), z * np.sin(theta)
    outside = out_of_china(bx, by)
    return _out(np.where(outside, bx, gx), np.where(outside, by, gy))


def bd09_to_wgs84(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Convert BD-09 lon/lat to WGS84 (via GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Convert WGS84 lon/lat to BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def to_wgs84(lon: Coord, lat: Coord, datum: str) -> tuple[Coord, Coord]:
    """Convert lon/lat in ``datum`` (wgs84, cgcs2000, epsg:4326, epsg:4490, gcj02, bd09) to WGS84.

    CGCS2000 (EPSG:4490, Tianditu) is returned unchanged: its realisation differs from WGS84
    by a few centimetres, far below GPS and map accuracy, so treating them as equal is standard.
    """
    key = datum.strip().lower() if isinstance(datum, str) else datum
    if key in WGS84_DATUMS:
        x, y = _as_arrays(lon, lat)
        return _out(x, y)
    if key == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if key == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise InvalidCoordinate(
        f"datum={datum!r} is not supported; use one of {', '.join(sorted(DATUMS))} "
        "(case-insensitive)"
    )


def transform_geometry(geom: shapely.Geometry, fn: CoordFunction) -> shapely.Geometry:
    """Apply a vectorised (lon, lat) -> (lon, lat) function to every vertex of a geometry (2D)."""
    # shapely calls fn once with all vertices as two arrays, so this stays vectorised.
    return shapely.transform(geom, fn, include_z=False, interleaved=False)
