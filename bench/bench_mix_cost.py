"""What each request of bench_load's mix costs, in CPU: the server's processes and PostgreSQL's.

Closed loop at a small concurrency (4), so nothing queues and the figures are work, not waiting:
for each kind of the mix, CPU seconds used by `gisgrid serve` (its process and children) and by
every PostgreSQL process of the cluster, divided by the requests sent. CPU time, unlike latency,
barely moves with the machine's load, which is why this bench exists beside bench_load on a
shared machine: the mix's weighted sum says how many requests/s two full cores could carry.
The peer: bench/bare_app.py (a bare FastAPI form POST, no database) under the same client.

Environment: BENCH_MIX_N (300 requests per kind), BENCH_LOAD_WORKERS as bench_load.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid

from bench import bench_load as bl
from bench.common import demo_engine, stop
from gisgrid.settings import Settings

N = int(os.environ.get("BENCH_MIX_N", 300))
CONCURRENT = 4
TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (uvicorn's workers)."""
    kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return _cpu(pid) + sum(_cpu(int(k)) for k in kids.split())


def _postgres_cpu(settings: Settings) -> float:
    """CPU seconds of the project's PostgreSQL: the postmaster and its backends."""
    pidfile = settings.state_dir / "pg" / "data" / "postmaster.pid"
    return _tree_cpu(int(pidfile.read_text().split()[0]))


async def _drive(base: str, calls: list[bl.Call]) -> dict[int | str, int]:
    client = bl.RawClient(base, 30)
    codes: dict[int | str, int] = {}
    todo = list(calls)

    async def one_at_a_time() -> None:
        while todo:
            status, _, _ = await client.request(todo.pop())
            codes[status] = codes.get(status, 0) + 1

    await asyncio.gather(*(one_at_a_time() for _ in range(CONCURRENT)))
    await client.close()
    return codes


def _measure(pid: int, settings: Settings, base: str, calls: list[bl.Call]) -> tuple[float, ...]:
    s0, p0 = _tree_cpu(pid), _postgres_cpu(settings)
    codes = asyncio.run(_drive(base, calls))
    s1, p1 = _tree_cpu(pid), _postgres_cpu(settings)
    bad = {c: n for c, n in codes.items() if not (isinstance(c, int) and c < 400)}
    if bad:
        print(f"  (answers other than 2xx/3xx: {bad})")
    n = len(calls)
    return 1000 * (s1 - s0) / n, 1000 * (p1 - p0) / n


def main() -> None:
    """Per kind: server and PostgreSQL CPU ms per request; the mix's weighted sum; the peer."""
    settings = Settings()
    engine = demo_engine(bl.COUNTY, settings)
    url = engine.url.render_as_string(hide_password=False)
    run = uuid.uuid4().hex[:8]
    proc, base = bl.serve_gisgrid(url)
    key_name = user = ""
    try:
        fx, key_name, user = bl._fixture(engine, base, run)
        calls = [c for _, c in bl.schedule(fx, 200, 60, seed=7)]
        asyncio.run(_drive(base, calls[:1000]))  # warm-up: connections, plans, tile cache
        by_kind: dict[str, list[bl.Call]] = {}
        for c in calls[1000:]:
            by_kind.setdefault(c.kind, []).append(c)
        print(f"\nCPU per request, {N} of each kind, {CONCURRENT} at a time; {bl.load()}")
        print(f"{'kind':<14}{'share':>6}{'server ms':>11}{'postgres ms':>13}")
        mix = 0.0
        for kind in bl.MIX:
            server, postgres = _measure(proc.pid, settings, base, by_kind[kind][:N])
            mix += bl.MIX[kind] / 100 * (server + postgres)
            print(f"{kind:<14}{bl.MIX[kind]:>5}%{server:>11.2f}{postgres:>13.2f}")
        print(
            f"the mix: {mix:.2f} ms of CPU per request (server + PostgreSQL): two full cores "
            f"carry at most {2000 / mix:.0f} requests/s of it; {bl.load()}"
        )
    finally:
        if not stop(proc):
            print("the server did not stop within 15 s of SIGTERM (killed)")
        if key_name:
            bl._cleanup(engine, run, key_name, user)
    peer, peer_base = bl.serve_bare()
    try:
        form = {"service_code": "SJ01", "lat": "23.15", "long": "112.05"}
        calls = [bl.Call("open311", "POST", "/open311/v2/requests.json", form=form)] * N
        asyncio.run(_drive(peer_base, calls[:100]))
        t0 = time.monotonic()
        server, _ = _measure(peer.pid, settings, peer_base, calls)
        print(
            f"peer (bare FastAPI form POST): {server:.2f} ms of CPU per request "
            f"({N / (time.monotonic() - t0):.0f} requests/s at {CONCURRENT} at a time); {bl.load()}"
        )
    finally:
        peer.terminate()
        peer.wait(timeout=10)
