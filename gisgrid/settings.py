"""Settings, read from GISGRID_* environment variables; built on demand, never at import time."""

import datetime as dt
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


class Settings(BaseSettings):
    """Configuration for the core, the CLI and the API."""

    model_config = SettingsConfigDict(env_prefix="GISGRID_")

    # None means: use the PostGIS the project manages itself under state_dir.
    database_url: str | None = None
    state_dir: Path = PROJECT_DIR / ".gisgrid"
    cache_dir: Path = PROJECT_DIR / "data" / "cache"
    host: str = "127.0.0.1"
    port: int = 8000
    demo_county: str = "441226"
    demo_seed: int = 20231
    # Requests a minute from one client address.
    rate_limit_login: int = 30
    rate_limit_intake: int = 60

    # Reports in (issue 4).
    # Grids within this many metres of a report are recorded as candidates (edge points).
    edge_tolerance_m: float = 5.0
    # Working calendar for time limits: periods per working day, China time.
    work_periods: str = "08:30-12:00,14:00-17:30"
    work_holidays: list[dt.date] = []
    work_extra_days: list[dt.date] = []  # weekend days worked instead of a holiday (调休)
    # Per-county calendars (holidays and 调休 days from the State Council's notices); the two
    # lists above are added to every county's file as an override.
    calendar_dir: Path = PROJECT_DIR / "data" / "calendars"
    # The loop (issue 17). Reports from these sources are checked on site (核查) before they are
    # registered and dispatched; patrol and video reports were seen by staff already.
    check_sources: list[str] = ["resident", "hotline"]
    # Time limits of the stages that have no limit of their own, in working hours:
    # {"collected": 2, "checked": 2, "registered": 2, "supervised": 8, "fed_back": 8}.
    stage_hours: dict[str, float] = {}
    # An unsatisfied verdict within this many days of closing reopens the case to its handler.
    reopen_days: float = 15.0
    # Red and black lists (红黑榜): per level {"measure", "top", "bottom", "min_cases"}.
    red_black_rules: dict[str, dict[str, float | str]] = {}
    # Duplicate rules per service code: {"SJ01": [radius_m, window_hours]}; 0 m turns it off.
    duplicate_rules: dict[str, tuple[float, float]] = {}
    # Maps (issues 5, 14). The service draws its own basemap (vector tiles of the roads, water,
    # buildings and place names it holds: gisgrid.mapdata.basemap), so nothing is fetched from
    # outside. A template such as "http://tianditu.intranet/{z}/{x}/{y}.png" adds an external
    # raster basemap as the default one (the service's own stays one click away); its datum says
    # whether overlays must be shifted to line up (gcj02 for Gaode/Tencent-style tiles).
    basemap_url: str | None = None
    basemap_datum: str = "wgs84"
    basemap_attribution: str = ""
    tile_cache_mb: int = 64
