"""Push against polling: a report's POST to its marker on the town's wall and to the case on the
grid worker's phone, 20 reports each way, in Chromium (bench/push_latency.py).

push: the pages as served (PostgreSQL NOTIFY -> server-sent event -> the page fetches at once).
poll: the same pages with EventSource removed (the wall's 3 s poll, the phone's 30 s poll, as
before issue 16). One uvicorn worker on loopback; the machine's load average is printed, since
the figures move with it.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import uuid

import httpx
from playwright.sync_api import sync_playwright
from sqlalchemy import text

from bench.common import demo_engine
from bench.push_latency import measure, prepare, summary
from gisgrid.settings import Settings

COUNTY = "441226"
N = 20
PASSWORD = "bench push password"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--port", str(port),
         "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/healthz", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("gisgrid did not start")


def main() -> None:
    """Print p50/p95 for push and polling, to the wall and to the phone."""
    engine = demo_engine(COUNTY, Settings())
    tag = uuid.uuid4().hex[:8]
    operator, worker, key_name = f"bench-push-o-{tag}", f"bench-push-w-{tag}", f"bench-push-{tag}"
    with engine.begin() as conn:
        setup = prepare(conn, COUNTY, operator, worker, key_name, PASSWORD)
        grid = setup.grid
        open_in_town = conn.execute(
            text(
                "SELECT count(*) FROM report r JOIN grid g ON g.id = r.grid_id "
                "WHERE left(g.code, 9) = :t AND r.status IN ('dispatched', 'in_progress', "
                "'registered', 'submitted')"
            ),
            {"t": grid[:9]},
        ).scalar_one()
    env = {
        **os.environ,
        "GISGRID_DATABASE_URL": engine.url.render_as_string(False),
        "GISGRID_RATE_LIMIT_INTAKE": "100000",
        "GISGRID_RATE_LIMIT_LOGIN": "100000",
    }
    proc, base = _serve(env)
    results = {}
    try:
        setup = dataclasses.replace(setup, server=base)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                for mode in ("push", "poll"):
                    results[mode] = measure(browser, setup, mode, n=N)
            finally:
                browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM report WHERE description LIKE '推送延迟测量%'"))
            conn.execute(text("DELETE FROM api_key WHERE name = :n"), {"n": key_name})
            names = [operator, worker]
            ids = "(SELECT id FROM account WHERE username = ANY(:n))"
            conn.execute(text(f"DELETE FROM access_token WHERE account_id IN {ids}"), {"n": names})
            conn.execute(text("DELETE FROM account WHERE username = ANY(:n)"), {"n": names})
    load = os.getloadavg()
    print(f"town {grid[:9]} ({open_in_town} open cases on its wall), grid {grid}; {N} reports")
    for mode in ("push", "poll"):
        for where in ("wall", "phone"):
            print(f"{mode:<5} POST -> {where:<6} {summary(results[mode][where])}")
    print(f"load average (1, 5, 15 min) after the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
