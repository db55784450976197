"""Database: which PostGIS to use, engines, sessions and migrations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from gisgrid import sql
from gisgrid.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def normalise_url(url: str) -> str:
    """Make a libpq-style URL use SQLAlchemy's psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def libpq_url(url: str) -> str:
    """The same URL as libpq (and psycopg without SQLAlchemy) spells it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def resolve_database_url(settings: Settings, progress: Callable[[str], None] = print) -> str:
    """GISGRID_DATABASE_URL if set, otherwise the project's own PostGIS (started if needed)."""
    if settings.database_url:
        return normalise_url(settings.database_url)
    from gisgrid.localdb import LocalPostgis

    return LocalPostgis(settings.state_dir, progress=progress).up()


def make_engine(url: str) -> Engine:
    """An engine with a pool sized for one uvicorn worker."""
    return create_engine(normalise_url(url), pool_size=10, max_overflow=10, pool_pre_ping=True)


def make_intake_pool(url: str) -> AsyncConnectionPool:
    """The intake's own async pool: autocommit (its one statement is its transaction)."""
    return AsyncConnectionPool(
        libpq_url(url),
        min_size=2,
        max_size=8,
        kwargs={"autocommit": True},
        # A phone waits for its answer: say "try again" after 5 s rather than hang for 30.
        timeout=5,
        open=False,
    )


def migrate(url: str, revision: str = "heads") -> None:
    """Bring the schema up to `revision` with Alembic (all heads: features add their own)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    command.upgrade(cfg, revision)
    install_functions(url)


# Views and functions are code, not schema: each file replaces its objects whole, every migrate.
FUNCTION_FILES = (
    "reports/intake_functions",
    "reports/events_functions",
    "access/shared_state_functions",
)


def install_functions(url: str) -> None:
    """(Re)create the SQL views and functions the code calls, in one transaction."""
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            for name in FUNCTION_FILES:
                # Several statements in one text: psycopg sends it by the simple protocol.
                raw.execute(sql.load(name).encode())
    finally:
        engine.dispose()


def server_versions(engine: Engine) -> dict[str, str]:
    """PostgreSQL and PostGIS versions, for /healthz."""
    with engine.connect() as conn:
        pg = sql.execute(conn, "db/server_version").scalar_one()
        postgis = sql.execute(conn, "db/postgis_lib_version").scalar_one()
        geos = sql.execute(conn, "db/postgis_geos_version").scalar_one()
        proj = sql.execute(conn, "db/postgis_proj_version").scalar_one()
    return {"postgresql": pg, "postgis": postgis, "geos": geos, "proj": proj}
