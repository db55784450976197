"""A realistic mix at a fixed arrival rate through `gisgrid serve` (issue 13): steady, with
PostgreSQL crashed and restarted in the middle, and at twice the rate.

Open loop: requests are sent on a fixed schedule whether or not earlier ones were answered,
so an overloaded server shows as latency and 503s, not as a politely slower client. Latency is
counted from the scheduled send time (no coordinated omission). The mix, per 100 requests:

    10 Open311 reports (form, API key)       25 locate (a household's point)
    10 residents' reports (JSON, phone token) 25 grid tiles (county, z10-13, mostly cache hits)
     8 wall polls of open reports             4 wall polls of staff positions
     3 wall polls of grid measures           15 /healthz

Every report carries its own Idempotency-Key; acknowledged (201/200) is compared with what
the database holds for those keys (lost = acknowledged but not stored, duplicated = stored
twice). Phases: steady at RATE for SECONDS, three runs (the table shows each figure's median);
the same with the database stopped by `pg_ctl -m immediate` at 1/3 of the run and started again
DOWN_S later, clients retrying their reports with the same key after Retry-After; twice RATE
for OVERLOAD_S, then how long until /readyz and a locate answer 200 again. The peer: a bare
FastAPI endpoint parsing the same form (bench/bare_app.py), same generator, same rate.

Each run starts from the same open reports: those a run filed are closed after it is checked
(otherwise every run found thousands more open reports on the wall than the one before, and
three runs were not three measurements of one thing); all are deleted at the end.

Environment: BENCH_LOAD_RATE (200), BENCH_LOAD_SECONDS (60), BENCH_LOAD_RUNS (3),
BENCH_LOAD_WORKERS (1: `gisgrid serve`; 2: `gisgrid serve --workers 2`, one per core).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import Engine, text

from bench.common import demo_engine, stop
from gisgrid.access import accounts
from gisgrid.reports import api_keys
from gisgrid.settings import Settings

COUNTY = "441226"
RATE = float(os.environ.get("BENCH_LOAD_RATE", 200))
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", 60))
RUNS = int(os.environ.get("BENCH_LOAD_RUNS", 3))
WORKERS = int(os.environ.get("BENCH_LOAD_WORKERS", 1))
OVERLOAD_S = max(10.0, SECONDS / 2)
DOWN_S = 3.0
P99_TARGET_MS = 300
GENERATORS = 2  # processes sending: one Python process tops out near 300 requests/s
ROOT = Path(__file__).resolve().parent.parent
SERVER_LOG = Path(os.environ.get("BENCH_LOAD_LOG", "/tmp/gisgrid-bench-load-server.log"))
MIX = {
    "open311": 10,
    "resident": 10,
    "locate": 25,
    "tile": 25,
    "poll_reports": 8,
    "poll_staff": 4,
    "poll_grids": 3,
    "healthz": 15,
}
REPORT_KINDS = ("open311", "resident")
SERVICE_CODES = ("SJ01", "SJ02", "SJ05", "SJ08")


@dataclass(frozen=True)
class Call:
    """One request of the schedule."""

    kind: str
    method: str
    path: str
    params: dict[str, str] | None = None
    form: dict[str, str] | None = None
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    key: str | None = None  # the Idempotency-Key of a report


@dataclass
class Result:
    """What became of one call (its last attempt, for a retried report)."""

    kind: str
    scheduled: float
    done: float
    status: int | str
    retry_after: str | None
    key: str | None
    attempts: int
    first_status: int | str
    lag: float  # how late the generator sent it (its own overload shows here)


@dataclass
class Fixture:
    """What the schedule draws from."""

    base: str
    token: str
    api_key: str
    points: list[tuple[float, float]]
    tiles: list[tuple[int, int, int]]
    generation: int
    run: str
    keys: list[str] = field(default_factory=list)

    def new_key(self) -> str:
        """A fresh Idempotency-Key for a report of this run, kept in `keys`."""
        key = f"bench-load-{self.run}-{uuid.uuid4().hex}"
        self.keys.append(key)
        return key


# --- the generator (runs in worker processes) ---------------------------------------------
# A minimal HTTP/1.1 client on asyncio streams: httpx costs about a millisecond of CPU per
# request, which on a shared 2-core machine made the generator, not the server, the bottleneck.


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer


class RawClient:
    """Keep-alive connections to one host; one request at a time per connection."""

    def __init__(self, base: str, timeout: float) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port, self.timeout = host, int(port), timeout
        self.idle: list[_Conn] = []

    async def request(self, call: Call) -> tuple[int | str, str | None, bytes]:
        path = call.path
        if call.params:
            path += "?" + urlencode(call.params)
        body = b""
        headers = {"Host": f"{self.host}:{self.port}", **(call.headers or {})}
        if call.form is not None:
            body = urlencode(call.form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif call.body is not None:
            body = json.dumps(call.body).encode()
            headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(body))
        head = f"{call.method} {path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        data = head.encode("latin-1") + b"\r\n" + body
        deadline = time.monotonic() + self.timeout
        while True:
            conn = self.idle.pop() if self.idle else None
            reused = conn is not None
            try:
                if conn is None:
                    conn = _Conn(
                        *await asyncio.wait_for(
                            asyncio.open_connection(self.host, self.port), self.timeout
                        )
                    )
                left = max(0.1, deadline - time.monotonic())
                return await asyncio.wait_for(self._exchange(conn, data), left)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                if conn is not None:
                    conn.writer.close()
                # A kept-alive connection the server closed while idle (its 5 s keep-alive
                # timeout): send again on a new one, as every HTTP client does.
                stale = reused and isinstance(exc, asyncio.IncompleteReadError | ConnectionError)
                if not stale or time.monotonic() > deadline:
                    return type(exc).__name__, None, b""

    async def _exchange(self, conn: _Conn, data: bytes) -> tuple[int, str | None, bytes]:
        conn.writer.write(data)
        await conn.writer.drain()
        status_line = await conn.reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        length, retry_after, close = 0, None, False
        while True:
            line = await conn.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "retry-after":
                retry_after = value
            elif name == "connection" and value.lower() == "close":
                close = True
            elif name == "transfer-encoding" and "chunked" in value.lower():
                raise ValueError("chunked answers are not read by this client")
        payload = await conn.reader.readexactly(length) if length else b""
        if close:
            conn.writer.close()
        else:
            self.idle.append(conn)
        return status, retry_after, payload

    async def close(self) -> None:
        for conn in self.idle:
            conn.writer.close()


async def _send(client: RawClient, call: Call) -> tuple[int | str, str | None, Any]:
    return await client.request(call)


async def _one(
    client: RawClient, call: Call, when: float, lag: float, retry_until: float
) -> Result:
    attempts, first = 0, None
    while True:
        attempts += 1
        status, retry_after, _ = await _send(client, call)
        first = status if first is None else first
        again = call.key is not None and (isinstance(status, str) or status in (429, 502, 503, 504))
        if not again or time.monotonic() > retry_until:
            break
        wait = float(retry_after) if retry_after and retry_after.isdigit() else 1.0
        await asyncio.sleep(min(wait, 2.0) * random.uniform(0.5, 1.0))
    return Result(
        call.kind,
        when,
        time.monotonic(),
        status,
        retry_after,
        call.key,
        attempts,
        first,
        lag,
    )


async def _drive(
    base: str, start_at: float, calls: list[tuple[float, Call]], retry_s: float, timeout: float
) -> list[Result]:
    client = RawClient(base, timeout)
    try:
        tasks = []
        end = start_at + (calls[-1][0] if calls else 0)
        for offset, call in calls:
            when = start_at + offset
            delay = when - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            lag = max(0.0, time.monotonic() - when)
            tasks.append(asyncio.create_task(_one(client, call, when, lag, end + retry_s)))
        return await asyncio.gather(*tasks)
    finally:
        await client.close()


def _generate(
    base: str, start_at: float, calls: list[tuple[float, Call]], retry_s: float, timeout: float
) -> list[Result]:
    """A generator process: send `calls` on schedule from `start_at` (monotonic, system-wide)."""
    return asyncio.run(_drive(base, start_at, calls, retry_s, timeout))


def run_schedule(
    base: str,
    calls: list[tuple[float, Call]],
    retry_s: float = 0.0,
    timeout: float = 10.0,
    start_at: float | None = None,
) -> tuple[list[Result], float]:
    """Send a schedule from GENERATORS processes; every result, and the monotonic start."""
    if start_at is None:
        start_at = time.monotonic() + 2.0  # time for the processes to start
    shares = [calls[i::GENERATORS] for i in range(GENERATORS)]
    with ProcessPoolExecutor(GENERATORS, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(_generate, base, start_at, share, retry_s, timeout) for share in shares
        ]
        results = [r for f in futures for r in f.result()]
    return results, start_at


# --- the schedule ---------------------------------------------------------------------------


def schedule(fx: Fixture, rate: float, seconds: float, seed: int) -> list[tuple[float, Call]]:
    """A fixed-rate schedule of the mix, drawn with `seed`."""
    rnd = random.Random(seed)
    kinds = list(MIX)
    weights = [MIX[k] for k in kinds]
    bearer = {"Authorization": f"Bearer {fx.token}"}
    phones = [f"bench-phone-{fx.run}-{i:04d}" for i in range(500)]
    out = []
    for i in range(int(rate * seconds)):
        kind = rnd.choices(kinds, weights)[0]
        lon, lat = rnd.choice(fx.points)
        if kind == "open311":
            key = fx.new_key()
            call = Call(
                kind,
                "POST",
                "/open311/v2/requests.json",
                form={
                    "api_key": fx.api_key,
                    "service_code": rnd.choice(SERVICE_CODES),
                    "lat": f"{lat:.6f}",
                    "long": f"{lon:.6f}",
                    "description": f"bench load report {i}",
                },
                headers={"Idempotency-Key": key},
                key=key,
            )
        elif kind == "resident":
            key = fx.new_key()
            call = Call(
                kind,
                "POST",
                "/api/v1/public/reports",
                body={
                    "service_code": rnd.choice(SERVICE_CODES),
                    "lon": lon,
                    "lat": lat,
                    "description": f"bench load report {i} from a phone",
                },
                headers={"Idempotency-Key": key, "X-Device-Token": rnd.choice(phones)},
                key=key,
            )
        elif kind == "locate":
            call = Call(kind, "GET", "/api/v1/locate", params={"lon": str(lon), "lat": str(lat)})
        elif kind == "tile":
            z, x, y = rnd.choice(fx.tiles)
            call = Call(
                kind,
                "GET",
                f"/tiles/grids/{z}/{x}/{y}.mvt",
                params={"generation": str(fx.generation)},
            )
        elif kind == "poll_reports":
            call = Call(kind, "GET", "/maps/data/reports", {"unit": COUNTY}, headers=bearer)
        elif kind == "poll_staff":
            call = Call(kind, "GET", "/maps/data/staff", {"unit": COUNTY}, headers=bearer)
        elif kind == "poll_grids":
            params = {"unit": COUNTY, "geometry": "false"}
            call = Call(kind, "GET", "/maps/data/grids", params, headers=bearer)
        else:
            call = Call(kind, "GET", "/healthz")
        out.append((i / rate, call))
    return out


# --- figures --------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def table(results: list[Result]) -> dict[str, dict[str, float]]:
    """Per endpoint: count, ok, 4xx, 503 (with Retry-After), errors, p50/p99/max ms."""
    by: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by[r.kind].append(r)
        by["all"].append(r)
    rows = {}
    for kind, rs in by.items():
        ms = [1000 * (r.done - r.scheduled) for r in rs]
        codes = Counter(r.status for r in rs)
        rows[kind] = {
            "count": len(rs),
            "ok": sum(n for c, n in codes.items() if isinstance(c, int) and c < 400),
            "4xx": sum(n for c, n in codes.items() if isinstance(c, int) and 400 <= c < 500),
            "503": sum(1 for r in rs if r.status == 503 and r.retry_after),
            "503_no_ra": sum(1 for r in rs if r.status == 503 and not r.retry_after),
            "errors": sum(
                n
                for c, n in codes.items()
                if isinstance(c, str) or (isinstance(c, int) and c >= 500 and c != 503)
            ),
            "p50": _pct(ms, 0.5),
            "p99": _pct(ms, 0.99),
            "max": max(ms) if ms else float("nan"),
            "lag_p99": 1000 * _pct([r.lag for r in rs], 0.99),
            "other": {str(c): n for c, n in codes.items() if c not in (200, 201)},
        }
    return rows


def print_table(title: str, rows: dict[str, dict[str, float]]) -> None:
    """Print one phase's table."""
    print(f"\n{title}")
    print(
        f"{'endpoint':<14}{'count':>7}{'ok':>7}{'4xx':>6}{'503+RA':>8}{'errors':>8}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    )
    for kind in [*MIX, "all"]:
        if kind not in rows:
            continue
        r = rows[kind]
        print(
            f"{kind:<14}{r['count']:>7.0f}{r['ok']:>7.0f}{r['4xx']:>6.0f}{r['503']:>8.0f}"
            f"{r['errors'] + r['503_no_ra']:>8.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['max']:>9.0f}"
        )
    print(f"generator lag p99 {rows['all']['lag_p99']:.1f} ms (how late requests left the client)")
    other = {k: r["other"] for k, r in rows.items() if k != "all" and r.get("other")}
    if other:
        print("answers other than 200/201: " + json.dumps(other))


def reports_check(engine: Engine, results: list[Result]) -> dict[str, int]:
    """Acknowledged reports against what the database holds for their keys."""
    acked = {r.key for r in results if r.key and r.status in (200, 201)}
    sent = {r.key for r in results if r.key}
    with engine.connect() as conn:
        stored = dict(
            conn.execute(
                text(
                    "SELECT idempotency_key, count(*) FROM report "
                    "WHERE idempotency_key = ANY(:keys) GROUP BY idempotency_key"
                ),
                {"keys": sorted(sent)},
            ).all()
        )
    return {
        "sent": len(sent),
        "acknowledged": len(acked),
        "stored": len(stored),
        "lost": len(acked - set(stored)),
        "duplicated": sum(1 for n in stored.values() if n > 1),
        "stored_unacknowledged": len(set(stored) - acked),
    }


def load() -> str:
    """Machine load now, for every figure printed."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


# --- the server -----------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(base: str, proc: subprocess.Popen[bytes], path: str = "/healthz") -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(base + path, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{base} did not answer {path} within 120 s")


def serve_gisgrid(url: str) -> tuple[subprocess.Popen[bytes], str]:
    """`gisgrid serve` (what users run) on a free port, limits lifted for this one client."""
    port = _free_port()
    env = {
        **os.environ,
        "GISGRID_DATABASE_URL": url,
        "GISGRID_PORT": str(port),
        # The bench is one address standing in for a county's phones and its hotline system:
        # the per-address ceiling and the API key's limit are lifted (phones keep theirs).
        "GISGRID_RATE_LIMIT_INTAKE_ADDRESS": "1000000000",
        "GISGRID_RATE_LIMIT_INTAKE_KEY": "1000000000",
        "GISGRID_RATE_LIMIT_LOGIN": "1000",
    }
    exe = Path(sys.executable).parent / "gisgrid"
    # Its log to a file: a pipe nobody reads fills up, and the server then blocks writing a
    # warning (that was this bench's own wedge, not the service's).
    log = open(SERVER_LOG, "wb")  # noqa: SIM115 (closed with the process)
    command = [str(exe), "serve", *(["--workers", str(WORKERS)] if WORKERS > 1 else [])]
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    _wait_up(base, proc)
    return proc, base


def serve_bare() -> tuple[subprocess.Popen[bytes], str]:
    """The peer: bench/bare_app.py on one uvicorn worker."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    _wait_up(base, proc, "/openapi.json")
    return proc, base


def _fixture(engine: Engine, base: str, run: str) -> tuple[Fixture, str, str]:
    key_name, user = f"bench-load-{run}", f"bench-load-{run}"
    password = uuid.uuid4().hex
    with engine.begin() as conn:
        key = api_keys.create_key(conn, key_name)
        accounts.create_account(conn, user, password, "county_operator", COUNTY)
        points = [
            (float(x), float(y))
            for x, y in conn.execute(
                text(
                    "SELECT ST_X(geom), ST_Y(geom) FROM household ORDER BY id % 997, id LIMIT 3000"
                )
            ).all()
        ]
    token = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": user, "password": password}, timeout=30
    ).json()["access_token"]
    gens = httpx.get(f"{base}/maps/data/generations", params={"unit": COUNTY}, timeout=30).json()
    generation = next(g["id"] for g in gens if g["current"])
    xs, ys = zip(*points, strict=True)
    tiles = _tiles(min(xs), min(ys), max(xs), max(ys), range(10, 14))
    return Fixture(base, token, key, points, tiles, generation, run), key_name, user


