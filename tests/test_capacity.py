"""Under load the service sheds instead of wedging (issue 13): busy answers 503 with Retry-After
quickly, /healthz and signed-in principals never wait for a database slot, every wait ends.

The database is made slow on purpose: the test holds an exclusive lock on `grid`, so every
locate blocks inside PostgreSQL and holds its slot; nothing here is timed beyond generous bounds.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import Engine, text

from gisgrid.db import make_engine, make_intake_pool
from gisgrid.settings import Settings
from tests.browser import until
from tests.conftest import serve

SLOTS, QUEUE = 2, 3
LOCATE = {"lon": 112.05, "lat": 23.15}


@pytest.fixture
def tight(own_database_url: str, demo_county: str) -> Iterator[str]:
    """A server with 2 database slots, 3 places in the queue and 0.5 s to wait for a slot."""
    settings = Settings(
        database_url=own_database_url,
        db_slots=SLOTS,
        db_queue=QUEUE,
        db_wait_s=0.5,
        lock_timeout_s=20,
        rate_limit_login=10_000,
    )
    with serve(settings) as url:
        yield url


async def _burst(base: str, n: int, headers: dict[str, str] | None = None) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(client.get("/api/v1/locate", params=LOCATE, headers=headers) for _ in range(n))
        )


def test_a_burst_while_the_database_is_stuck_is_shed_not_queued(
    tight: str, own_engine: Engine, admin_token: str
) -> None:
    bearer = {"Authorization": f"Bearer {admin_token}"}
    with own_engine.connect() as holder:
        holder.execute(text("LOCK TABLE grid IN ACCESS EXCLUSIVE MODE"))
        # A wedge would leave the burst's clients to their 60 s timeout: the test fails there.
        burst = asyncio.run(_burst_and_probe(tight, bearer, holder))
    answers, during = burst
    codes = Counter(r.status_code for r in answers)
    # 2 slot holders waited for the lock and then answered; everyone else heard "busy" soon.
    assert set(codes) <= {200, 503}, codes
    assert codes[200] >= SLOTS and codes[503] >= 30 - SLOTS - QUEUE, codes
    for r in answers:
        if r.status_code == 503:
            assert r.headers["Retry-After"].isdigit(), r.headers
            assert r.json()["error"] == "Overloaded" and "at capacity" in r.json()["detail"]
    # While every slot was stuck: /healthz, /readyz and who-am-I (signed in) still answered.
    health, ready, me = during
    assert health.status_code == 200 and health.json()["load"]["db"]["in_use"] == SLOTS
    assert ready.status_code == 503 and "capacity" in ready.json()["reason"]
    assert me.status_code == 200 and me.json()["authenticated"] is True
    # And once the lock is gone the service is itself again at once.
    with httpx.Client(base_url=tight, timeout=10) as http:
        assert http.get("/api/v1/locate", params=LOCATE).status_code == 200
        assert http.get("/healthz").json()["load"]["db"]["in_use"] == 0


async def _burst_and_probe(
    base: str, bearer: dict[str, str], holder: object
) -> tuple[list[httpx.Response], tuple[httpx.Response, httpx.Response, httpx.Response]]:
    burst = asyncio.create_task(_burst(base, 30, bearer))
    async with httpx.AsyncClient(base_url=base, timeout=5) as probe:
        # Let the burst fill the slots and the queue and be refused, then look.
        deadline = time.monotonic() + 20
        while (await probe.get("/healthz")).json()["load"]["db"]["in_use"] < SLOTS:
            assert time.monotonic() < deadline, "the slots never filled"
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # > db_wait_s: the queued ones have been refused by now
        during = (
            await probe.get("/healthz"),
            await probe.get("/readyz"),
            await probe.get("/api/v1/auth/me", headers=bearer),
        )
    # Release the lock: the slot holders finish.
    holder.rollback()  # type: ignore[attr-defined]
    return await burst, during


def test_healthz_tells_the_truth_when_the_database_is_gone(demo_county: str) -> None:
    # A database nobody listens on: the service starts, says it is down, and never hangs.
    dead = "postgresql+psycopg://gisgrid@127.0.0.1:9/nowhere"
    with (
        serve(Settings(database_url=dead)) as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        health = http.get("/healthz", timeout=5)  # a hang fails here
        assert health.status_code == 503 and health.json()["status"] == "down"
        assert health.headers["Retry-After"].isdigit()
        assert http.get("/readyz").status_code == 503
        r = http.get("/api/v1/locate", params=LOCATE)
        assert r.status_code == 503 and r.headers["Retry-After"].isdigit()
        # No database address or port in what a caller is told.
        for answer in (health, r):
            assert "127.0.0.1" not in answer.text and ":9" not in answer.text


def test_service_connections_commit_durably_whatever_the_cluster_says(
    own_database_url: str,
) -> None:
    settings = Settings(database_url=own_database_url)
    engine = make_engine(own_database_url, settings)
    try:
        with engine.connect() as conn:
            got = {
                name: conn.execute(text(f"SHOW {name}")).scalar_one()
                for name in (
                    "synchronous_commit",
                    "statement_timeout",
                    "lock_timeout",
                    "idle_in_transaction_session_timeout",
                )
            }
    finally:
        engine.dispose()
    assert got == {
        "synchronous_commit": "on",
        "statement_timeout": "30s",
        "lock_timeout": "5s",
        "idle_in_transaction_session_timeout": "1min",
    }

    async def pool_setting() -> str:
        pool = make_intake_pool(own_database_url, settings)
        await pool.open(wait=True)
        try:
            async with pool.connection() as aconn:
                row = await (await aconn.execute("SHOW synchronous_commit")).fetchone()
                assert row is not None
                return str(row[0])
        finally:
            await pool.close()

    assert asyncio.run(pool_setting()) == "on"


def test_the_intake_pool_asks_the_server_only_when_its_connection_has_gone(
    database_url: str, engine: Engine
) -> None:
    """A quiet connection is used without a round trip of its own; one whose backend was killed
    is noticed before use and replaced, and the report's statement still gets an answer."""

    def last_query(pid: int) -> str:
        with engine.connect() as conn:
            q = "SELECT query FROM pg_stat_activity WHERE pid = :p"
            return str(conn.execute(text(q), {"p": pid}).scalar_one())

    async def scenario() -> tuple[str, set[int], int, int]:
        pool = make_intake_pool(database_url, Settings(database_url=database_url))
        await pool.open(wait=True)
        try:
            async with pool.connection() as a, pool.connection() as b:  # min_size: both of them
                for aconn in (a, b):
                    await aconn.execute("SELECT 'marker-18'")
                marked = {a.info.backend_pid, b.info.backend_pid}
            async with pool.connection() as aconn:
                # checked out again and checked: the server was not asked anything
                same = aconn.info.backend_pid
                seen = last_query(same)
            async with pool.connection() as a, pool.connection() as b:
                with engine.connect() as conn:
                    for aconn in (a, b):
                        q = "SELECT pg_terminate_backend(:p)"
                        conn.execute(text(q), {"p": aconn.info.backend_pid})
            await asyncio.sleep(0.2)
            async with pool.connection() as aconn:
                row = await (await aconn.execute("SELECT pg_backend_pid()")).fetchone()
                assert row is not None
                return seen, marked, same, int(row[0])
        finally:
            await pool.close()

    seen, marked, same, after = asyncio.run(scenario())
    assert same in marked
    assert seen == "SELECT 'marker-18'"  # the stock check would have sent an empty query
    assert after not in marked


