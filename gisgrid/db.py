"""Database: which PostGIS to use, engines, sessions and migrations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import select
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import pq
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from gisgrid import sql
from gisgrid.settings import Settings

log = logging.getLogger(__name__)
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


def session_options(settings: Settings) -> str:
    """libpq `options` for the service's connections: no wait without end, durable commits.

    `synchronous_commit=on` whatever the cluster says (the project's own cluster runs with it
    off for bulk loads): a 201 must mean the report survives a crash of PostgreSQL.
    """
    ms = {
        "statement_timeout": settings.statement_timeout_s,
        "lock_timeout": settings.lock_timeout_s,
        "idle_in_transaction_session_timeout": settings.idle_in_transaction_timeout_s,
    }
    options = [f"-c {k}={int(v * 1000)}" for k, v in ms.items()]
    return " ".join([*options, "-c synchronous_commit=on", "-c application_name=gisgrid-api"])


# libpq: give up on a connection attempt after 3 s (the default waits for the kernel, minutes),
# and notice a peer that vanished without closing (a crashed or unplugged server).
CONNECT_ARGS = {
    "connect_timeout": 3,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}


def make_engine(url: str, settings: Settings | None = None) -> Engine:
    """An engine; with `settings`, the service's: pool of `db_slots`, bounded waits, timeouts.

    Without settings (CLI, loaders, tests) the pool is 10 + 10 and statements may run long.
    """
    if settings is None:
        return create_engine(normalise_url(url), pool_size=10, max_overflow=10, pool_pre_ping=True)
    return create_engine(
        normalise_url(url),
        # One connection per database slot; a little overflow for the rare use outside a slot
        # (the residents' service key, looked up once per process).
        pool_size=settings.db_slots,
        max_overflow=2,
        # A slot holder finds a connection at once; if not, something is wrong: say so fast.
        pool_timeout=settings.db_wait_s + 1,
        # A connection the database dropped (restart, crash) is noticed at checkout and replaced.
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={**CONNECT_ARGS, "options": session_options(settings)},
    )


async def check_alive(conn: psycopg.AsyncConnection[Any]) -> None:
    """The intake pool's check before each use: a round trip only when the socket says one is
    needed; raises (so the pool replaces the connection) if the server has gone.

    An idle connection's server says nothing unless something happened to it: a restart or a
    crash closes the socket or sends a last error, which makes it readable. So a quiet socket
    of a connection libpq holds as OK needs no query; a readable one is asked, as the stock
    check asks every time (an empty query: it reads what came and fails if the server is gone).
    The stock check cost each report a second round trip (issue 18).
    """
    pgconn = conn.pgconn
    if pgconn.status == pq.ConnStatus.OK and pgconn.transaction_status == pq.TransactionStatus.IDLE:
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
        if not readable:
            return
    await AsyncConnectionPool.check_connection(conn)


def make_intake_pool(url: str, settings: Settings | None = None) -> AsyncConnectionPool:
    """The async pool: reports in, who is calling, audit entries; autocommit, one statement each.

    Bounded both ways: `async_pool_size` connections, `async_pool_queue` waiters (more get
    TooManyRequests at once), 2 s at most in the queue (PoolTimeout); both mean 503 Overloaded.
    Connections are checked before use (`check_alive`), so the pool recovers by itself after a
    restart.
    """
    settings = settings or Settings()
    return AsyncConnectionPool(
        libpq_url(url),
        min_size=2,
        max_size=settings.async_pool_size,
        max_waiting=settings.async_pool_queue,
        kwargs={"autocommit": True, **CONNECT_ARGS, "options": session_options(settings)},
        # A phone waits for its answer: say "try again" after 2 s rather than hang.
        timeout=2,
        check=check_alive,
        # While the database is away, retry connecting for 2 s, then leave it to the next
        # request (the pool's backoff doubles its waits: a long outage would otherwise mean a
        # wait of that length after the database is back).
        reconnect_timeout=2,
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
    "mapdata/generation_notify",
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


async def end_task(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait until it has ended, cancelling again if it lived through one.

    A background loop can swallow a cancellation (Python 3.11's `asyncio.wait_for` returns the
    inner result when the cancel meets its end) and go on forever; a shutdown that cancelled it
    once and awaited it then never ended (seen under load: a worker killed after 15 s).
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    if not task.cancelled():
        task.result()  # the error it ended with, if any


@dataclass
class HealthCheck:
    """Whether PostgreSQL answers, probed on a connection of its own every `interval_s`.

    /healthz must answer within a second under any load and tell the truth: it reads the last
    probe (never older than about a second) instead of queueing behind requests for the engine
    or the async pool. When the database comes back after a failure, `on_recover` runs (the app
    checks its async pool's idle connections then, so no request meets one that died with the
    old server and waits out the pool's backoff).
    """

    url: str  # libpq style
    interval_s: float = 0.5
    # Long enough that a busy (not broken) database is not reported down; /healthz itself
    # answers at once from the last probe whatever this is.
    timeout_s: float = 2.0
    ok: bool = False
    detail: str = "not checked yet"
    checked_at: float = -math.inf
    versions: dict[str, str] = field(default_factory=dict)
    on_recover: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _conn: psycopg.AsyncConnection[Any] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Probe in the background from now on (call inside the running event loop)."""
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self.probe()
            await asyncio.sleep(self.interval_s)

    @property
    def age_s(self) -> float:
        """Seconds since the last probe ended."""
        return time.monotonic() - self.checked_at

    async def check(self) -> bool:
        """True if the database answered the last probe (probing now if that is stale)."""
        if self.age_s > self.interval_s + self.timeout_s + 0.5:
            await self.probe()  # not started, or the loop fell behind
        return self.ok

    async def probe(self) -> None:
        """Ask PostgreSQL once (one probe at a time), within `timeout_s`."""
        async with self._lock:
            was_ok = self.ok and self.checked_at > -math.inf
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
                # cancellation that meets the probe's end, and close() then waits forever.
                async with asyncio.timeout(self.timeout_s):
                    await self._probe_fresh()
                self.ok, self.detail = True, "ok"
            except (TimeoutError, psycopg.Error, OSError) as exc:
                self.ok = False
                self.detail = (
                    f"the database did not answer within {self.timeout_s:g} s"
                    if isinstance(exc, TimeoutError)
                    else "the database is not reachable"
                )
                if was_ok:
                    log.warning("health check failed: %r", exc)
                await self._drop()
            recovered = self.ok and not was_ok and self.checked_at > -math.inf
            self.checked_at = time.monotonic()
        if recovered:
            log.warning("the database answers again")
            for callback in self.on_recover:
                try:
                    await callback()
                except Exception:
                    log.exception("a recovery step failed")

    async def _probe_fresh(self) -> None:
        # A kept connection may have died with an earlier server (a restart): one more try on a
        # new connection before saying the database is down.
        reused = self._conn is not None
        try:
            await self._probe()
        except (psycopg.Error, OSError):
            if not reused:
                raise
            await self._drop()
            await self._probe()

    async def _probe(self) -> None:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, connect_timeout=1, application_name="gisgrid-health"
            )
        row = await sql.afirst(self._conn, "db/health")
        assert row is not None
        self.versions = {k: str(v) for k, v in row.items()}

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                async with asyncio.timeout(0.2):
                    await conn.close()
            except Exception:
                log.debug("closing the health connection failed", exc_info=True)

    async def close(self) -> None:
        """Stop probing and close the health connection."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await end_task(self._task)
        await self._drop()


class Listener:
    """A LISTEN connection of its own, kept up by a task: reconnects with backoff, and `known`
    is True only while it is up (callers must not trust what it tells them otherwise).

    Subclasses set `name` (the connection's application_name) and `what` (for the log), and
    implement `listen(conn)`: LISTEN, read what must be read, then wait for notices.
    """

    name = "gisgrid-listener"
    what = "notices"

    def __init__(self, url: str) -> None:
        self.url = url  # libpq style
        self.known = False
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()

    async def listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """On a fresh connection: LISTEN, set `known` and `_ready` when trusted, then wait."""
        raise NotImplementedError

    async def start(self, wait_s: float = 3.0) -> None:
        """Start listening; wait up to `wait_s` for the first trust (the service starts anyway)."""
        self._task = asyncio.create_task(self._run(), name=self.name)
        try:
            await asyncio.wait_for(self._ready.wait(), wait_s)
        except TimeoutError:
            log.warning("no %s within %.1f s; looked up per request meanwhile", self.what, wait_s)

    async def wake(self) -> None:
        """Reconnect now if waiting out a backoff (the database answers again)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        self.known = False
        if self._task is not None:
            await end_task(self._task)
            self._task = None

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, application_name=self.name
                ) as conn:
                    self._conn = conn
                    backoff = 0.5
                    await self.listen(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the connection went away: distrust, then reconnect
                self.known = False
                log.warning("not listening for %s (%r); retrying", self.what, exc)
                # Woken early when the health check sees the database again: after an outage
                # the backoff would otherwise keep this worker distrusting (token lookups per
                # request, plain tile URLs unanswered) for seconds after the database is back.
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(backoff):
                        await self._wake.wait()
                backoff = min(backoff * 2, 10.0)
            finally:
                self.known = False
                self._conn = None

    async def backend_pid(self) -> int | None:
        """The listening connection's server process id (tests end it to prove recovery)."""
        return self._conn.info.backend_pid if self._conn is not None else None