def _tiles(
    minx: float, miny: float, maxx: float, maxy: float, zooms: range
) -> list[tuple[int, int, int]]:
    import math

    def tile(lon: float, lat: float, z: int) -> tuple[int, int]:
        n = 2**z
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        return x, y

    out = []
    for z in zooms:
        x0, y0 = tile(minx, maxy, z)
        x1, y1 = tile(maxx, miny, z)
        out += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return out


def _close_reports(engine: Engine, run: str) -> None:
    """Close the reports this bench filed, so the next run finds the same open reports on the
    wall. Closed, not deleted, while the server runs: a request still in it (its client gone)
    may be linking a new report to one of them as its duplicate."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE report SET status = 'closed', closed_at = now() "
                "WHERE idempotency_key LIKE :p AND status <> 'closed'"
            ),
            {"p": f"bench-load-{run}-%"},
        )


def _cleanup(engine: Engine, run: str, key_name: str, user: str) -> None:
    with engine.begin() as conn:
        n = conn.execute(
            text("DELETE FROM report WHERE idempotency_key LIKE :p"), {"p": f"bench-load-{run}-%"}
        ).rowcount
        conn.execute(text("DELETE FROM api_key WHERE name = :n"), {"n": key_name})
        conn.execute(
            text(
                "DELETE FROM access_token WHERE account_id IN "
                "(SELECT id FROM account WHERE username = :u)"
            ),
            {"u": user},
        )
        conn.execute(text("DELETE FROM account WHERE username = :u"), {"u": user})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE report"))
    print(f"(deleted the bench's {n:,} reports, its key and its account)")


# --- phases ---------------------------------------------------------------------------------


def steady(fx: Fixture, engine: Engine) -> None:
    """RATE for SECONDS, RUNS times; each figure's median over the runs."""
    tables = []
    for run in range(RUNS):
        print(f"\nsteady run {run + 1}/{RUNS}: {RATE:.0f} requests/s for {SECONDS:.0f} s; {load()}")
        results, _ = run_schedule(fx.base, schedule(fx, RATE, SECONDS, seed=run))
        rows = table(results)
        check = reports_check(engine, results)
        _close_reports(engine, fx.run)
        a = rows["all"]
        print(
            f"  all: {a['count']:.0f} sent, errors {a['errors']:.0f}, 503 {a['503']:.0f}, "
            f"p50 {a['p50']:.1f} ms, p99 {a['p99']:.1f} ms; reports {json.dumps(check)}; {load()}"
        )
        tables.append(rows)
    median = {
        kind: {
            k: statistics.median(t[kind][k] for t in tables)
            if k != "other"
            else tables[-1][kind][k]
            for k in tables[0][kind]
        }
        for kind in tables[0]
    }
    print_table(f"steady, {RATE:.0f} requests/s, {SECONDS:.0f} s, median of {RUNS} runs", median)
    p99 = median["all"]["p99"]
    print(f"p99 target < {P99_TARGET_MS} ms: {'met' if p99 < P99_TARGET_MS else 'NOT met'}")


