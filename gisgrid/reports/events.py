"""Push (推送): case changes reach phones and walls within a second, by PostgreSQL NOTIFY.

Every committed change to a report is announced by the database itself on the channel
`gisgrid_events` (triggers in gisgrid/sql/reports/events_functions.sql), whichever process or
path wrote it. Each server process holds one LISTEN connection (an `EventHub`) and hands each
notice to the listeners whose scope covers the report's grid: a grid worker hears their grid,
a town's centre its town. Notices say which case changed and how (no text, place or person);
pages fetch what they show through their usual, access-checked reads. Polling stays the
fallback: a page whose stream drops keeps polling, and every (re)connection starts with a
`hello` so the page catches up once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

from gisgrid import sql
from gisgrid.access import REGISTER_READERS, Principal
from gisgrid.db import end_task

log = logging.getLogger(__name__)

CHANNEL = "gisgrid_events"
# Who may listen: whoever may see the cases and households of their scope on a map.
LISTENERS = REGISTER_READERS
QUEUE_MAX = 200
RECONNECT_S = (0.5, 1, 2, 5, 10)


@dataclass(eq=False)
class Listener:
    """One open stream: its scope and the notices waiting for it."""

    scope: str
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_MAX)
    )
    overflowed: bool = False

    def hears(self, event: dict[str, Any]) -> bool:
        """Whether this listener's scope covers the event (a bulk notice reaches everyone)."""
        grid = event.get("grid")
        if event.get("type") != "case":
            return True
        return isinstance(grid, str) and grid.startswith(self.scope)

    def offer(self, event: dict[str, Any]) -> None:
        """Queue a notice; a listener too slow to keep up gets one "resync" instead of more."""
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait({"type": "resync", "why": "too many changes at once"})

    async def next(self, timeout: float) -> dict[str, Any] | None:
        """The next notice, or None after `timeout` seconds of quiet."""
        try:
            event = await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None
        if event.get("type") == "resync":
            self.overflowed = False
        return event


class EventHub:
    """One LISTEN connection per process, fanned out to the open streams in scope."""

    def __init__(self, url: str) -> None:
        _HUBS.add(self)
        self.url = url
        self.listeners: set[Listener] = set()
        self.live = False  # LISTENing now (otherwise pages fall back to polling)
        self.received = 0
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None  # the serving loop, once started

    async def start(self, wait: float = 5.0) -> None:
        """Start listening (in the background; waits up to `wait` s for the first LISTEN)."""
        self.loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="gisgrid-events")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), wait)

    async def stop(self) -> None:
        """Stop listening and end every stream."""
        if self._task:
            await end_task(self._task)
        self.say_bye()

    def say_bye(self) -> None:
        """End every open stream: each gets a last `bye` (the browser reconnects by itself)."""
        for listener in list(self.listeners):
            listener.offer({"type": "bye"})

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
                    await conn.execute(sql.load("reports/events_listen"))
                    self.live, attempt = True, 0
                    self._ready.set()
                    # Whatever happened while nobody listened: every page catches up once.
                    self.publish({"type": "resync", "why": "listening again"})
                    async for notice in conn.notifies():
                        self.received += 1
                        try:
                            event = json.loads(notice.payload)
                        except ValueError:
                            continue
                        self.publish(event)
            except asyncio.CancelledError:
                self.live = False
                raise
            except (psycopg.Error, OSError) as exc:
                self.live = False
                wait = RECONNECT_S[min(attempt, len(RECONNECT_S) - 1)]
                attempt += 1
                log.warning("events: LISTEN lost (%s); again in %s s", exc, wait)
                await asyncio.sleep(wait)

    def publish(self, event: dict[str, Any]) -> None:
        """Hand a notice to every listener whose scope covers it."""
        for listener in list(self.listeners):
            if listener.hears(event):
                listener.offer(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, who: Principal) -> AsyncIterator[Listener]:
        """A listener for `who` (role checked) for as long as the stream is open."""
        may_listen(who)
        listener = Listener(who.scope)
        self.listeners.add(listener)
        try:
            yield listener
        finally:
            self.listeners.discard(listener)


_HUBS: weakref.WeakSet[EventHub] = weakref.WeakSet()


def end_streams() -> None:
    """Say `bye` to every open stream this event loop serves: the server is shutting down, and a
    stream would otherwise hold the shutdown until its deadline (call in the event loop)."""
    loop = asyncio.get_running_loop()
    # Only this loop's hubs: servers in threads of one process (tests, benches) each end their own.
    for hub in list(_HUBS):
        if hub.loop is loop:
            hub.say_bye()


def may_listen(who: Principal) -> None:
    """NotAuthenticated / Forbidden unless `who` may hear the case events of their scope."""
    who.require(LISTENERS, "listening to case events")


def hello(who: Principal, hub: EventHub) -> dict[str, Any]:
    """The first notice of every stream: what it will hear, and whether push is live."""
    return {"type": "hello", "scope": who.scope, "live": hub.live}
