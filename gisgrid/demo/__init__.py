"""The demo counties: real outlines and names; GENERATED divisions, people, cases, patrols."""

from gisgrid.demo.county import is_loaded, load_demo_county, unload_county
from gisgrid.demo.patrol_day import ensure_patrol_day

__all__ = [
    "ensure_patrol_day",
    "is_loaded",
    "load_demo_county",
    "unload_county",
]