def restart(fx: Fixture, engine: Engine, settings: Settings) -> None:
    """RATE for SECONDS with PostgreSQL crashed at 1/3 and started DOWN_S later."""
    if settings.database_url:
        print("\nrestart: skipped (GISGRID_DATABASE_URL is set: not this project's database)")
        return
    from gisgrid.localdb import LocalPostgis

    local = LocalPostgis(settings.state_dir, progress=lambda m: None)
    marks: dict[str, float] = {}
    calls = schedule(fx, RATE, SECONDS, seed=100)
    print(
        f"\nrestart: {RATE:.0f} requests/s for {SECONDS:.0f} s, PostgreSQL stopped "
        f"(immediate) at {SECONDS / 3:.0f} s for {DOWN_S:.0f} s; {load()}"
    )

    def crash(start_at: float) -> None:
        time.sleep(max(0.0, start_at + SECONDS / 3 - time.monotonic()))
        marks["down"] = time.monotonic()
        local.down("immediate")
        time.sleep(DOWN_S)
        local.up()
        marks["up"] = time.monotonic()

    start_at = time.monotonic() + 2.0
    crasher = threading.Thread(target=crash, args=(start_at,))
    crasher.start()
    results, _ = run_schedule(fx.base, calls, retry_s=60.0, start_at=start_at)
    crasher.join()
    up = marks["up"]
    print_table("restart (reports retried with their key until acknowledged)", table(results))
    firsts = {}
    for kind in MIX:
        ok = [
            r.done
            for r in results
            if r.kind == kind and r.scheduled >= up and isinstance(r.status, int) and r.status < 400
        ]
        firsts[kind] = (min(ok) - up) if ok else float("inf")
    print(
        "first success after the database was back, s: "
        + ", ".join(f"{k} {v:.2f}" for k, v in firsts.items())
    )
    worst = max(firsts.values())
    verdict = "met" if worst < 5 else "NOT met"
    print(f"recovery (slowest endpoint) {worst:.2f} s: target < 5 s {verdict}")
    check = reports_check(engine, results)
    _close_reports(engine, fx.run)
    print(f"reports: {json.dumps(check)}; {load()}")


