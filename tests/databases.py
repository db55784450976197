"""Test databases: one template holding the demo county, copied for each worker and module.

The template (`gisgrid_template`) is what `gisgrid demo` builds: the migrated schema, the Deqing
demo county, its generated roads and its generated patrol day. It is built once, under a lock
so parallel workers do not race, and kept between runs; a stamp in its database comment
says what it was built from (see `ensure_template` for when it is rebuilt or refreshed). It
accepts no connections, so nothing can change it and a copy is never blocked by a session.

Every copy is named `gisgrid_t_<run>_<what><n>`; the process that made it holds an advisory lock
keyed by <run> for as long as it lives, so copies left by a run that crashed are found (nobody
holds their lock) and dropped by the next one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import json
import re
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from gisgrid import db as gisgrid_db
from gisgrid.access import accounts
from gisgrid.demo import county as demo
from gisgrid.demo import patrol_day
from gisgrid.patrols import roads
from gisgrid.settings import Settings

T = TypeVar("T")

TEMPLATE = "gisgrid_template"
BUILD = "gisgrid_template_build"
COPY_PREFIX = "gisgrid_t_"
LEGACY = "gisgrid_test"  # kept the demo between runs and took every test's writes
DEMO_COUNTY = "441226"
# The demo's reports are dated relative to the moment it was loaded ("the last 30 days"): a
# template rebuilt weekly keeps its monthly figures well inside what the tests expect of them.
MAX_AGE = dt.timedelta(days=7)
ADMIN_PASSWORD = "test admin password"
RUN_LOCK_CLASS = 0x6767  # first half of the advisory lock key a live run holds ("gg")


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def schema_digest() -> str:
    """A digest of every migration file: an edited or added migration means another schema."""
    return _digest(list((gisgrid_db.MIGRATIONS_DIR / "versions").glob("*.py")))


def functions_digest() -> str:
    """A digest of the SQL functions `migrate` (re)installs; a change is applied in place."""
    sql_dir = Path(gisgrid_db.__file__).resolve().parent / "sql"
    return _digest([sql_dir / f"{name}.sql" for name in gisgrid_db.FUNCTION_FILES])


def wanted_stamp(seed: int) -> dict[str, Any]:
    """What the template must have been built from to be used as it is."""
    return {"schema": schema_digest(), "demo": demo.GENERATOR, "seed": seed, "county": DEMO_COUNTY}


class Cluster:
    """The PostgreSQL server that holds the test databases, reached as a role that creates them.

    `url` names any database on it; that database is only used to issue CREATE and DROP.
    """

    def __init__(self, url: str) -> None:
        self._url = make_url(gisgrid_db.normalise_url(url))
        self.admin_database = self._url.database or "postgres"

    def url_of(self, name: str) -> str:
        """SQLAlchemy URL of database `name` on this server."""
        return self._url.set(database=name).render_as_string(hide_password=False)

    @contextlib.contextmanager
    def admin(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """An autocommit session on the database the URL names, for CREATE, DROP and locks."""
        url = gisgrid_db.libpq_url(self.url_of(self.admin_database))
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            yield conn

    @contextlib.contextmanager
    def template_lock(self) -> Iterator[None]:
        """Hold the server-wide lock under which the template is built, refreshed and copied."""
        with self.admin() as conn:
            # An advisory lock rather than a file: it covers every checkout and machine that
            # shares this server, and dies with the session if the process does.
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (TEMPLATE,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (TEMPLATE,))

    def hold(self, *key: int) -> psycopg.Connection[tuple[Any, ...]]:
        """A session holding advisory lock `key` until it is closed."""
        url = gisgrid_db.libpq_url(self.url_of(self.admin_database))
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        conn.execute("SELECT pg_advisory_lock(%s, %s)", key)
        return conn

    def names(self, prefix: str) -> list[str]:
        """Databases whose name starts with `prefix`."""
        with self.admin() as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY 1",
                (prefix,),
            ).fetchall()
        return [r[0] for r in rows]

    def copy(self, name: str, template: str) -> None:
        """Create `name` as a copy of `template` (which must have no sessions)."""
        with self.admin() as conn:
            # WAL_LOG copies page by page without the two checkpoints FILE_COPY forces; for
            # 150 MB, copy and drop take 0.6-0.8 s + 0.1 s here against 1-1.7 s + 1-1.4 s.
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY WAL_LOG").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )

    def create_empty(self, name: str) -> None:
        """Create an empty database (the migrations add PostGIS and pgRouting)."""
        with self.admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop(self, name: str) -> None:
        """Drop `name` if it exists, ending any session still connected to it."""
        with self.admin() as conn:
            # A template cannot be dropped until it is marked as an ordinary database again.
            conn.execute(
                sql.SQL(
                    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_database WHERE datname = {} "
                    "AND datistemplate) THEN ALTER DATABASE {} IS_TEMPLATE false; END IF; END $$"
                ).format(sql.Literal(name), sql.Identifier(name))
            )
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def rename(self, old: str, new: str) -> None:
        """Rename a database that has no sessions."""
        with self.admin() as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(old), sql.Identifier(new)
                )
            )

    def seal(self, name: str, sealed: bool) -> None:
        """Make `name` a template nobody can connect to (sealed), or open it for a refresh."""
        with self.admin() as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE {} ALLOW_CONNECTIONS {}").format(
                    sql.Identifier(name), sql.Literal(sealed), sql.Literal(not sealed)
                )
            )

    def info(self, name: str) -> dict[str, Any] | None:
        """Stamp (the database comment, as JSON) and flags of `name`; None if it does not exist."""
        with self.admin() as conn:
            row = conn.execute(
                "SELECT shobj_description(oid, 'pg_database'), datallowconn, datistemplate "
                "FROM pg_database WHERE datname = %s",
                (name,),
            ).fetchone()
        if row is None:
            return None
        try:
            stamp = json.loads(row[0]) if row[0] else {}
        except json.JSONDecodeError:
            stamp = {}
        return {"stamp": stamp, "allow_connections": row[1], "is_template": row[2]}

    def set_stamp(self, name: str, stamp: dict[str, Any]) -> None:
        """Record what `name` was built from, in its database comment."""
        with self.admin() as conn:
            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(name), sql.Literal(json.dumps(stamp, sort_keys=True))
                )
            )


def _vacuum(url: str, *tables: str, full: bool = False) -> None:
    """Freeze and analyse, so copies start with hint bits set and with statistics."""
    engine = create_engine(gisgrid_db.normalise_url(url), poolclass=NullPool)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            options = "FULL, FREEZE, ANALYZE" if full else "FREEZE, ANALYZE"
            # Table names are this module's constants, not input.
            conn.execute(text(f"VACUUM ({options}) {', '.join(tables)}"))
    finally:
        engine.dispose()


def _build(cluster: Cluster, settings: Settings, progress: Callable[[str], None]) -> None:
    """Build the template from nothing in a scratch database, then put it in place whole."""
    cluster.drop(BUILD)  # left by a build that was interrupted
    cluster.create_empty(BUILD)
    url = cluster.url_of(BUILD)
    gisgrid_db.migrate(url)
    engine = create_engine(gisgrid_db.normalise_url(url), poolclass=NullPool)
    try:
        demo.load_demo_county(
            engine, DEMO_COUNTY, settings.cache_dir, seed=settings.demo_seed, progress=progress
        )
        # As `gisgrid demo` does: the GENERATED roads and key places patrols are measured on,
        with engine.begin() as conn:
            roads.generate_demo_network(conn, DEMO_COUNTY, progress=progress)
        # and the GENERATED patrol day, so maps have staff positions and coverage.
        patrol_day.ensure_patrol_day(
            engine, DEMO_COUNTY, seed=settings.demo_seed, progress=progress
        )
    finally:
        engine.dispose()
    _vacuum(url)
    stamp = {
        **wanted_stamp(settings.demo_seed),
        "functions": functions_digest(),
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    cluster.drop(TEMPLATE)
    cluster.rename(BUILD, TEMPLATE)
    cluster.set_stamp(TEMPLATE, stamp)
    cluster.seal(TEMPLATE, True)


def _refresh(
    cluster: Cluster, settings: Settings, stamp: dict[str, Any], progress: Callable[[str], None]
) -> None:
    """Bring SQL functions and the patrol day up to date inside the template, if they are not."""
    url = cluster.url_of(TEMPLATE)
    cluster.seal(TEMPLATE, False)
    try:
        changed = []
        if stamp.get("functions") != functions_digest():
            gisgrid_db.install_functions(url)
            changed.append("functions")
        engine = create_engine(gisgrid_db.normalise_url(url), poolclass=NullPool)
        try:
            # The patrol day follows the clock (today's morning up to now): regenerated, as
            # `gisgrid demo` does, only when it is no longer current.
            if patrol_day.ensure_patrol_day(
                engine, DEMO_COUNTY, seed=settings.demo_seed, progress=progress
            ):
                changed.append("patrol day")
        finally:
            engine.dispose()
        if "patrol day" in changed:
            # The replaced tracks would otherwise be copied, dead, into every test database.
            _vacuum(url, "patrol_fix", "patrol_track", "dataset", full=True)
        if changed:
            progress(f"template refreshed: {', '.join(changed)}")
            cluster.set_stamp(TEMPLATE, {**stamp, "functions": functions_digest()})
    finally:
        cluster.seal(TEMPLATE, True)


def ensure_template(
    cluster: Cluster, settings: Settings, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """Make the template current and return its stamp. Call it holding `template_lock`.

    Rebuilt from nothing (about a minute and a half) when missing, when a migration file, the
    demo generator, the seed or the county differ from its stamp, or when it is older than
    MAX_AGE. Refreshed in place when only the SQL functions changed, or when its patrol day is
    no longer current (`patrol_day.is_current`, the rule `gisgrid demo` follows).
    """
    info = cluster.info(TEMPLATE)
    stamp = info["stamp"] if info else {}
    wanted = wanted_stamp(settings.demo_seed)
    built = stamp.get("built_at")
    old = built is None or dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(built) > MAX_AGE
    if info is None or any(stamp.get(k) != v for k, v in wanted.items()) or old:
        progress("building the test template (migrations, demo county, roads, patrol day)")
        _build(cluster, settings, progress)
    else:
        _refresh(cluster, settings, stamp, progress)
    info = cluster.info(TEMPLATE)
    assert info is not None
    return dict(info["stamp"])


def _run_key(run: str) -> int:
    """The advisory lock key (int4) of a run's 8 hex digits."""
    return int(run, 16) - 2**31


