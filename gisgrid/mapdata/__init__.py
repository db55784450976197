"""What the maps draw: layers with measures, vector tiles, OGC API Features collections."""

from gisgrid.mapdata.answers import Answer, SharedAnswers
from gisgrid.mapdata.current import CurrentGeneration
from gisgrid.mapdata.layers import CoverageCache, grid_measures, open_reports, unit_outline
from gisgrid.mapdata.tiles import Tile, TileCache, build_tile_async, cached_tile, get_tile

__all__ = [
    "Answer",
    "CoverageCache",
    "CurrentGeneration",
    "SharedAnswers",
    "Tile",
    "TileCache",
    "build_tile_async",
    "cached_tile",
    "get_tile",
    "grid_measures",
    "open_reports",
    "unit_outline",
]
