"""POST /open311/v2/requests.json over real HTTP at a fixed concurrency (wrk): `gisgrid serve`
against a bare FastAPI endpoint that parses the same form and touches no database.

gisgrid's requests are real: a random point from the demo households and a random service, each
with its own Idempotency-Key, so each is placed, assigned, checked for duplicates and stored.
Both servers run one worker, in the same run; each is warmed up first, measured three times
(fresh server each time) and the medians kept. The bench's key and reports are deleted afterwards.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import Engine, text

from bench.common import (
    BIN,
    cpu_seconds,
    delete_key_reports,
    demo_engine,
    postgres_cpu_seconds,
    repeat,
    serve_gisgrid,
    serve_peer,
    wrk,
)
from gisgrid.reports import api_keys
from gisgrid.reports.taxonomy import CATEGORIES
from gisgrid.settings import Settings

CONNECTIONS = 4
SECONDS = 10
WARM_UP_S = 3
P99_TARGET_MS = 15.0
THROUGHPUT_TARGET = 0.3

# Every request carries its own Idempotency-Key, as a phone that may resend would.
LUA = """
local pts = {%s}
local codes = {%s}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local run = os.time() .. "-" .. math.random(1000000)
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

# One client sends everything here: the per-client intake limit (60 a minute) would turn all but
# the first requests into 429s, which is not what this measures.
# The limits are still counted (the dependency runs); only their ceilings are out of reach.
DIFFERS = {
    "GISGRID_RATE_LIMIT_INTAKE": ("100000000", "one bench client sends every report"),
    "GISGRID_RATE_LIMIT_INTAKE_KEY": ("100000000", "under one API key"),
    "GISGRID_RATE_LIMIT_INTAKE_ADDRESS": ("100000000", "from one address"),
}


def _check_one(base: str, key: str, point: tuple[float, float]) -> None:
    """One real report first: the bench must measure 201s, not refusals."""
    r = httpx.post(
        base + "/open311/v2/requests.json",
        data={"api_key": key, "service_code": CATEGORIES[0].code, "lat": point[1],
              "long": point[0], "description": "bench check"},
        headers={"Idempotency-Key": f"bench-check-{uuid.uuid4().hex}"},
    )  # fmt: skip
    if r.status_code != 201:
        raise SystemExit(f"the intake answered {r.status_code}: {r.text[:300]}")


def _pg_cpu_by_kind(engine: Any, settings: Settings) -> dict[str, float]:
    """CPU seconds so far of the cluster's processes by kind: the LISTEN connections, the other
    connections (the intake pool, health checks), WAL writer, ... (the ones alive now)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT pid, backend_type, query FROM pg_stat_activity WHERE pid IS NOT NULL")
        ).all()
    out = dict.fromkeys(("LISTEN connections", "connections", "walwriter", "others"), 0.0)
    for pid, kind, query in rows:
        if kind == "client backend":
            listens = "LISTEN " in (query or "")  # after the resource file's comment line
            kind = "LISTEN connections" if listens else "connections"
        elif kind != "walwriter":
            kind = "others"
        try:
            out[kind] = out.get(kind, 0.0) + cpu_seconds(pid)
        except OSError:
            continue  # ended meanwhile
    return out


def client(engine: Engine) -> tuple[str, str, list[Any], str]:
    """The bench's client: a new API key's name and key, 2,000 household points spread over
    the county, and wrk's script sending reports at them under that key."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        key = api_keys.create_key(conn, name)
        pts = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM household ORDER BY id % 997, id LIMIT 2000")
        ).all()
    lua = LUA % (
        ",".join(f"{{{x!r},{y!r}}}" for x, y in pts),
        ",".join(f'"{c.code}"' for c in CATEGORIES),
        key,
    )
    return name, key, list(pts), lua


