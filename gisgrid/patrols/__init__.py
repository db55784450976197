"""Patrols: tracks in, roads and key places, coverage, the next walk, generated walks."""

from gisgrid.patrols.coverage import coverage_by_unit, household_visit_share
from gisgrid.patrols.roads import generate_demo_network, utm_epsg
from gisgrid.patrols.simulate import simulate_tracks
from gisgrid.patrols.tracks import ingest_fixes

__all__ = [
    "coverage_by_unit",
    "generate_demo_network",
    "household_visit_share",
    "ingest_fixes",
    "simulate_tracks",
    "utm_epsg",
]
