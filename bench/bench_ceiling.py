"""`./run bench ceiling`: the reports-in ladder of ceilings (bench.intake_ceiling)."""

from bench.intake_ceiling import main

__all__ = ["main"]
