"""POST requests.json over real HTTP at a fixed concurrency (wrk): gisgrid vs a bare FastAPI app.

Both run as one uvicorn worker on loopback in the same run. gisgrid's requests are real: a random
point from the demo households and a random service, so each is placed, assigned, checked for
duplicates and stored. The bench's key and reports are deleted afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text

from bench.bench_assign import _engine
from gisgrid.reports import api_keys
from gisgrid.reports.taxonomy import CATEGORIES

CONCURRENCY = 4
DURATION_S = 15
ROOT = Path(__file__).resolve().parent.parent

# Every request carries its own Idempotency-Key, as a phone that may resend would.
LUA = """
local pts = {%s}
local codes = {%s}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local run = os.time()
local n = 0
request = function()
  n = n + 1
  local p = pts[math.random(#pts)]
  local body = "api_key=%s&service_code=" .. codes[math.random(#codes)] ..
      "&lat=" .. p[2] .. "&long=" .. p[1] .. "&description=bench"
  return wrk.format("POST", "/open311/v2/requests.json",
      {["Content-Type"] = "application/x-www-form-urlencoded",
       ["Idempotency-Key"] = "bench-" .. run .. "-" .. tostring(tid) .. "-" .. n}, body)
end
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(app: str, env: dict[str, str], workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--workers",
            str(workers),
            *(["--factory"] if "create_app" in app else []),
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/openapi.json", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"{app} did not start")


def _wrk(base: str, script: str, connections: int = CONCURRENCY) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(min(2, connections)),  # wrk needs a connection per thread
            "-c",
            str(connections),
            "-d",
            f"{DURATION_S}s",
            "--latency",
            "-s",
            script,
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert m, out
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert rps, out
    return {
        "p50": ms("50%"),
        "p99": ms("99%"),
        "rps": float(rps.group(1)),
        "errors": float(non2xx.group(1)) if non2xx else 0.0,
    }


def main() -> None:
    """Print p50/p99 latency and throughput for gisgrid and the bare endpoint."""
    if not shutil.which("wrk"):
        print("wrk is not installed: apt-get install wrk")
        return
    engine = _engine()
    name = f"bench-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        key = api_keys.create_key(conn, name)
        pts = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM household ORDER BY id % 997, id LIMIT 2000")
        ).all()
    env = {
        **os.environ,
        "GISGRID_DATABASE_URL": str(engine.url.render_as_string(False)),
        # One client sends everything here: lift the per-client intake limit (429s are not
        # what this measures), and fail loudly below if any non-2xx slips through anyway.
        "GISGRID_RATE_LIMIT_INTAKE": "100000000",
    }
    codes = [c.code for c in CATEGORIES]
    lua = LUA % (
        ",".join(f"{{{x!r},{y!r}}}" for x, y in pts),
        ",".join(f'"{c}"' for c in codes),
        key,
    )
    results = {}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    try:
        for label, app, workers in (
            ("gisgrid", "api.app:create_app", 1),
            ("bare FastAPI", "bench.bare_app:app", 1),
            # As deployed on a 2-core machine: one worker per core, both measured the same way.
            ("gisgrid, 2 workers", "api.app:create_app", 2),
            ("bare FastAPI, 2 workers", "bench.bare_app:app", 2),
        ):
            proc, base = _serve(app, env, workers)
            try:
                # Warm-up: pooled connections, prepared statements, compiled SQL functions.
                _wrk(base, f.name) if label.startswith("gisgrid") else None
                results[label] = _wrk(base, f.name)
                if workers == 1:
                    # One phone at a time: the latency a single client sees with no queueing.
                    results[f"{label}, 1 conn"] = _wrk(base, f.name, connections=1)
            finally:
                proc.terminate()
                proc.wait(timeout=10)
    finally:
        os.unlink(f.name)
        with engine.begin() as conn:
            kid = conn.execute(text("SELECT id FROM api_key WHERE name = :n"), {"n": name}).scalar()
            n = conn.execute(text("DELETE FROM report WHERE api_key_id = :k"), {"k": kid}).rowcount
            conn.execute(text("DELETE FROM api_key WHERE id = :k"), {"k": kid})
        # Thousands of deleted rows leave dead index entries that slow the next run's lookups.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE report"))
        print(f"(deleted the bench's {n:,} reports and its key)")
    print(f"POST /open311/v2/requests.json, {CONCURRENCY} connections (unless said), "
          f"{DURATION_S} s, 1 worker")  # fmt: skip
    for label, r in results.items():
        print(
            f"{label:<24} p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms  "
            f"{r['rps']:8.0f} req/s  non-2xx {r['errors']:.0f}"
        )
    g, b = results["gisgrid"], results["bare FastAPI"]
    if g["errors"]:
        print(f"WARNING: {g['errors']:.0f} gisgrid responses were not 2xx: figures are not valid")
    print(
        f"ratio gisgrid/bare: throughput {g['rps'] / b['rps']:.2f}x, "
        f"p99 {g['p99'] / b['p99']:.1f}x; "
        f"target p99 < 25 ms: {'met' if g['p99'] < 25 else 'NOT met'}"
    )
