"""A worker's shutdown ends its background loops even when one lives through a cancellation.

Python 3.11's `asyncio.wait_for` returns the inner result when a cancel meets its end; the health
probe's loop then went on and a worker under load waited for it forever on SIGTERM (the load
bench killed it after 15 s). These tests make a loop swallow one cancellation on purpose.
"""

import asyncio
from typing import Any

import psycopg

from gisgrid.db import HealthCheck, Listener, end_task, libpq_url

# A guard against hanging the suite, not a measure: each step takes milliseconds.
HANG_S = 20


async def _ends(step: Any) -> bool:
    """Whether awaiting `step` ends within HANG_S (asyncio.wait: 3.11's wait_for could itself
    hide a hang by swallowing its own timeout's cancellation)."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=HANG_S)
    if not done:
        task.cancel()
        return False
    task.result()
    return True


def _active(url: str, name: str) -> int:
    """Connections of application `name` on the database (the test's own excluded)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            (name,),
        ).fetchone()
    assert row is not None
    return int(row[0])


async def _stubborn(swallowed: list[int]) -> None:
    """A loop that lives through its first cancellation, as a probe inside wait_for could."""
    while True:
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            swallowed.append(1)
            if len(swallowed) > 1:
                raise


def test_end_task_ends_a_loop_that_lives_through_one_cancel() -> None:
    async def run() -> list[int]:
        swallowed: list[int] = []
        task = asyncio.create_task(_stubborn(swallowed))
        await asyncio.sleep(0.01)
        assert await _ends(end_task(task)), "end_task waited for ever"
        assert task.cancelled()
        return swallowed

    assert asyncio.run(run()) == [1, 1]


def test_end_task_passes_on_the_error_a_loop_ended_with() -> None:
    async def broken() -> None:
        raise LookupError("the loop's own error")

    async def run() -> None:
        task = asyncio.create_task(broken())
        await asyncio.sleep(0)
        await end_task(task)

    try:
        asyncio.run(run())
    except LookupError as exc:
        assert "own error" in str(exc)
    else:
        raise AssertionError("end_task hid the loop's error")


class _StubbornHealth(HealthCheck):
    """A health check whose probe swallows the first cancellation that reaches it."""

    swallowed = 0

    async def probe(self) -> None:
        try:
            await super().probe()
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            self.swallowed += 1
            if self.swallowed > 1:
                raise


def test_the_health_check_closes_although_its_probe_swallowed_a_cancel(
    database_url: str,
) -> None:
    url = libpq_url(database_url)

    async def run() -> _StubbornHealth:
        health = _StubbornHealth(url, interval_s=0.0)
        health.start()
        while not health.ok:
            await asyncio.sleep(0.01)
        assert await _ends(health.close()), "the health check's close waited for ever"
        return health

    health = asyncio.run(run())
    assert health.swallowed >= 1
    assert _active(url, "gisgrid-health") == 0


class _StubbornListener(Listener):
    """A listener whose wait swallows the first cancellation that reaches it."""

    name = "gisgrid-test-stubborn"
    swallowed = 0

    async def listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute("LISTEN gisgrid_test_stubborn")
        self.known = True
        self._ready.set()
        while True:
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                self.swallowed += 1
                if self.swallowed > 1:
                    raise


def test_a_listener_stops_although_its_wait_swallowed_a_cancel(database_url: str) -> None:
    url = libpq_url(database_url)

    async def run() -> _StubbornListener:
        listener = _StubbornListener(url)
        await listener.start()
        assert listener.known
        assert await _ends(listener.stop()), "the listener's stop waited for ever"
        return listener

    listener = asyncio.run(run())
    assert listener.swallowed >= 1 and not listener.known
    assert _active(url, _StubbornListener.name) == 0
