"""The grid worker's map offline (maps/offline.py, /maps/sw.js): the service worker script as
served, and in real Chromium a signed-in worker's map surviving a reload without network and
leaving nothing behind on the phone after signing out."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import Engine

from gisgrid.access import accounts
from maps import offline
from maps.assets import shell_assets
from tests.browser import sign_in

PHONE = {"width": 390, "height": 844}
# Screenshots of the offline state go outside the repository: they are for looking, not keeping.
SHOTS = Path("/tmp/gisgrid-offline")


def _config(script: str) -> dict[str, Any]:
    m = re.search(r"^var CONFIG = (\{.*\});$", script, re.MULTILINE)
    assert m, "sw.js has no filled-in CONFIG line"
    return dict(json.loads(m.group(1)))


def test_sw_js_is_served_uncached_with_its_config(own_http: httpx.Client) -> None:
    r = own_http.get(offline.SERVICE_WORKER_URL)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    # A deploy must reach phones on their next visit: the browser revalidates every time.
    assert r.headers["cache-control"] == "no-cache"
    assert "filled by maps.offline" not in r.text
    cfg = _config(r.text)
    assert cfg["shellCache"] == f"gisgrid-shell-{cfg['version']}"
    assert cfg["personalCache"] == offline.PERSONAL_CACHE
    assert cfg["precache"] == sorted(shell_assets())
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in cfg["precache"]
    assert "/static/gisgrid/gisgrid.js" in cfg["precache"]
    # Everything precached is really served (one 404 would fail the whole install).
    for url in cfg["precache"]:
        assert own_http.get(url).status_code == 200, url


def test_sw_version_follows_the_assets() -> None:
    assets = shell_assets()
    same = offline.service_worker(dict(assets))
    assert offline.service_worker(assets) == same  # no time or randomness in the script
    changed = dict(assets)
    changed["/static/gisgrid/gisgrid.js"] += b"\n// changed"
    before, after = _config(same), _config(offline.service_worker(changed))
    assert before["version"] != after["version"]
    assert before["shellCache"] != after["shellCache"]
    added = {**assets, "/static/gisgrid/new.css": b"a{}"}
    assert _config(offline.service_worker(added))["version"] != before["version"]


def test_login_page_forgets_and_logout_clears_site_data(own_http: httpx.Client) -> None:
    page = own_http.get("/login").text
    assert f'caches.delete("{offline.PERSONAL_CACHE}")' in page
    r = own_http.post("/logout", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["clear-site-data"] == '"cache", "storage"'


@pytest.fixture
def worker_grid(own_admin_http: httpx.Client) -> str:
    """A demo grid with households and open cases."""
    fc = own_admin_http.get(
        "/maps/data/grids", params={"unit": "441226", "geometry": "false"}
    ).json()
    props = [f["properties"] for f in fc["features"]]
    best = max(props, key=lambda p: (p["open_cases"] > 0, p["households"]))
    assert best["open_cases"] > 0
    return str(best["code"])


@pytest.fixture
def grid_worker(own_engine: Engine, worker_grid: str) -> tuple[str, str]:
    """A grid worker (网格员) account scoped to that grid: (username, password)."""
    name, password = "t-worker", "worker password 1"
    with own_engine.begin() as conn:
        accounts.create_account(conn, name, password, "grid_worker", worker_grid)
    return name, password


def _sign_in(context: BrowserContext, server: str, user: tuple[str, str], grid: str) -> Page:
    page = context.new_page()
    sign_in(page, server, user[0], user[1], f"/maps/worker?grid={grid}")
    return page


def _stored(page: Page) -> dict[str, list[str]]:
    """Every cache of this origin with the URLs it holds."""
    return dict(
        page.evaluate(
            """async () => {
              const out = {};
              for (const name of await caches.keys()) {
                const keys = await (await caches.open(name)).keys();
                out[name] = keys.map((r) => new URL(r.url).pathname);
              }
              return out;
            }"""
        )
    )


def _session(context: BrowserContext) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == "gisgrid_session")


def test_worker_map_works_offline_and_sign_out_leaves_nothing(
    browser: Browser, own_server: str, grid_worker: tuple[str, str], worker_grid: str
) -> None:
    context = browser.new_context(viewport=PHONE)
    errors: list[str] = []
    try:
        page = _sign_in(context, own_server, grid_worker, worker_grid)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.wait_for_function("document.body.getAttribute('data-offline-ready') === '1'")
        hh = int(page.get_attribute("body", "data-households") or 0)
        cases = int(page.get_attribute("body", "data-open-cases") or 0)
        assert hh > 50 and cases > 0
        assert page.get_attribute("#gg-net", "data-net") == "online"
        fetched_at = page.evaluate("() => window.gisgrid.cfg.fetchedAt")
        stored = _stored(page)
        assert "/maps/worker" in stored[offline.PERSONAL_CACHE]
        shell = next(n for n in stored if n.startswith("gisgrid-shell-"))
        assert "/static/vendor/leaflet-1.9.4/leaflet.js" in stored[shell]
        token = _session(context)

        # No network at all: the page, Leaflet and the data all come from this phone.
        went_offline = dt.datetime.now(dt.UTC)
        context.set_offline(True)
        t0 = time.monotonic()
        page.reload(wait_until="load")
        page.wait_for_function("document.body.getAttribute('data-gisgrid-ready') === '1'")
        load_s = time.monotonic() - t0
        page.wait_for_function("document.getElementById('gg-net').dataset.net === 'offline'")
        assert page.evaluate("() => !!navigator.serviceWorker.controller")
        # The copy kept while online (the service worker fetched its own, moments later).
        kept_at = dt.datetime.fromisoformat(page.evaluate("() => window.gisgrid.cfg.fetchedAt"))
        assert dt.datetime.fromisoformat(fetched_at) <= kept_at < went_offline
        assert int(page.get_attribute("body", "data-households") or 0) == hh
        assert page.evaluate("() => window[window.gisgrid.cfg.households].getLayers().length") == hh
        assert page.evaluate("() => window[window.gisgrid.cfg.cases].getLayers().length") == cases
        assert page.evaluate("() => window[window.gisgrid.cfg.grid].getLayers().length") == 1
        assert page.locator("#gg-cases li").count() == cases
        # The status line says offline and when the data on screen was fetched (local HH:MM).
        shown = page.evaluate(
            """() => { const d = new Date(window.gisgrid.cfg.fetchedAt);
              return ('0' + d.getHours()).slice(-2) + ':' + ('0' + d.getMinutes()).slice(-2); }"""
        )
        status = page.text_content("#gg-net") or ""
        assert status.startswith("离线") and shown in status, status
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "worker-offline-390.png"))
        print(f"offline reload to a drawn map: {load_s:.2f} s")

        # Sign out, still offline: this phone's copy goes now, the session on the next request.
        with page.expect_navigation(wait_until="load"):
            page.click("#gg-signout button")
        assert "没有这张网格图的副本" in (page.text_content("body") or "")
        stored = _stored(page)
        assert offline.PERSONAL_CACHE not in stored
        assert not [u for urls in stored.values() for u in urls if u in offline.PERSONAL_PATHS]
        assert offline.SIGNOUT_CACHE in stored

        # Back online, whoever picks up the phone finds the session ended, not the last map.
        context.set_offline(False)
        page.goto(f"{own_server}/maps/worker?grid={worker_grid}")
        page.wait_for_url("**/login?**")
        me = httpx.get(f"{own_server}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401 or me.json()["authenticated"] is False
        assert offline.SIGNOUT_CACHE not in _stored(page)
        assert not errors, errors
    finally:
        context.close()
