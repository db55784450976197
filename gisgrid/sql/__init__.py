"""Hand-written PostGIS statements, one per file, loaded by name."""

from functools import cache
from importlib.resources import files


@cache
def load(name: str) -> str:
    """The text of gisgrid/sql/<name>.sql."""
    return files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")
