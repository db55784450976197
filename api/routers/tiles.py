"""Mapbox vector tiles (ST_AsMVT): the service's own basemap, grids, households and reports."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.types import Scope, Send

from api.deps import DbDep
from api.params import MAX_INT, GenerationQ
from api.security import PrincipalDep
from gisgrid.access.accounts import REGISTER_READERS, Role
from gisgrid.mapdata import basemap, tiles

router = APIRouter(tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"
MVT_B = MVT.encode()
# How a tile route is described in the OpenAPI document: raw bytes of the MVT media type.
MVT_ROUTE: dict[str, Any] = {"response_class": Response, "responses": {200: {"content": {MVT: {}}}}}


@router.get("/tiles/basemap/{z}/{x}/{y}.mvt", **MVT_ROUTE)
async def get_basemap_tile(
    request: Request,
    db: DbDep,
    z: Annotated[int, Path(ge=0, le=tiles.MAX_ZOOM)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
    v: Annotated[str | None, Query(description="basemap version (pages put it in the URL)")] = None,
) -> Response:
    """The service's own basemap: water, green, waterways, buildings, roads, unit boundaries.

    Public (a picture of the place, nothing personal). With `v` (the version a page was given)
    the tile never changes and is cached for a year; without it, for five minutes.
    """
    cache: tiles.TileCache = request.app.state.tile_cache
    stamp = v or "current"
    data = basemap.cached_tile(cache, stamp, z, x, y) if v else None
    hit = data is not None
    if data is None:
        data = await db.run_engine(basemap.build_tile, cache, stamp, z, x, y)
    policy = "public, max-age=31536000, immutable" if v else "public, max-age=300"
    headers = {"Cache-Control": policy, "X-Tile-Cache": "hit" if hit else "miss"}
    return Response(data, media_type=MVT, headers=headers)


@router.get("/tiles/{layer}/{z}/{x}/{y}.mvt", **MVT_ROUTE)
async def get_tile(
    request: Request,
    db: DbDep,
    who: PrincipalDep,
    layer: Annotated[str, Path(description="grids, households or reports")],
    z: Annotated[int, Path(ge=0, le=tiles.MAX_ZOOM)],
    x: Annotated[int, Path(ge=0, le=MAX_INT)],
    y: Annotated[int, Path(ge=0, le=MAX_INT)],
    generation: GenerationQ = None,
) -> Response:
    """One vector tile. Grid tiles of a named generation never change and are cached long."""
    if layer != "grids":
        # Households and cases are shown to accounts only, and only inside their scope.
        who.require(REGISTER_READERS, f"{layer} tiles")
        if layer == "reports":
            # A department sees the cases sent to it (its inbox), not every case of the county.
            who.require(REGISTER_READERS - {Role.department_handler}, "report tiles")
    cache: tiles.TileCache = request.app.state.tile_cache
    gen = generation
    if layer == "grids" and generation is None:
        # The plain URL: the current generation as this process was last told (no query).
        known, current = request.app.state.current_generation.get()
        if known:
            if current is None:
                tiles.check_tile(layer, z, x, y)
                return _response(tiles.Tile(b"", False, None), layer, pinned=False)
            gen = current
    # A cache hit needs no connection at all: that is what makes warm grid tiles cheap.
    tile = tiles.cached_tile(cache, layer, z, x, y, gen)
    if tile is None:
        # Misses take one round trip on the async pool (no thread), inside a database slot like
        # every other query, so a flood of cold tiles cannot starve the reports of connections.
        pool = request.app.state.intake_pool
        async with db.gate.slot():
            tile = await tiles.build_tile_async(pool, cache, layer, z, x, y, gen, who.scope)
    return _response(tile, layer, pinned=generation is not None)


def _response(tile: tiles.Tile, layer: str, pinned: bool) -> Response:
    return Response(tile.data, media_type=MVT, headers=_headers(tile, layer, pinned))


def _headers(tile: tiles.Tile, layer: str, pinned: bool) -> dict[str, str]:
    if layer == "grids" and pinned:
        policy = "public, max-age=31536000, immutable"
    elif layer == "grids":
        policy = "public, max-age=300"  # "current" moves when grids are redrawn
    elif layer == "households":
        policy = "private, max-age=60"  # per account: never in a shared cache
    else:
        policy = "no-cache"  # reports: live
    headers = {"Cache-Control": policy, "X-Tile-Cache": "hit" if tile.cached else "miss"}
    if tile.generation is not None:
        headers["X-Grid-Generation"] = str(tile.generation)
    return headers


class CachedGridTiles:
    """Anonymous GETs of grid tiles already in the cache, answered before routing (api/front.py
    asks it first).

    A warm tile is bytes in memory; routing, dependency injection and the response classes
    cost several times the lookup itself. Only the exact shapes the route would answer from the
    cache are taken here: `/tiles/grids/{z}/{x}/{y}.mvt` with no query (the current generation
    as this process was told) or `?generation=N` alone, no credentials and no cookies. The
    answer is the route's, header for header (tests/test_tiles.py compares them); anything else,
    a miss included, goes on to the route.
    """

    def answer(self, scope: Scope, send: Send) -> Awaitable[None] | None:
        """The cached tile's answer to send, or None when the route has to answer."""
        hit = self._hit(scope)
        return None if hit is None else self._send(hit, send)

    async def _send(self, hit: tuple[tiles.Tile, bool], send: Send) -> None:
        tile, pinned = hit
        headers = [(b"content-length", str(len(tile.data)).encode()), (b"content-type", MVT_B)]
        headers += [
            (k.lower().encode(), v.encode()) for k, v in _headers(tile, "grids", pinned).items()
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": tile.data})

    def _hit(self, scope: Scope) -> tuple[tiles.Tile, bool] | None:
        path: str = scope["path"]
        if scope["method"] != "GET" or not path.startswith("/tiles/grids/"):
            return None
        zxy = path[13:].removesuffix(".mvt").split("/")
        if (
            len(zxy) != 3
            or not path.endswith(".mvt")
            or not all(p.isascii() and p.isdigit() for p in zxy)
        ):
            return None
        if any(name in (b"authorization", b"cookie") for name, _ in scope["headers"]):
            return None
        query: bytes = scope.get("query_string", b"")
        state = scope["app"].state
        if not query:
            known, gen = state.current_generation.get()
            if not known or gen is None:
                return None
        elif query.startswith(b"generation=") and query[11:].isdigit():
            gen = int(query[11:])
        else:
            return None
        z, x, y = (int(p) for p in zxy)
        if z > tiles.MAX_ZOOM or x >= 2**z or y >= 2**z:
            return None
        data = state.tile_cache.get(("grids", gen, z, x, y))
        return (tiles.Tile(data, True, gen), bool(query)) if data is not None else None
