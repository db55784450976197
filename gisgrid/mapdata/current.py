"""The current grid generation, held in memory and told when it changes (LISTEN/NOTIFY).

Grid tiles at the README's plain URL are the current generation's. Looking that up cost a query
(and a thread) per tile; instead each process keeps it: read when the service starts, read again
whenever PostgreSQL notifies channel `gisgrid_generation` (a statement trigger on `generation`,
`sql/mapdata/generation_notify.sql`, sends it with every commit that inserts, updates, deletes or
truncates generations, whoever commits: the API, `gisgrid boundaries import --commit`, a redraw,
another worker or host), and read again every `check_s` seconds in case a notice went missing.
The notice is sent by the commit itself, so a rolled-back change is never announced.

While the listening connection is down nothing is trusted: `known` is False and callers look the
generation up per request, as before. A tile is cached under its generation id, never under
"current", so a late notice can delay the switch by its delivery time but never make an old
generation's tile answer for a new one after the notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg

from gisgrid import sql

log = logging.getLogger(__name__)
CHANNEL = "gisgrid_generation"


class CurrentGeneration:
    """The id of the current generation, kept fresh by a listener task on its own connection."""

    def __init__(self, url: str, check_s: float = 30.0) -> None:
        self.url = url  # libpq style
        self.check_s = check_s
        self.value: int | None = None
        self.known = False
        self.reads = 0  # how often it was read (for tests and the log)
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._ready = asyncio.Event()

    def get(self) -> tuple[bool, int | None]:
        """(known, generation id): when not known, look it up in the database instead."""
        return self.known, self.value

    async def start(self, wait_s: float = 3.0) -> None:
        """Start listening; wait up to `wait_s` for the first read (the service starts anyway)."""
        self._task = asyncio.create_task(self._run(), name="gisgrid-current-generation")
        try:
            await asyncio.wait_for(self._ready.wait(), wait_s)
        except TimeoutError:
            log.warning("current generation not read within %.1f s; looked up per request", wait_s)

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        self.known = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _read(self, conn: psycopg.AsyncConnection[Any]) -> None:
        row = await sql.afirst(conn, "mapdata/current_generation")
        value = int(row["id"]) if row else None
        if value != self.value or not self.known:
            log.info("current grid generation: %s", value)
        self.value, self.known = value, True
        self.reads += 1
        self._ready.set()

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, application_name="gisgrid-generation"
                ) as conn:
                    self._conn = conn
                    # Listen first, then read: a commit after the read is always announced.
                    await sql.aexecute(conn, "mapdata/listen_generation")
                    await self._read(conn)
                    backoff = 0.5
                    while True:
                        # Ends on the first notice or after check_s: either way, read again.
                        async for _ in conn.notifies(timeout=self.check_s, stop_after=1):
                            pass
                        await self._read(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the connection went away: distrust, then reconnect
                self.known = False
                log.warning("not listening for generation changes (%r); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                self.known = False
                self._conn = None

    async def backend_pid(self) -> int | None:
        """The listening connection's server process id (tests end it to prove recovery)."""
        return self._conn.info.backend_pid if self._conn is not None else None
