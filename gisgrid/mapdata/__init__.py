"""What the maps draw: layers with measures, vector tiles, OGC API Features collections."""

from gisgrid.mapdata.current import CurrentGeneration
from gisgrid.mapdata.layers import CoverageCache, grid_measures, open_reports, unit_outline
from gisgrid.mapdata.tiles import Tile, TileCache, build_tile_async, cached_tile, get_tile

__all__ = [
    "CoverageCache",
    "CurrentGeneration",
    "Tile",
    "TileCache",
    "build_tile_async",
    "cached_tile",
    "get_tile",
    "grid_measures",
    "open_reports",
    "unit_outline",
]
