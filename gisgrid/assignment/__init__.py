"""Bulk point -> grid assignment (after a redraw, or of a whole county at once)."""