def test_a_chunked_upload_over_the_limit_is_refused_on_the_bytes(
    own_server: str, admin_token: str
) -> None:
    # No Content-Length: the body is counted as it arrives, and refused past 64 MiB.
    chunk = b"<" * (1024 * 1024)

    def body() -> Iterator[bytes]:
        for _ in range(80):
            yield chunk

    r = httpx.post(
        f"{own_server}/api/v1/patrols/tracks",
        content=body(),
        headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/gpx+xml"},
        timeout=60,
    )
    assert r.status_code == 413 and "limit" in r.json()["detail"]


def test_event_streams_are_counted_apart_and_hold_no_slot(
    own_database_url: str, demo_county: str, admin_token: str
) -> None:
    # One request in flight at most, one database slot, one stream: an open push stream (minutes
    # long) must not use up either, and the next stream beyond its own cap is told to come back.
    settings = Settings(
        database_url=own_database_url, db_slots=1, db_queue=0, max_in_flight=1, max_streams=1
    )
    bearer = {"Authorization": f"Bearer {admin_token}"}
    with (
        serve(settings) as url,
        httpx.Client(base_url=url, timeout=10, headers=bearer) as http,
        http.stream("GET", "/api/v1/events") as stream,
    ):
        assert stream.status_code == 200
        # Kept: a dropped iterator would close the response, and with it the stream.
        chunks = stream.iter_text()
        assert "event: hello" in next(chunks)
        # The stream is open: requests and their database slot are still free.
        r = http.get("/api/v1/locate", params=LOCATE)
        assert r.status_code == 200, r.text
        again = http.get("/api/v1/events")
        assert again.status_code == 503 and again.headers["Retry-After"].isdigit()
        assert "event streams" in again.json()["detail"]
        assert stream.is_closed is False


