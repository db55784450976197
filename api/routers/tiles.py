"""Mapbox vector tiles (ST_AsMVT): the service's own basemap, grids, households and reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.deps import DbDep
from api.params import MAX_INT, GenerationQ
from api.security import PrincipalDep
from gisgrid.access.accounts import REGISTER_READERS, Role
from gisgrid.mapdata import basemap, tiles

router = APIRouter(tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"


@router.get(
    "/tiles/basemap/{z}/{x}/{y}.mvt",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}},
)
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


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.mvt",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}},
)
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
    # A cache hit needs no connection at all: that is what makes warm grid tiles cheap.
    tile = tiles.cached_tile(cache, layer, z, x, y, generation)
    if tile is None:
        # Misses take a database slot and its thread; hits are answered on the event loop.
        tile = await db.run_engine(tiles.build_tile, cache, layer, z, x, y, generation, who.scope)
    if layer == "grids" and generation is not None:
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
    return Response(tile.data, media_type=MVT, headers=headers)
