"""Shared fixtures: real PostGIS databases copied from a demo template, real uvicorn, Chromium.

Isolation, without any cleanup written by hand (tests/databases.py makes the databases):
- the template (`gisgrid_template`) holds what `gisgrid demo` builds: the schema, the Deqing
  demo county, its roads and its patrol day. It is built once and kept between runs, and nobody
  may connect to it; each worker (pytest-xdist process) copies it into a template of its own
  that adds an admin account (`admin_token`).
- `conn`: a transaction on the module's database, rolled back after the test. Code under test
  may open SAVEPOINTs (`begin_nested`) in it; a test that commits it fails.
- `database_url`, `engine`, `server`, `http`, `admin_http`: a database of the module's own,
  copied from the module's `template` fixture (the worker's unless the module derives one),
  served by the real app, dropped after the module with whatever its tests wrote.
- `own_database_url`, `own_engine`, `own_server`, `own_http`, `own_admin_http`: a database of
  the test's own, served by the real app: what the test commits no other test sees. Its copy is
  made while the test before it runs.
- A module whose tests need more than the demo county (accounts, keys, a county of its own)
  defines `seed_template(engine)`: it is run once on a template of the module's own, which every
  copy is then made from, and what it returns is the `seed` fixture.

The server is GISGRID_TEST_DATABASE_URL when set (any database on a PostgreSQL 15+ server with
PostGIS and pgRouting, as a role that may create databases), otherwise the project's own PostGIS
(started if needed). Nothing is mocked and nothing skips: without a database the suite fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Connection, Engine

from api.app import create_app
from bench.common import free_port, serve_in_thread
from gisgrid.db import make_engine
from gisgrid.settings import Settings
from tests.databases import DEMO_COUNTY, Cluster, Databases

# The servers tests start keep quiet: no access log lines among pytest's output
# (tests/test_access_log.py turns it on where it is the subject).
os.environ.setdefault("GISGRID_ACCESS_LOG", "false")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings for the project's own state and cache folders."""
    return Settings()


@pytest.fixture(scope="session")
def databases(settings: Settings) -> Iterator[Databases]:
    """This worker's test databases, made from the template (built first if it is stale)."""
    url = os.environ.get("GISGRID_TEST_DATABASE_URL")
    if not url:
        from gisgrid.localdb import LocalPostgis

        url = LocalPostgis(settings.state_dir, progress=lambda m: None).up()
    dbs = Databases.start(Cluster(url), settings, progress=lambda m: print(f"test databases: {m}"))
    try:
        yield dbs
    finally:
        dbs.close()


@pytest.fixture(scope="session")
def demo_county(databases: Databases) -> str:
    """The Deqing demo county's 12-digit code; every test database holds it."""
    return DEMO_COUNTY + "000000"


@pytest.fixture(scope="session")
def admin_token(databases: Databases) -> str:
    """A bearer token of an admin account that every test database of this worker holds."""
    return databases.admin_token


@pytest.fixture(scope="module")
def seeded(request: pytest.FixtureRequest, databases: Databases) -> Iterator[tuple[str, Any]]:
    """The module's template and what its `seed_template(engine)` wrote there, if it has one."""
    seed_template = getattr(request.module, "seed_template", None)
    if seed_template is None:
        yield databases.worker_template, None
        return
    with databases.derived(seed_template, request.module.__name__.rsplit(".")[-1][5:13]) as made:
        yield made


@pytest.fixture(scope="module")
def template(seeded: tuple[str, Any]) -> str:
    """The database the module's copies are made from: the worker's, or the module's own."""
    return seeded[0]


@pytest.fixture(scope="module")
def seed(seeded: tuple[str, Any]) -> Any:
    """What the module's `seed_template` returned (accounts' tokens, chosen places)."""
    return seeded[1]


def seed_item(index: int) -> Any:
    """A module fixture for one item of a seed that is a tuple: `home = seed_item(0)`."""

    @pytest.fixture(scope="module")
    def item(seed: tuple[Any, ...]) -> Any:
        return seed[index]

    return item


@pytest.fixture(scope="module")
def database_url(databases: Databases, template: str) -> Iterator[str]:
    """A database of the module's own, copied from `template` and dropped after the module."""
    name = databases.copy(template, "mod")
    try:
        yield databases.url(name)
    finally:
        databases.drop_later(name)


def _engine_on(url: str) -> Iterator[Engine]:
    """An engine on a test database, its connections closed when the fixture ends."""
    eng = make_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the module's database: commit freely, it is dropped after the module."""
    yield from _engine_on(database_url)


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back on leaving the block.

    Code given it may open SAVEPOINTs (`begin_nested`); a commit of the transaction itself fails
    the block, since it would have made the writes everybody's.
    """
    with engine.connect() as c:
        tx = c.begin()
        try:
            yield c
            assert tx.is_active, "the test committed `conn`: use `engine` or `own_engine`"
        finally:
            if tx.is_active:
                tx.rollback()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection whose transaction is rolled back after the test."""
    with rolled_back(engine) as c:
        yield c


