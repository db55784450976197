"""Bulk point -> grid assignment (after a redraw, or of a whole county at once)."""

from gisgrid.assignment.assign import GridIndex, assign_table, load_index

__all__ = [
    "GridIndex",
    "assign_table",
    "load_index",
]
