"""Settings, read from GISGRID_* environment variables; built on demand, never at import time."""

import datetime as dt
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    # Requests a minute: sign-ins per address; reports per phone (the residents' page sends a
    # device token), per Open311 API key, and from one address in all (a village behind one NAT
    # address has many phones). Without a device token or key, rate_limit_intake per address.
    rate_limit_login: int = 30
    rate_limit_intake: int = 60
    rate_limit_intake_key: int = 600
    rate_limit_intake_address: int = 600
    # The counts are shared by every worker and host on the same database (issue 19); services
    # that share a database but not their limits (test servers) each take a namespace.
    rate_limit_namespace: Annotated[str, Field(max_length=16)] = ""
    # Count in PostgreSQL (every worker and host sees one count) or in this process only. One
    # process counts exactly by itself and saves a round trip per limited request; `gisgrid
    # serve --workers N` (N > 1) turns sharing on, and so must any set-up that runs several
    # copies of the service behind a load balancer (GISGRID_SHARED_LIMITS=true).
    shared_limits: bool = False
    # Proxies (IP addresses or networks) whose X-Forwarded-For / X-Forwarded-Proto are believed,
    # e.g. GISGRID_TRUSTED_PROXIES=10.0.0.5,10.1.0.0/16; from anyone else they are ignored.
    trusted_proxies: Annotated[list[str], NoDecode] = []

    # Capacity of one worker (issue 13). At most db_slots requests use the database at once
    # (the engine's pool holds as many connections, each with a thread of its own to check it out
    # and give it back); db_queue more may wait for a slot until db_wait_s after they arrived;
    # beyond that the answer is 503 with Retry-After at once instead of a queue that never
    # drains (1 s: a read answered later than that has failed its user anyway).
    db_slots: int = 12
    db_queue: int = 48
    db_wait_s: float = 1.0
    # Connections of the async pool (reports in, who is calling, audit entries), and how many
    # requests may wait for one of them.
    async_pool_size: int = 8
    async_pool_queue: int = 64
    # Threads for blocking route bodies (anyio's limiter; its default is 40).
    threads: int = 40
    # Requests in progress at once (any kind); beyond it 503 at once (/healthz, /readyz exempt).
    # About the slots and their queue plus the cheap requests beside them: a larger number only
    # lets requests wait longer behind a CPU that is already full.
    max_in_flight: int = 96
    # Open event streams (GET /api/v1/events) at once, counted apart from max_in_flight: each
    # lasts minutes holding no database connection or slot; beyond it 503 (pages keep polling).
    max_streams: int = 1000
    # Per statement and per idle transaction on the service's connections: nothing waits forever.
    statement_timeout_s: float = 30.0
    lock_timeout_s: float = 5.0
    idle_in_transaction_timeout_s: float = 60.0

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
    # The current grid generation is held in memory and told of changes (LISTEN/NOTIFY); it is
    # also read again this often, in case a notice went missing.
    generation_check_s: float = 30.0
    # The walls' polls (grid measures, open reports, staff positions) are counted at most once
    # per this many seconds per question and worker, every wall given the same answer meanwhile
    # (issue 13): a wall polling every 3 s sees a change at most this much later. 0: count each.
    poll_fresh_s: float = 2.0
    # One logfmt line per request on stderr, written in batches (api/access_log.py).
    access_log: bool = True
    # Redraw (issue 15): processes that compute draft plans in the background (0: in a thread).
    redraw_workers: int = 1

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """A comma-separated environment value, or a JSON list, or a list."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [v.strip() for v in text.split(",") if v.strip()]
        return value
