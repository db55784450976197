"""Each map page as its user opens it, in Chromium: page weight and time to first map shapes;
and the wall's bytes per hour, before (the old polling) and after (deltas).

Pages run against gisgrid served by uvicorn in this process, on the demo county, with a cold
browser cache (a new context per page), at their user's size: the residents' page and the
follow-up page at 390x844, the worker's map at 390x844, the wall at 1920x1080, the planner at
1600x900. Weight is what crossed the wire (Resource Timing transferSize: compressed bodies plus
headers). "First shapes": the page's own shapes drawn (gisgrid's ready mark: grids, cases,
households) and the first basemap tile in.

Wall bytes per hour: the old wall (main before issue 14) polled /maps/data/reports every 3 s,
staff every 15 s, grid measures and the ranking every 30 s; those endpoints are still served,
so their gzip sizes are measured here and multiplied by that schedule. The new wall is run for
real in Chromium for RUN_S seconds, idle and then with a report filed every 30 s, and every
byte it fetched after loading is counted and scaled to an hour.
"""

from __future__ import annotations

import contextlib
import time
import uuid

import httpx
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine, text

from api.app import create_app
from bench.common import demo_engine, free_port, one, scalar, serve_in_thread
from gisgrid.access import accounts
from gisgrid.settings import Settings

