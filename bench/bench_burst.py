"""Issue 13's wedge recipe, through `gisgrid serve`: 60 concurrent /api/v1/locate, signed in and
anonymous, three rounds each, /healthz probed throughout and after.

Before the capacity work (commit d41d233) every round ended in 60 client timeouts at 30 s and
/healthz timed out too (all 40 worker threads waited for a pooled connection). Now each request
is answered 200, or 503 with Retry-After when the database slots and their queue are full.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx

from bench.bench_load import COUNTY, load, serve_gisgrid
from bench.common import demo_engine
from gisgrid.access import accounts
from gisgrid.settings import Settings

CONCURRENT = 60
ROUNDS = 3


async def _round(base: str, headers: dict[str, str]) -> str:
    limits = httpx.Limits(max_connections=CONCURRENT + 5)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        probes: list[float] = []
        done = asyncio.Event()

        async def probe() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as hc:
                while not done.is_set():
                    t = time.monotonic()
                    await hc.get("/healthz")
                    probes.append(time.monotonic() - t)
                    await asyncio.sleep(0.25)

        async def one(i: int) -> tuple[int | str, float, str | None]:
            t = time.monotonic()
            try:
                r = await client.get(
                    "/api/v1/locate",
                    params={"lon": 111.9 + (i % 50) * 0.004, "lat": 23.2 + (i % 37) * 0.004},
                    headers=headers,
                )
                return r.status_code, time.monotonic() - t, r.headers.get("retry-after")
            except httpx.HTTPError as exc:
                return type(exc).__name__, time.monotonic() - t, None

        prober = asyncio.create_task(probe())
        answers = await asyncio.gather(*(one(i) for i in range(CONCURRENT)))
        done.set()
        await prober
    codes = Counter(a[0] for a in answers)
    seconds = sorted(a[1] for a in answers)
    told = sum(1 for a in answers if a[0] == 503 and a[2])
    return (
        f"{dict(codes)}, p50 {seconds[len(seconds) // 2]:.2f} s, max {seconds[-1]:.2f} s, "
        f"503 with Retry-After {told}; /healthz meanwhile: {len(probes)} answers, slowest "
        f"{max(probes, default=float('nan')):.2f} s"
    )


def main() -> None:
    """Three rounds of the burst signed in, three anonymous; figures with the machine's load."""
    settings = Settings()
    engine = demo_engine(COUNTY, settings)
    user, password = f"bench-burst-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with engine.begin() as conn:
        accounts.create_account(conn, user, password, "county_operator", COUNTY)
    proc, base = serve_gisgrid(engine.url.render_as_string(hide_password=False))
    try:
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": user, "password": password}
        ).json()["access_token"]
        for label, headers in (
            ("signed in", {"Authorization": f"Bearer {token}"}),
            ("anonymous", {}),
        ):
            for r in range(ROUNDS):
                print(f"{label}, round {r + 1}: {asyncio.run(_round(base, headers))}; {load()}")
        t = time.monotonic()
        status = httpx.get(f"{base}/healthz", timeout=30).status_code
        print(f"/healthz after: {status} in {time.monotonic() - t:.2f} s")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        with engine.begin() as conn:
            accounts_id = conn.exec_driver_sql(
                "SELECT id FROM account WHERE username = %(u)s", {"u": user}
            ).scalar()
            conn.exec_driver_sql(
                "DELETE FROM access_token WHERE account_id = %(a)s", {"a": accounts_id}
            )
            conn.exec_driver_sql("DELETE FROM account WHERE id = %(a)s", {"a": accounts_id})