def drop_leftovers(cluster: Cluster, progress: Callable[[str], None] = print) -> list[str]:
    """Drop copies whose run no longer holds its lock (a crash, a killed run), and the one
    database the suite used before it had a template."""
    gone = []
    if cluster.admin_database != LEGACY and LEGACY in cluster.names(LEGACY):
        cluster.drop(LEGACY)
        gone.append(LEGACY)
    with cluster.admin() as conn:
        for name in cluster.names(COPY_PREFIX):
            m = re.match(re.escape(COPY_PREFIX) + r"([0-9a-f]{8})_", name)
            if not m:
                continue
            key = (RUN_LOCK_CLASS, _run_key(m.group(1)))
            if conn.execute("SELECT pg_try_advisory_lock(%s, %s)", key).fetchone() == (True,):
                cluster.drop(name)
                gone.append(name)
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", key)
    if gone:
        progress(f"dropped {len(gone)} test databases left by earlier runs")
    return gone


def sign_up(
    engine: Engine,
    plan: dict[str, tuple[str, str] | tuple[str, str, str]],
    password: str,
    prefix: str,
) -> dict[str, str]:
    """Accounts `plan` names (who -> role, scope[, department]), each `prefix-who`; their tokens."""
    with engine.begin() as conn:
        for who, (role, scope, *department) in plan.items():
            accounts.create_account(
                conn, f"{prefix}-{who}", password, role, scope, None, *department
            )
        return {who: accounts.issue_token(conn, f"{prefix}-{who}", password)[0] for who in plan}