def test_a_request_that_arrived_long_ago_is_refused_a_slot_not_queued() -> None:
    """The gate's wait is counted from the request's arrival (issue 13): one that already spent
    its budget elsewhere hears "busy" at once; a new one still waits for the slot."""
    from api.capacity import ARRIVED, Gate
    from gisgrid.errors import Overloaded

    async def scenario() -> tuple[str, bool]:
        gate = Gate(slots=1, queue=5, wait_s=30)
        holder = gate.slot()
        await holder.__aenter__()
        ARRIVED.set(time.monotonic() - 60)  # arrived a minute ago (behind a busy event loop)
        with pytest.raises(Overloaded) as refused:
            async with gate.slot():
                pass
        ARRIVED.set(time.monotonic())

        async def fresh() -> bool:
            async with gate.slot():
                return True

        waiting = asyncio.create_task(fresh())
        while gate.waiting == 0:
            await asyncio.sleep(0.01)
        await holder.__aexit__(None, None, None)
        return str(refused.value), await waiting

    said, served = asyncio.run(scenario())
    assert "waited 30 s already" in said and served


def test_a_request_whose_client_left_is_dropped_before_it_takes_a_slot(
    own_database_url: str, demo_county: str, own_engine: Engine
) -> None:
    """A locate queued behind the only slot whose client then hangs up is never run: when the
    slot comes free it is dropped (counted in /healthz), not served to nobody (issue 13)."""
    settings = Settings(
        database_url=own_database_url, db_slots=1, db_queue=5, db_wait_s=60, lock_timeout_s=30
    )

    def gate(http: httpx.Client) -> dict[str, int]:
        load: dict[str, int] = http.get("/healthz").json()["load"]["db"]
        return load

    with serve(settings) as url, httpx.Client(base_url=url, timeout=60) as http:
        with own_engine.connect() as holder, ThreadPoolExecutor(1) as pool:
            holder.execute(text("LOCK TABLE grid IN ACCESS EXCLUSIVE MODE"))
            first = pool.submit(http.get, "/api/v1/locate", params=LOCATE)
            until(lambda: gate(http)["in_use"] == 1, "the first locate holding the only slot")
            host, port = url.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port))) as leaving:
                query = urlencode(LOCATE)
                leaving.sendall(f"GET /api/v1/locate?{query} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
                until(lambda: gate(http)["waiting"] == 1, "the second locate waiting for a slot")
            # Time for the server to read the hang-up (a bound, not a measurement).
            time.sleep(1.0)
            holder.rollback()
            assert first.result().status_code == 200
        until(lambda: gate(http)["dropped_client_gone"] == 1, "the second locate dropped")
        load = gate(http)
        assert load["in_use"] == 0 and load["waiting"] == 0 and load["shed_total"] == 0
        assert http.get("/api/v1/locate", params=LOCATE).status_code == 200
