"""Mapbox vector tiles from PostGIS (ST_AsMVT) for grids, households and reports.

Grid tiles of a generation never change (a redraw makes a new generation), so they are kept in
an in-memory LRU keyed by generation; households and reports change and are built every time.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.errors import InvalidCoordinate, NotFound

LAYERS = ("grids", "households", "reports")
MAX_ZOOM = 22
# Below these zooms a tile would cover too many points to be useful; the pages show grids there.
MIN_ZOOM = {"grids": 0, "households": 12, "reports": 6}
STATEMENTS = {
    "grids": "mapdata/tile_grids",
    "households": "mapdata/tile_households",
    "reports": "mapdata/tile_reports",
}


@dataclass(frozen=True)
class Tile:
    """An encoded tile and whether it came from the cache."""

    data: bytes
    cached: bool
    generation: int | None


class TileCache:
    """A thread-safe LRU of encoded tiles, bounded by total bytes."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[object, ...]) -> bytes | None:
        """The tile under key, marked recently used, or None."""
        with self._lock:
            data = self._items.get(key)
            if data is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return data

    def put(self, key: tuple[object, ...], data: bytes) -> None:
        """Store a tile, evicting the least recently used beyond max_bytes."""
        if len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._items[key] = data
            self._bytes += len(data)
            while self._bytes > self.max_bytes:
                _, gone = self._items.popitem(last=False)
                self._bytes -= len(gone)

    def clear(self) -> None:
        """Drop every tile."""
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


def check_tile(layer: str, z: int, x: int, y: int) -> None:
    """Raise InvalidCoordinate naming the bad part of a z/x/y address or layer."""
    if layer not in LAYERS:
        raise NotFound(f"tile layer {layer!r} does not exist; layers: {list(LAYERS)}")
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidCoordinate(f"z={z} must be between 0 and {MAX_ZOOM}")
    n = 2**z
    if not (0 <= x < n and 0 <= y < n):
        raise InvalidCoordinate(f"x={x}, y={y} must be between 0 and {n - 1} at z={z}")


def current_generation_id(conn: Connection) -> int | None:
    """The newest current generation (the one whose grids have no valid_to)."""
    row = sql.execute(conn, "mapdata/current_generation").first()
    return int(row[0]) if row else None


def cached_tile(
    cache: TileCache, layer: str, z: int, x: int, y: int, generation: int | None
) -> Tile | None:
    """A grid tile of a named generation straight from the cache, without touching the database."""
    if layer != "grids" or generation is None:
        return None
    check_tile(layer, z, x, y)
    hit = cache.get(("grids", generation, z, x, y))
    return Tile(hit, True, generation) if hit is not None else None


def get_tile(
    conn: Connection,
    layer: str,
    z: int,
    x: int,
    y: int,
    *,
    generation: int | None = None,
    cache: TileCache | None = None,
    scope: str = "\x00",
) -> Tile:
    """One MVT tile; grid tiles are looked up in `cache` first (keyed by generation).

    Households and reports are limited to grids under `scope` (a grid-code prefix) inside the
    SQL; the default matches nothing, so a caller that forgets the scope gets an empty tile.
    """
    check_tile(layer, z, x, y)
    if z < MIN_ZOOM[layer]:
        return Tile(b"", False, None)
    if layer == "grids":
        if generation is None:
            generation = current_generation_id(conn)
            if generation is None:
                return Tile(b"", False, None)
        key = ("grids", generation, z, x, y)
        if cache is not None:
            hit = cache.get(key)
            if hit is not None:
                return Tile(hit, True, generation)
        data = _build(conn, STATEMENTS["grids"], z, x, y, generation=generation)
        if cache is not None:
            cache.put(key, data)
        return Tile(data, False, generation)
    return Tile(_build(conn, STATEMENTS[layer], z, x, y, scope=scope), False, None)


async def build_tile_async(
    pool: AsyncConnectionPool,
    cache: TileCache,
    layer: str,
    z: int,
    x: int,
    y: int,
    generation: int | None,
    scope: str,
) -> Tile:
    """One tile on the async pool (the HTTP path of a cache miss): one round trip, no thread,
    no transaction of its own (the pool is in autocommit and a tile only reads)."""
    check_tile(layer, z, x, y)
    if z < MIN_ZOOM[layer]:
        return Tile(b"", False, None)
    async with pool.connection() as aconn:
        if layer != "grids":
            row = await sql.afirst(aconn, STATEMENTS[layer], z=z, x=x, y=y, scope=scope)
            return Tile(_tile_bytes(row), False, None)
        if generation is None:
            current = await sql.afirst(aconn, "mapdata/current_generation")
            if current is None:
                return Tile(b"", False, None)
            generation = int(current["id"])
        key = ("grids", generation, z, x, y)
        hit = cache.get(key)
        if hit is not None:
            return Tile(hit, True, generation)
        row = await sql.afirst(aconn, STATEMENTS["grids"], z=z, x=x, y=y, generation=generation)
    data = _tile_bytes(row)
    cache.put(key, data)
    return Tile(data, False, generation)


def _tile_bytes(row: dict[str, object] | None) -> bytes:
    data = next(iter(row.values())) if row else None
    return bytes(data) if data else b""  # type: ignore[call-overload]


def _build(conn: Connection, statement: str, z: int, x: int, y: int, **params: object) -> bytes:
    data = sql.scalar(conn, statement, z=z, x=x, y=y, **params)
    return bytes(data) if data else b""


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The Web Mercator (XYZ) tile holding a WGS84 point at zoom z."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """A tile's WGS84 bbox: minlon, minlat, maxlon, maxlat."""
    n = 2**z

    def lat(yy: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * yy / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)