class Databases:
    """One test process's databases: its own template and the copies made from it.

    The worker template is the template plus an admin account whose token every copy knows;
    a module that needs more set-up derives its own template from it (`derived`).
    """

    def __init__(self, cluster: Cluster, stamp: dict[str, Any]) -> None:
        self.cluster = cluster
        self.stamp = stamp
        self.run = secrets.token_hex(4)
        self.prefix = f"{COPY_PREFIX}{self.run}_"
        self._numbers = itertools.count(1)
        self._made: list[str] = []
        self.worker_template = ""
        self.admin_token = ""
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dropdb")
        self._dropped: list[Future[None]] = []
        self._copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="copydb")
        self._spares: dict[str, Future[str]] = {}
        self._alive: psycopg.Connection[tuple[Any, ...]] | None = None

    @classmethod
    def start(
        cls, cluster: Cluster, settings: Settings, progress: Callable[[str], None]
    ) -> Databases:
        """Make the template current and this process's own template from it."""
        with cluster.template_lock():
            drop_leftovers(cluster, progress)
            dbs = cls(cluster, ensure_template(cluster, settings, progress))
            dbs._alive = cluster.hold(RUN_LOCK_CLASS, _run_key(dbs.run))
            # Copied under the lock: no other process refreshes the template meanwhile.
            dbs.worker_template = dbs.copy(TEMPLATE, "tpl")
        dbs.admin_token = dbs._add_admin(dbs.worker_template)
        return dbs

    def _add_admin(self, name: str) -> str:
        plan = {"admin": ("admin", "")}
        return self.setup(name, lambda e: sign_up(e, plan, ADMIN_PASSWORD, f"t-{self.run}"))[
            "admin"
        ]

    def url(self, name: str) -> str:
        """SQLAlchemy URL of one of the test databases."""
        return self.cluster.url_of(name)

    def copy(self, template: str, what: str = "") -> str:
        """A new database copied from `template`; returns its name."""
        name = f"{self.prefix}{what}{next(self._numbers)}"
        self.cluster.copy(name, template)
        self._made.append(name)
        return name

    def empty(self, what: str = "empty") -> str:
        """A new empty database (the migrations add PostGIS and pgRouting); returns its name."""
        name = f"{self.prefix}{what}{next(self._numbers)}"
        self.cluster.create_empty(name)
        self._made.append(name)
        return name

    def fresh(self, template: str, what: str = "own") -> str:
        """A copy of `template` for one test; the next test's copy is made meanwhile."""
        # A copy takes 0.6-1.1 s: made while the test before runs, most of it is not waited for.
        spare = self._spares.pop(template, None)
        name = spare.result() if spare is not None else self.copy(template, what)
        self._spares[template] = self._copier.submit(self.copy, template, what)
        return name

    def _discard_spare(self, template: str) -> None:
        spare = self._spares.pop(template, None)
        if spare is not None:
            self.drop(spare.result())

    def drop(self, name: str) -> None:
        """Drop a database this process made."""
        self.cluster.drop(name)
        if name in self._made:
            self._made.remove(name)

    def drop_later(self, name: str) -> None:
        """Drop a database in the background, once nothing uses it."""
        # DROP DATABASE forces a checkpoint (0.1-0.5 s, more after big writes): the next test
        # need not wait for it. `close` waits for every drop still queued.
        self._dropped.append(self._dropper.submit(self.drop, name))

    def setup(self, name: str, write: Callable[[Engine], T]) -> T:
        """Run `write` against database `name` and close every connection it opened."""
        engine = create_engine(gisgrid_db.normalise_url(self.url(name)), poolclass=NullPool)
        try:
            return write(engine)
        finally:
            engine.dispose()

    @contextlib.contextmanager
    def derived(self, write: Callable[[Engine], T], what: str = "der") -> Iterator[tuple[str, T]]:
        """A template of one's own: a copy of the worker template with `write` applied to it.

        Copies made from it start with what `write` made (accounts, keys) without paying for
        it each time; it is dropped on leaving the block.
        """
        name = self.copy(self.worker_template, what)
        try:
            yield name, self.setup(name, write)
        finally:
            self._discard_spare(name)
            self.drop(name)

    def settle(self) -> None:
        """Wait for the background drops queued so far; raise if one failed."""
        for future in self._dropped:
            future.result()

    def close(self) -> None:
        """Drop every database this process made, then let go of the run's lock."""
        for template in list(self._spares):
            self._discard_spare(template)
        self._copier.shutdown(wait=True)
        self._dropper.shutdown(wait=True)
        self.settle()  # a drop that failed fails the run here
        for name in reversed(list(self._made)):
            self.drop(name)
        if self._alive is not None:
            self._alive.close()