def overload(fx: Fixture) -> None:
    """Twice RATE for OVERLOAD_S: shed with 503 + Retry-After, no wedge, healthy soon after."""
    rate = 2 * RATE
    print(f"\noverload: {rate:.0f} requests/s for {OVERLOAD_S:.0f} s; {load()}")
    results, start_at = run_schedule(fx.base, schedule(fx, rate, OVERLOAD_S, seed=200))
    ended = max(r.done for r in results)
    rows = table(results)
    print_table(f"overload, {rate:.0f} requests/s", rows)
    a = rows["all"]
    print(
        f"503 with Retry-After {a['503']:.0f}, 503 without {a['503_no_ra']:.0f}, "
        f"other errors (5xx, timeouts) {a['errors']:.0f}"
    )
    healthy = None
    while healthy is None and time.monotonic() - ended < 60:
        try:
            ready = httpx.get(f"{fx.base}/readyz", timeout=2).status_code == 200
            lon, lat = fx.points[0]
            located = httpx.get(
                f"{fx.base}/api/v1/locate", params={"lon": lon, "lat": lat}, timeout=2
            )
            if ready and located.status_code == 200:
                healthy = time.monotonic() - ended
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    print(
        f"healthy (readyz and a locate 200) {healthy:.2f} s after the last answer: "
        f"target < 5 s {'met' if healthy is not None and healthy < 5 else 'NOT met'}; {load()}"
        if healthy is not None
        else "NOT healthy within 60 s after the load ended"
    )


