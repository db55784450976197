"""Mapbox vector tiles (ST_AsMVT) for grids, households and reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.deps import DbDep
from api.params import MAX_INT, GenerationQ
from api.security import PrincipalDep
from gisgrid.access.accounts import REGISTER_READERS, Role
from gisgrid.mapdata import tiles

router = APIRouter(tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"


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
