"""What one worker can hold: a gate in front of the database, threads to match, and the health
that /healthz and /readyz report (issue 13: no wedge, answer "busy, retry" instead).

The wedge this replaces: every worker thread waited for a pooled connection that only another
thread's clean-up (which needed a free thread) or a second checkout (the caller's principal)
would have released. Now:

- a request holds at most one engine connection, and only inside a gate slot; slots =
  connections in the pool = threads reserved for checking connections out and back in, so a
  slot holder never waits for a connection or for a thread to give one back;
- who is calling and the audit entry go to the async pool, never to the engine;
- a request that finds every slot taken waits in a bounded queue for a bounded time, then gets
  503 Overloaded with Retry-After at once;
- every wait has an end (pool checkout, statements, locks, idle transactions: gisgrid/db.py).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import psycopg
import sqlalchemy.exc
from psycopg_pool import AsyncConnectionPool, PoolTimeout, TooManyRequests
from sqlalchemy import Connection, Engine
from starlette.types import Message, Receive, Scope, Send

from api.errors import send_refusal
from gisgrid.errors import ClientGone, DatabaseUnavailable, Overloaded

log = logging.getLogger(__name__)
T = TypeVar("T")

# When this worker first saw the request (set by the front door, read by the gate): a request's
# wait for a slot ends `wait_s` after it arrived, not after it asked, so time already spent
# behind a busy event loop or the async pool counts against the same budget (issue 13).
ARRIVED: ContextVar[float | None] = ContextVar("gisgrid_arrived", default=None)


class ClientWatch:
    """A request's receive channel that can tell whether its client has left, without waiting
    and without losing a message: what a look finds is held and given to the app in order."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._held: list[Message] = []
        self.gone = False

    async def receive(self) -> Message:
        """The app's receive: held messages first, then the server's."""
        message = self._held.pop(0) if self._held else await self._receive()
        if message["type"] == "http.disconnect":
            self.gone = True
        return message

    async def left(self) -> bool:
        """Whether the client has disconnected, by what the server already received."""
        return self.left_now()

    def left_now(self) -> bool:
        """The same, without a wait: a receive that cannot answer at once is abandoned."""
        if self.gone or (self._held and self._held[-1].get("more_body")):
            return self.gone  # (a body still arriving: not worth reading ahead for)
        message = _ready(self._receive())
        if message is not None:
            self._held.append(message)
            self.gone = message["type"] == "http.disconnect"
        return self.gone


def _ready(pending: Awaitable[Message]) -> Message | None:
    """What a receive gives without waiting, else None (closed at its first wait: nothing
    taken). Not a cancel scope: anyio's cancellation formats the task's repr on every call,
    a twentieth of the worker's time per report (issue 18)."""
    steps = pending.__await__()
    try:
        steps.send(None)
    except StopIteration as done:
        message: Message = done.value
        return message
    steps.close()  # type: ignore[attr-defined]
    return None


# The request's client watch (set by the front door, read by the gate): a request whose client
# left while it waited (in the kernel's queue, behind a busy event loop, for a slot) is dropped
# before it takes a database slot: nobody is there to read its answer (issue 13).
CLIENT: ContextVar[ClientWatch | None] = ContextVar("gisgrid_client", default=None)


async def _client_left() -> bool:
    watch = CLIENT.get()
    return watch is not None and await watch.left()


