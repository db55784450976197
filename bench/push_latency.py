"""From a report's POST to its marker on the center wall and to the case on the worker's phone.

Two Chromium pages watch (every 10 ms, in the page) for report ids to appear: the town's wall
(`gisgrid.reportIds`, filled by its data fetch) and the grid worker's phone (`#gg-cases li`).
Reports are POSTed to Open311 one after another; each one's latency is the page's clock at
first sight minus the client's clock just before the POST (one machine, one clock).

mode "push": the pages as served (server-sent events trigger the fetch); mode "poll": the same
pages with EventSource removed, so they fall back to polling (wall 3 s, phone 30 s).
Used by tests/test_push_latency.py (push, printed) and bench/bench_push.py (both, recorded).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import Connection, text

from gisgrid.access import accounts
from gisgrid.reports import api_keys

WATCH_WALL = """() => { const seen = (window.__seen = {}); setInterval(() => {
  for (const id in (window.gisgrid.reportIds || {})) if (!seen[id]) seen[id] = Date.now();
}, 10); }"""
WATCH_PHONE = """() => { const seen = (window.__seen = {}); setInterval(() => {
  document.querySelectorAll('#gg-cases li[data-id]').forEach(li => {
    const id = li.getAttribute('data-id'); if (!seen[id]) seen[id] = Date.now(); });
}, 10); }"""
# Categories no report is ever a duplicate of (no duplicate rule: gisgrid.reports.taxonomy): the
# 20 reports at neighbouring doors are 20 cases, each with its own marker on the wall (the wall
# leaves supporters of an earlier report out: they add no work).
CATEGORIES = ["ZZ01", "ZZ02", "ZZ03", "ZZ04", "ZZ05", "ZZ07", "ZZ08", "ZZ09", "ZZ14", "SJ99"]


@dataclass
class Setup:
    """Where to post and who watches."""

    server: str
    api_key: str
    town: str
    grid: str
    operator: tuple[str, str]
    worker: tuple[str, str]
    points: list[tuple[float, float]]


def prepare(
    conn: Connection, county: str, operator: str, worker: str, key_name: str, password: str
) -> Setup:
    """A grid of the county, its town's operator and its worker, an API key, 20 doors to report
    at (the server left to the caller)."""
    grid = conn.execute(
        text(
            "SELECT g.code FROM grid g WHERE g.valid_to IS NULL AND g.code LIKE :c || '%' "
            "AND (SELECT count(*) FROM household h WHERE h.grid_id = g.id) > 60 "
            "ORDER BY g.code LIMIT 1 OFFSET 7"
        ),
        {"c": county},
    ).scalar_one()
    points = conn.execute(
        text(
            "SELECT ST_X(h.geom), ST_Y(h.geom) FROM household h JOIN grid g "
            "ON g.id = h.grid_id WHERE g.code = :g ORDER BY h.id LIMIT 20"
        ),
        {"g": grid},
    ).all()
    accounts.create_account(conn, operator, password, "town_operator", grid[:9])
    accounts.create_account(conn, worker, password, "grid_worker", grid)
    return Setup(
        server="",
        api_key=api_keys.create_key(conn, key_name),
        town=grid[:9],
        grid=grid,
        operator=(operator, password),
        worker=(worker, password),
        points=[(float(x), float(y)) for x, y in points],
    )


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(values: list[float]) -> str:
    """p50 / p95 / max in ms."""
    return (
        f"p50 {pct(values, 0.5):.0f} ms, p95 {pct(values, 0.95):.0f} ms, "
        f"max {max(values):.0f} ms, mean {statistics.mean(values):.0f} ms (n={len(values)})"
    )


def _sign_in(context: BrowserContext, server: str, user: tuple[str, str], target: str) -> Page:
    page = context.new_page()
    page.goto(f"{server}/login?next={target}")
    page.fill("input[name=username]", user[0])
    page.fill("input[name=password]", user[1])
    page.click("button")
    page.wait_for_url(f"**{target}")
    page.wait_for_function("document.body.getAttribute('data-gisgrid-ready') === '1'")
    return page


@contextmanager
def pages(browser: Browser, s: Setup, mode: str) -> Iterator[tuple[Page, Page]]:
    """The wall and the phone, signed in, watching."""
    wall_ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    phone_ctx = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        for ctx in (wall_ctx, phone_ctx):
            if mode == "poll":
                ctx.add_init_script("delete window.EventSource;")
        wall = _sign_in(wall_ctx, s.server, s.operator, f"/maps/center?unit={s.town}")
        phone = _sign_in(phone_ctx, s.server, s.worker, f"/maps/worker?grid={s.grid}")
        if mode == "push":
            phone.wait_for_function("() => document.body.getAttribute('data-push') === 'live'")
            wall.wait_for_function(
                "() => !!window.gisgrid.events && window.gisgrid.events.readyState === 1"
            )
        wall.evaluate(WATCH_WALL)
        phone.evaluate(WATCH_PHONE)
        yield wall, phone
    finally:
        wall_ctx.close()
        phone_ctx.close()


def measure(browser: Browser, s: Setup, mode: str = "push", n: int = 20) -> dict[str, list[float]]:
    """Latencies (ms) of n reports to the wall and to the phone; the reports' ids too."""
    rng = random.Random(16)
    sent: list[tuple[int, float]] = []
    with pages(browser, s, mode) as (wall, phone), httpx.Client(timeout=30) as http:
        for i in range(n):
            lon, lat = s.points[i % len(s.points)]
            t0 = time.time() * 1000
            r = http.post(
                f"{s.server}/open311/v2/requests.json",
                data={
                    "api_key": s.api_key,
                    "service_code": CATEGORIES[i % len(CATEGORIES)],
                    "lat": str(lat),
                    "long": str(lon),
                    "description": f"推送延迟测量 {i + 1}/{n} (bench)",
                },
            )
            r.raise_for_status()
            sent.append((int(r.json()[0]["service_request_id"]), t0))
            if mode == "push":  # one at a time: each report's own way through
                rid = sent[-1][0]
                for page in (wall, phone):
                    page.wait_for_function(f"() => !!window.__seen['{rid}']", timeout=15000)
                time.sleep(rng.uniform(0.2, 0.6))
            else:  # spread over the polling period, so each lands at a random phase
                time.sleep(rng.uniform(0.5, 2.5))
        deadline = 75000 if mode == "poll" else 15000
        for page in (wall, phone):
            ids = ",".join(f"'{rid}'" for rid, _ in sent)
            page.wait_for_function(
                f"() => [{ids}].every(id => !!window.__seen[id])", timeout=deadline
            )
        wall_seen = wall.evaluate("() => window.__seen")
        phone_seen = phone.evaluate("() => window.__seen")
    return {
        "wall": [wall_seen[str(rid)] - t0 for rid, t0 in sent],
        "phone": [phone_seen[str(rid)] - t0 for rid, t0 in sent],
        "ids": [float(rid) for rid, _ in sent],
    }