COUNTY = "441226"
PASSWORD = "bench wall password"
RUN_S = 120
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
# Resource Timing keeps 250 entries by default; a live wall makes more.
INIT = """
performance.setResourceTimingBufferSize(100000);
new MutationObserver((_, obs) => {
  if (document.body && document.body.getAttribute('data-gisgrid-ready') === '1') {
    window.__ready = performance.now(); obs.disconnect();
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-gisgrid-ready']});
"""
TOTALS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const base = res.filter(r => r.name.includes('/tiles/basemap/')).map(r => r.responseEnd);
  return {
    bytes: nav.transferSize + res.reduce((a, r) => a + r.transferSize, 0),
    html: nav.transferSize, requests: res.length + 1,
    ready: window.__ready || null,
    basemap: base.length ? Math.min(...base) : null,
  };
}"""


def _kib(n: float) -> str:
    return f"{n / 1024:,.1f} KiB"


def _old_wall_per_hour(base: str, token: str) -> dict[str, float]:
    """The old wall's schedule (3 s / 15 s / 30 s / 30 s) times today's gzip sizes."""
    polls = {
        f"/maps/data/reports?unit={COUNTY}": 3600 / 3,
        f"/maps/data/staff?unit={COUNTY}": 3600 / 15,
        f"/maps/data/grids?unit={COUNTY}&geometry=false": 3600 / 30,
        f"/maps/data/ranking?unit={COUNTY}": 3600 / 30,
    }
    out = {}
    with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as c:
        for url, per_hour in polls.items():
            r = c.get(url, headers={"Accept-Encoding": "gzip"})
            wire = int(r.headers.get("content-length") or len(r.content))  # compressed size
            out[url] = (wire + 250) * per_hour  # ~250 bytes of response headers each
    return out


def _account(engine: Engine) -> str:
    name = f"bench-wall-{uuid.uuid4().hex[:6]}"
    with engine.begin() as conn:
        accounts.create_account(conn, name, PASSWORD, "county_operator", COUNTY)
    return name


def _file_report(engine: Engine, n: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO report (category, description, source, status, grid_id, reported_at, "
                "dispatched_at, due_at, generated, geom) SELECT 'SJ01', :d, 'resident', "
                "'dispatched', g.id, now(), now(), now() + interval '4 hours', true, "
                "ST_PointOnSurface(g.geom) FROM grid g WHERE g.valid_to IS NULL "
                "ORDER BY g.code OFFSET :n LIMIT 1"
            ),
            {"d": "bench wall report", "n": n},
        )


def main() -> None:
    """Print page weight and first-shapes time per page, and the wall's bytes per hour."""
    settings = Settings()
    engine = demo_engine(COUNTY, settings)
    user = _account(engine)
    grid = one(
        engine,
        "SELECT g.code FROM grid g JOIN household h ON h.grid_id = g.id "
        "WHERE g.valid_to IS NULL GROUP BY g.code ORDER BY count(*) DESC LIMIT 1",
    ).code
    report = scalar(engine, "SELECT min(id) FROM report")
    phone, wall, desk = (390, 844), (1920, 1080), (1600, 900)
    pages = [
        ("residents' page", "/report", phone, False),
        ("follow-up page", f"/report/{report}", phone, False),
        ("worker's map", f"/maps/worker?grid={grid}", phone, True),
        ("wall", f"/maps/center?unit={COUNTY}", wall, True),
        ("planner", f"/maps/planner?unit={COUNTY}", desk, True),
    ]
    try:
        with serve_in_thread(create_app(settings), free_port()) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            token = httpx.post(
                f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD}
            ).json()["access_token"]
            cookie = {"name": "gisgrid_session", "value": token, "domain": "127.0.0.1", "path": "/"}
            print(
                f"{'page':16} {'size':>9} {'weight':>11} {'HTML':>10} {'req':>4} "
                f"{'shapes':>8} {'basemap':>8}"
            )
            for name, path, (w, h), signed in pages:
                ctx = browser.new_context(viewport={"width": w, "height": h})
                if signed:
                    ctx.add_cookies([cookie])
                page = ctx.new_page()
                page.add_init_script(INIT)
                page.goto(base + path, wait_until="load")
                if "/report/" not in path:
                    page.wait_for_function("window.__ready")
                    with contextlib.suppress(Exception):
                        page.wait_for_function(
                            "performance.getEntriesByType('resource')"
                            ".some(r => r.name.includes('/tiles/basemap/'))",
                            timeout=10000,
                        )
                page.wait_for_timeout(1500)
                t = page.evaluate(TOTALS)
                shapes = f"{t['ready'] / 1000:.2f} s" if t["ready"] else "—"
                tile = f"{t['basemap'] / 1000:.2f} s" if t["basemap"] else "—"
                print(
                    f"{name:16} {w}x{h:<4} {_kib(t['bytes']):>11} {_kib(t['html']):>10} "
                    f"{t['requests']:>4} {shapes:>8} {tile:>8}",
                    flush=True,
                )
                ctx.close()

            old = _old_wall_per_hour(base, token)
            print("\nwall, bytes per hour (gzip on the wire, headers included)")
            for url, b in old.items():
                print(f"  before: {url:48} {b / 2**20:8.2f} MiB/h")
            print(f"  before: total {sum(old.values()) / 2**20:.2f} MiB/h")

            ctx = browser.new_context(viewport={"width": wall[0], "height": wall[1]})
            ctx.add_cookies([cookie])
            page = ctx.new_page()
            page.add_init_script(INIT)
            page.goto(f"{base}/maps/center?unit={COUNTY}", wait_until="load")
            page.wait_for_function("window.__ready")
            page.wait_for_timeout(3000)
            count = (
                "(n) => performance.getEntriesByType('resource').slice(n)"
                ".reduce((a, r) => a + r.transferSize, 0)"
            )
            for label, filing in (("idle", False), ("a report every 30 s", True)):
                t0 = time.monotonic()
                n0 = page.evaluate("performance.getEntriesByType('resource').length")
                filed = 0
                while time.monotonic() - t0 < RUN_S:
                    if filing and time.monotonic() - t0 > filed * 30:
                        _file_report(engine, filed)
                        filed += 1
                    time.sleep(1)
                got = page.evaluate(count, n0)
                asks = page.evaluate("performance.getEntriesByType('resource').length") - n0
                print(
                    f"  after ({label}, {RUN_S} s in Chromium, {asks} requests): "
                    f"{got * 3600 / RUN_S / 2**20:.3f} MiB/h ({_kib(got * 3600 / RUN_S)}/h)",
                    flush=True,
                )
            ctx.close()
            browser.close()
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM report WHERE description = 'bench wall report'"))
            conn.execute(
                text(
                    "DELETE FROM access_token WHERE account_id IN "
                    "(SELECT id FROM account WHERE username = :u)"
                ),
                {"u": user},
            )