def main() -> None:
    """Print p50/p99 latency and throughput for `gisgrid serve` and the bare endpoint."""
    settings = Settings()
    engine = demo_engine(settings.demo_county, settings)
    name, key, pts, lua = client(engine)
    print(
        f"POST /open311/v2/requests.json, wrk {CONNECTIONS} connections for {SECONDS} s "
        f"(and 1 connection), one worker, after {WARM_UP_S} s of warm-up"
    )

    def ours() -> dict[str, Any]:
        with serve_gisgrid(engine, DIFFERS) as s:
            _check_one(s.base, key, pts[0])
            wrk(s.base, lua, CONNECTIONS, WARM_UP_S)
            # CPU per report, worker and PostgreSQL: what bounds throughput on 2 shared cores,
            # and far less disturbed by other load than the latencies.
            worker, pg = cpu_seconds(s.proc.pid), postgres_cpu_seconds(settings)
            kinds = _pg_cpu_by_kind(engine, settings) if pg is not None else {}
            four = wrk(s.base, lua, CONNECTIONS, SECONDS)
            n = four["req_s"] * SECONDS
            four["cpu_ms"] = (cpu_seconds(s.proc.pid) - worker) / n * 1000
            pg_after = postgres_cpu_seconds(settings)
            if pg is not None and pg_after is not None:
                four["pg_cpu_ms"] = (pg_after - pg) / n * 1000
                # Where PostgreSQL's share goes (processes alive through the run).
                after = _pg_cpu_by_kind(engine, settings)
                for kind, s0 in kinds.items():
                    if kind in after:
                        four[f"pg_{kind}"] = (after[kind] - s0) / n * 1000
            one = wrk(s.base, lua, 1, SECONDS // 2)
        return four | {f"1conn_{k}": v for k, v in one.items() if k in ("p50_ms", "p99_ms")}

    def bare() -> dict[str, Any]:
        argv = [str(BIN / "uvicorn"), "bench.bare_app:app", "--port", "{port}",
                "--log-level", "warning", "--no-access-log"]  # fmt: skip
        with serve_peer("bare FastAPI", argv, ready_path="/openapi.json") as s:
            wrk(s.base, lua, CONNECTIONS, WARM_UP_S)
            before = cpu_seconds(s.proc.pid)
            r = wrk(s.base, lua, CONNECTIONS, SECONDS)
            r["cpu_ms"] = (cpu_seconds(s.proc.pid) - before) / (r["req_s"] * SECONDS) * 1000
            return r

    def run() -> dict[str, Any]:
        g, b = ours(), bare()
        # The ratio per run (both under the same load), then its median.
        return {**g, **{f"bare_{k}": v for k, v in b.items()}, "ratio": g["req_s"] / b["req_s"]}

    try:
        m = repeat("intake (gisgrid serve, then bare FastAPI)", run)
    finally:
        n = delete_key_reports(engine, name)
        print(f"(deleted the bench's {n:,} reports and its key)")
    g = {k: v for k, v in m.items() if not k.startswith("bare_")}
    b = {k[5:]: v for k, v in m.items() if k.startswith("bare_")}
    differs = ", ".join(f"{k}={v}" for k, (v, _) in DIFFERS.items())
    print(
        f"medians of 3 runs, {CONNECTIONS} connections (differs from a user's set-up: {differs}):"
    )
    for label, r in (("gisgrid serve", g), ("bare FastAPI", b)):
        print(
            f"  {label:<14} p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
            f"{r['req_s']:8.0f} req/s  non-2xx {r['non2xx']:.0f}"
        )
    pg_cpu = f", PostgreSQL {g['pg_cpu_ms']:.2f} ms (all its processes)" if "pg_cpu_ms" in g else ""
    print(
        f"  CPU per request: gisgrid worker {g['cpu_ms']:.2f} ms{pg_cpu}; "
        f"bare FastAPI {b['cpu_ms']:.2f} ms"
    )
    split = ", ".join(
        f"{k[3:]} {v:.3f}" for k, v in g.items() if k.startswith("pg_") and k != "pg_cpu_ms"
    )
    if split:
        print(f"  PostgreSQL CPU per request by process (ms): {split}")
    print(f"  gisgrid serve, 1 connection: p50 {g['1conn_p50_ms']:.2f} ms, "
          f"p99 {g['1conn_p99_ms']:.2f} ms")  # fmt: skip
    if g["non2xx"] or g["sock_err"]:
        print(f"WARNING: {g['non2xx']:.0f} non-2xx, {g['sock_err']:.0f} socket errors: not valid")
    ratio = m["ratio"]
    print(
        f"ratio gisgrid/bare throughput {ratio:.2f}x (target >= {THROUGHPUT_TARGET}x: "
        f"{'met' if ratio >= THROUGHPUT_TARGET else 'NOT met'}); p99 {g['p99_ms']:.1f} ms "
        f"(target < {P99_TARGET_MS:g} ms: {'met' if g['p99_ms'] < P99_TARGET_MS else 'NOT met'})"
    )