class Gate:
    """At most `slots` holders at once; at most `queue` waiting, each at most `wait_s` seconds.

    Beyond either bound the caller gets Overloaded (503 + Retry-After) at once: a queue that
    grows without end is how a busy service becomes a dead one.
    """

    def __init__(self, slots: int, queue: int, wait_s: float) -> None:
        self.slots, self.queue, self.wait_s = slots, queue, wait_s
        self._sem = anyio.Semaphore(slots)
        self.waiting = 0
        self.shed = 0  # requests refused since start
        self.shed_at = -math.inf  # monotonic time of the last refusal
        self.dropped = 0  # requests dropped because their client had left

    @property
    def in_use(self) -> int:
        """Slots held right now."""
        return self.slots - self._sem.value

    def shedding(self, within_s: float = 2.0) -> bool:
        """True if a request was refused in the last `within_s` seconds."""
        return time.monotonic() - self.shed_at < within_s

    def _refuse(self, why: str) -> Overloaded:
        self.shed += 1
        self.shed_at = time.monotonic()
        return Overloaded(
            f"the service is at capacity ({why}: {self.slots} database slots busy, "
            f"{self.waiting} requests waiting); nothing was done, try again in a moment",
            retry_after=max(1, math.ceil(self.wait_s)),
        )

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the body of the `async with`, or raise Overloaded (ClientGone if
        the client has left, before the slot is taken or when it comes free).

        A request waits at most until `wait_s` after it arrived (ARRIVED): one that is already
        that old when it asks is refused at once if no slot is free, rather than served late
        to a client that has given up or will retry anyway.
        """
        if await _client_left():
            raise self._gone()
        try:
            self._sem.acquire_nowait()
        except anyio.WouldBlock:
            if self.waiting >= self.queue:
                raise self._refuse("queue full") from None
            arrived = ARRIVED.get()
            left = self.wait_s if arrived is None else arrived + self.wait_s - time.monotonic()
            if left <= 0:
                raise self._refuse(f"waited {self.wait_s:g} s already") from None
            self.waiting += 1
            try:
                with anyio.fail_after(left):
                    await self._sem.acquire()
            except TimeoutError:
                raise self._refuse(f"no slot within {self.wait_s:g} s") from None
            finally:
                self.waiting -= 1
            if await _client_left():  # left while it waited: the slot goes to the next
                self._sem.release()
                raise self._gone() from None
        try:
            yield
        finally:
            self._sem.release()

    def _gone(self) -> ClientGone:
        self.dropped += 1
        return ClientGone(
            "the client left before its request took a database slot; nothing was done"
        )

    def stats(self) -> dict[str, Any]:
        """Slots, holders, waiters and refusals, for /healthz."""
        return {
            "dropped_client_gone": self.dropped,
            "slots": self.slots,
            "in_use": self.in_use,
            "waiting": self.waiting,
            "queue": self.queue,
            "shed_total": self.shed,
            "shedding": self.shedding(),
        }


class Database:
    """The service's engine behind its gate: connections checked out and given back on threads
    of their own (as many as slots), so clean-up never waits behind the requests it would free.
    """

    def __init__(self, engine: Engine, gate: Gate) -> None:
        self.engine = engine
        self.gate = gate
        self.limiter = anyio.CapacityLimiter(gate.slots)

    async def _thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(partial(fn, *args), limiter=self.limiter)

    async def checkout(self) -> Connection:
        """A connection in a transaction (call inside a gate slot)."""
        try:
            return await self._thread(_begin, self.engine)
        except sqlalchemy.exc.TimeoutError:
            raise self.gate._refuse("no pooled connection free") from None

    async def finish(self, conn: Connection, ok: bool) -> None:
        """Commit (ok) or roll back, then return the connection; never cancelled half-way."""
        with anyio.CancelScope(shield=True):
            await self._thread(_end, conn, ok)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(conn, *args) in one transaction, in a slot, on one thread; committed if it returns."""
        async with self.gate.slot():
            try:
                return await self._thread(_in_transaction, self.engine, fn, *args)
            except sqlalchemy.exc.TimeoutError:
                raise self.gate._refuse("no pooled connection free") from None

    async def run_engine(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(engine, *args) in a slot on one thread, for core functions that open their own."""
        async with self.gate.slot():
            try:
                return await self._thread(fn, self.engine, *args)
            except sqlalchemy.exc.TimeoutError:
                raise self.gate._refuse("no pooled connection free") from None


def _begin(engine: Engine) -> Connection:
    conn = engine.connect()
    try:
        conn.begin()
    except BaseException:
        conn.close()
        raise
    return conn


def _end(conn: Connection, ok: bool) -> None:
    try:
        if ok:
            conn.commit()
        else:
            conn.rollback()
    finally:
        try:
            conn.close()
        except Exception:  # a dead connection: the pool drops it
            log.debug("closing a connection failed", exc_info=True)


def _in_transaction(engine: Engine, fn: Callable[..., T], *args: Any) -> T:
    with engine.begin() as conn:
        return fn(conn, *args)


def pool_errors(exc: Exception) -> Exception:
    """The domain error for a failure of the async pool (overloaded, or the database away)."""
    if isinstance(exc, TooManyRequests | PoolTimeout):
        return Overloaded(
            "the service is at capacity (every connection of its async pool busy); nothing was "
            "done, try again in a moment",
            retry_after=2,
        )
    return DatabaseUnavailable(
        "the database did not answer; nothing was done, send the same request again in a moment"
    )


ASYNC_POOL_ERRORS = (TooManyRequests, PoolTimeout, psycopg.OperationalError)


def async_pool_stats(pool: AsyncConnectionPool) -> dict[str, Any]:
    """Size, idle connections and waiters of the async pool, for /healthz."""
    s = pool.get_stats()
    return {
        "size": s.get("pool_size", 0),
        "available": s.get("pool_available", 0),
        "waiting": s.get("requests_waiting", 0),
        "max": pool.max_size,
    }


class InFlight:
    """The flood limit (api/front.py applies it): beyond `limit` requests in progress, 503 +
    Retry-After before any work.

    The gate bounds who waits for the database; this bounds everything else a request costs the
    event loop (routing, parsing, tiles from the cache), so a flood is refused for the price of a
    few bytes and /healthz and /readyz (never refused here) still answer.
    """

    EXEMPT = ("/healthz", "/readyz")
    # Long-lived streams (push, issue 16): counted against `stream_limit` instead, since each
    # stays open for minutes without a database slot and would otherwise eat the request budget.
    STREAMS = ("/api/v1/events",)

    def __init__(self, limit: int = 256, stream_limit: int = 1000) -> None:
        self.limit, self.stream_limit = limit, stream_limit
        self.in_flight = 0
        self.streams = 0
        self.refused = 0
        self.gone = 0  # requests whose client had left before they were read

    async def refuse(self, scope: Scope, send: Send, why: str) -> None:
        """503 + Retry-After: nothing was done."""
        self.refused += 1
        said = f"the service is at capacity ({why}); nothing was done, try again in a moment"
        await send_refusal(send, scope["path"], 503, "Overloaded", said, [(b"retry-after", b"2")])
