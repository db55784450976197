"""The division hierarchy: codes, units and grids read back, and which grid a point is in."""
