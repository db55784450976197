"""The division hierarchy: codes, units and grids read back, and which grid a point is in."""

from gisgrid.divisions.codes import LEVELS, grid_code, unit_code, unit_prefix
from gisgrid.divisions.locate import check_lon_lat
from gisgrid.divisions.units import first_county, get_unit, grids_in_scope, unit_children

__all__ = [
    "LEVELS",
    "check_lon_lat",
    "first_county",
    "get_unit",
    "grid_code",
    "grids_in_scope",
    "unit_children",
    "unit_code",
    "unit_prefix",
]