@pytest.fixture
def own_database_url(databases: Databases, template: str) -> Iterator[str]:
    """A database of this test's own, copied from `template` and dropped after the test."""
    name = databases.fresh(template)
    try:
        yield databases.url(name)
    finally:
        databases.drop_later(name)


@pytest.fixture
def own_engine(own_database_url: str) -> Iterator[Engine]:
    """An engine on this test's own database."""
    yield from _engine_on(own_database_url)


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """Serve create_app(settings) with uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    if not settings.rate_limit_namespace:
        # Limits are counted in the shared database: each test server keeps its own counts.
        settings = settings.model_copy(update={"rate_limit_namespace": f"t{port}:"})
    with serve_in_thread(create_app(settings), port) as base:
        yield base


def suite_settings(database_url: str, limit: int = 10_000) -> Settings:
    """The app's settings for tests: limits high enough for a whole module's requests."""
    return Settings(
        database_url=database_url,
        rate_limit_login=limit,
        rate_limit_intake=limit,
        rate_limit_intake_key=limit,
        rate_limit_intake_address=limit,
    )


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    """The real app on real HTTP, serving the module's database."""
    with serve(suite_settings(database_url)) as url:
        yield url


@pytest.fixture(scope="module")
def http(server: str) -> Iterator[httpx.Client]:
    """An HTTP client against the module's server."""
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def admin_http(server: str, admin_token: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in as an admin, against the module's server."""
    with httpx.Client(
        base_url=server, timeout=60, headers={"Authorization": f"Bearer {admin_token}"}
    ) as client:
        yield client


@pytest.fixture
def own_server(own_database_url: str) -> Iterator[str]:
    """The real app on real HTTP, serving this test's own database."""
    with serve(suite_settings(own_database_url)) as url:
        yield url


@pytest.fixture
def own_http(own_server: str) -> Iterator[httpx.Client]:
    """An HTTP client against this test's own server."""
    with httpx.Client(base_url=own_server, timeout=30) as client:
        yield client


@pytest.fixture
def own_admin_http(own_server: str, admin_token: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in as an admin, against this test's own server."""
    with httpx.Client(
        base_url=own_server, timeout=60, headers={"Authorization": f"Bearer {admin_token}"}
    ) as client:
        yield client


class _CspBypassingBrowser:
    """A Playwright Browser whose contexts bypass the pages' Content-Security-Policy.

    Playwright runs string predicates (`page.wait_for_function("...")`) through eval, which the
    pages' CSP forbids (issue 13); the pages themselves need no eval. tests/test_security.py
    opens the pages under their real CSP (`bypass_csp=False`) and checks nothing is refused.
    """

    def __init__(self, browser: Browser) -> None:
        self._browser = browser

    def new_context(self, **kw: Any) -> Any:
        return self._browser.new_context(**{"bypass_csp": True, **kw})

    def new_page(self, **kw: Any) -> Any:
        return self._browser.new_page(**{"bypass_csp": True, **kw})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium driven by Playwright (never a downloaded browser build); one per
    module, and so one per xdist worker at a time."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield _CspBypassingBrowser(b)  # type: ignore[misc]
        b.close()


# A small GENERATED province (gisgrid.demo.province): 2 counties at 1% of a realistic county's
# counts, in the template of the test module that asks for it (other modules see the demo county
# alone) and as GeoParquet. The scale and bulk (Dask) tests use it.
PROVINCE = {"counties": 2, "seed": 7, "scale": 0.01}


def small_province_template(engine: Engine) -> list[str]:
    """Load the small generated province: a `seed_template` for the modules that ask for it."""
    from gisgrid.demo import province

    loaded = province.load_province(engine, **PROVINCE, progress=lambda m: None)
    return [c["county"] for c in loaded]


@pytest.fixture(scope="module")
def small_province(seed: Any) -> list[str]:
    """The small generated province's 12-digit county codes, in the module's template."""
    assert isinstance(seed, list), "the module's seed_template is small_province_template"
    return seed


@pytest.fixture(scope="session")
def province_parquet(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same province's points and grids as GeoParquet; the folder."""
    from gisgrid.demo import province

    root = tmp_path_factory.mktemp("province")
    province.write_parquet(root, **PROVINCE, progress=lambda m: None)
    return str(root)


@pytest.fixture
def served_config(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What `gisgrid serve` hands uvicorn (its Config's arguments), with "ran" once it ran."""
    from gisgrid import cli

    seen: dict[str, Any] = {}
    # _serve hands the app its database through the environment: restored after the test.
    monkeypatch.setenv("GISGRID_DATABASE_URL", "postgresql://nowhere/x")
    # _serve builds a uvicorn.Config and runs a Server on it: both stand-ins here.
    monkeypatch.setattr("uvicorn.Config", lambda *a, **kw: kw)

    class Server:
        def __init__(self, config: dict[str, Any]) -> None:
            seen.update(config)

        def run(self) -> None:
            seen["ran"] = True

    monkeypatch.setattr("uvicorn.Server", Server)
    cli._serve(Settings(), "postgresql://nowhere/x", "127.0.0.1", 8000)
    return seen
