"""Shared fixtures: a real PostGIS test database, the demo county, a real uvicorn server.

The database is GISGRID_TEST_DATABASE_URL when set, otherwise a `gisgrid_test` database in the
project's own PostGIS (started if needed). Nothing is mocked and nothing skips: without a
database the suite fails, loudly.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Connection, Engine

from api.app import create_app
from gisgrid.db import make_engine, migrate
from gisgrid.demo import county
from gisgrid.settings import Settings

DEMO_COUNTY = "441226"
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
def database_url(settings: Settings) -> str:
    """A migrated test database on real PostGIS."""
    url = os.environ.get("GISGRID_TEST_DATABASE_URL")
    if not url:
        from gisgrid.localdb import LocalPostgis

        local = LocalPostgis(settings.state_dir, progress=lambda m: None)
        local.up()
        url = local.ensure_database("gisgrid_test")
    migrate(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """One engine for the session."""
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def demo_county(engine: Engine, settings: Settings) -> str:
    """The Deqing demo county, loaded once per database (kept between runs)."""
    if not county.is_loaded(engine, DEMO_COUNTY):
        county.unload_county(engine, DEMO_COUNTY, progress=lambda m: None)
        county.load_demo_county(
            engine,
            DEMO_COUNTY,
            settings.cache_dir,
            seed=settings.demo_seed,
            progress=lambda m: print(f"demo: {m}"),
        )
    from gisgrid.patrols import roads

    # As `gisgrid demo` does: the GENERATED road network and key places patrols are measured on.
    with engine.begin() as conn:
        if not roads.has_network(conn, DEMO_COUNTY):
            roads.generate_demo_network(conn, DEMO_COUNTY, progress=lambda m: None)
    from gisgrid.demo import patrol_day

    # And its GENERATED patrol day (regenerated only when no longer current), so the center
    # map has staff positions and coverage; tests that need a grid nobody walked pick one.
    patrol_day.ensure_patrol_day(
        engine, DEMO_COUNTY, seed=settings.demo_seed, progress=lambda m: print(f"demo: {m}")
    )
    return DEMO_COUNTY + "000000"


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection whose transaction is rolled back after the test."""
    with engine.connect() as c:
        tx = c.begin()
        try:
            yield c
        finally:
            tx.rollback()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """Serve create_app(settings) with uvicorn on a free loopback port; yields its base URL."""
    port = _free_port()
    if not settings.rate_limit_namespace:
        # Limits are counted in the shared database: each test server keeps its own counts.
        settings = settings.model_copy(update={"rate_limit_namespace": f"t{port}:"})
    app = create_app(settings)
    # proxy_headers off, as `gisgrid serve` runs it: X-Forwarded-* only from trusted proxies.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 30 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(database_url: str, demo_county: str) -> Iterator[str]:
    """The real app on real HTTP, with limits high enough for the whole suite."""
    with serve(
        Settings(
            database_url=database_url,
            rate_limit_login=10_000,
            rate_limit_intake=10_000,
            rate_limit_intake_key=10_000,
            rate_limit_intake_address=10_000,
        )
    ) as url:
        yield url


@pytest.fixture(scope="session")
def http(server: str) -> Iterator[httpx.Client]:
    """An HTTP client against the running server."""
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def admin_token(server: str, engine: Engine) -> Iterator[str]:
    """A bearer token of a fresh admin account (removed afterwards)."""
    import uuid

    from sqlalchemy import text

    from gisgrid.access import accounts

    name, password = f"t-admin-{uuid.uuid4().hex[:8]}", "admin password 1"
    with engine.begin() as conn:
        accounts.create_account(conn, name, password, "admin", "")
    token = httpx.post(
        f"{server}/api/v1/auth/token", data={"username": name, "password": password}
    ).json()["access_token"]
    yield token
    with engine.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM access_token WHERE account_id IN "
                "(SELECT id FROM account WHERE username = :u)"
            ),
            {"u": name},
        )
        conn.execute(text("DELETE FROM account WHERE username = :u"), {"u": name})


@pytest.fixture(scope="session")
def admin_http(server: str, admin_token: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in as an admin."""
    with httpx.Client(
        base_url=server, timeout=60, headers={"Authorization": f"Bearer {admin_token}"}
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
    """Debian's chromium driven by Playwright (never a downloaded browser build)."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield _CspBypassingBrowser(b)  # type: ignore[misc]
        b.close()


# A small GENERATED province (gisgrid.demo.province): 2 counties at 1% of a realistic county's
# counts, in PostGIS for the test module that asks for it (unloaded after it, so tests of other
# modules see the demo county alone) and as GeoParquet. The scale and bulk (Dask) tests use it.
PROVINCE = {"counties": 2, "seed": 7, "scale": 0.01}


@pytest.fixture(scope="module")
def small_province(engine: Engine, demo_county: str) -> Iterator[list[str]]:
    """The small generated province in the test database; its 12-digit county codes."""
    from gisgrid.demo import province

    loaded = province.load_province(engine, **PROVINCE, progress=lambda m: None)
    yield [c["county"] for c in loaded]
    province.unload_province(engine, **PROVINCE, progress=lambda m: None)


@pytest.fixture(scope="session")
def province_parquet(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same province's points and grids as GeoParquet; the folder."""
    from gisgrid.demo import province

    root = tmp_path_factory.mktemp("province")
    province.write_parquet(root, **PROVINCE, progress=lambda m: None)
    return str(root)
