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

import logging
from typing import Any

import psycopg

from gisgrid import sql
from gisgrid.db import Listener

log = logging.getLogger(__name__)
CHANNEL = "gisgrid_generation"


class CurrentGeneration(Listener):
    """The id of the current generation, kept fresh by a listener task on its own connection."""

    name = "gisgrid-generation"
    what = "generation changes"

    def __init__(self, url: str, check_s: float = 30.0) -> None:
        super().__init__(url)
        self.check_s = check_s
        self.value: int | None = None
        self.reads = 0  # how often it was read (for tests and the log)

    def get(self) -> tuple[bool, int | None]:
        """(known, generation id): when not known, look it up in the database instead."""
        return self.known, self.value

    async def _read(self, conn: psycopg.AsyncConnection[Any]) -> None:
        row = await sql.afirst(conn, "mapdata/current_generation")
        value = int(row["id"]) if row else None
        if value != self.value or not self.known:
            log.info("current grid generation: %s", value)
        self.value, self.known = value, True
        self.reads += 1
        self._ready.set()

    async def listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Listen first, then read: a commit after the read is always announced."""
        await sql.aexecute(conn, "mapdata/listen_generation")
        await self._read(conn)
        while True:
            # Ends on the first notice or after check_s: either way, read again.
            async for _ in conn.notifies(timeout=self.check_s, stop_after=1):
                pass
            await self._read(conn)
