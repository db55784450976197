"""What every benchmark starts from: the database the service would use, with a demo county."""

from __future__ import annotations

from sqlalchemy import Engine

from gisgrid.db import make_engine, migrate, resolve_database_url
from gisgrid.demo import county as demo
from gisgrid.settings import Settings


def demo_engine(county: str, settings: Settings | None = None) -> Engine:
    """An engine on the migrated database, the demo county loaded first if it is not there."""
    settings = settings or Settings()
    url = resolve_database_url(settings, progress=lambda m: None)
    migrate(url)
    engine = make_engine(url)
    if not demo.is_loaded(engine, county):
        print(f"loading the demo county {county} first (about a minute)", flush=True)
        demo.unload_county(engine, county, progress=lambda m: None)
        demo.load_demo_county(engine, county, settings.cache_dir, seed=settings.demo_seed)
    return engine