def peer() -> None:
    """The bare FastAPI form endpoint at RATE, same generator."""
    proc, base = serve_bare()
    try:
        calls = [
            (
                i / RATE,
                Call(
                    "open311",
                    "POST",
                    "/open311/v2/requests.json",
                    form={"service_code": "SJ01", "lat": "23.15", "long": "112.05"},
                ),
            )
            for i in range(int(RATE * min(SECONDS, 20)))
        ]
        results, _ = run_schedule(base, calls)
        a = table(results)["all"]
        print(
            f"\npeer (bare FastAPI form POST, {RATE:.0f}/s): p50 {a['p50']:.1f} ms, "
            f"p99 {a['p99']:.1f} ms, errors {a['errors']:.0f}; {load()}"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    """Steady, restart, overload, then the peer; tables printed as they finish."""
    settings = Settings()
    engine = demo_engine(COUNTY, settings)
    url = engine.url.render_as_string(hide_password=False)
    run = uuid.uuid4().hex[:8]
    served = "gisgrid serve" + (f" --workers {WORKERS}" if WORKERS > 1 else "")
    print(f"bench load: `{served}` on the demo county {COUNTY}; {load()}")
    print(f"(the server's log: {SERVER_LOG})")
    proc, base = serve_gisgrid(url)
    key_name = user = ""
    try:
        fx, key_name, user = _fixture(engine, base, run)
        # Warm-up: connections, statement plans, the tile cache.
        run_schedule(base, schedule(fx, RATE / 2, 5, seed=999))
        steady(fx, engine)
        restart(fx, engine, settings)
        overload(fx)
    finally:
        if not stop(proc):
            print("the server did not stop within 15 s of SIGTERM (killed)")
        if key_name:
            _cleanup(engine, run, key_name, user)
    peer()
