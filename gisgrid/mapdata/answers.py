"""Answers to the walls' polls shared for a second or two: one count in flight per question.

A county's centre has a handful of walls (and dashboards) asking the same question every few
seconds: the grids' measures, the open reports. Each answer cost tens of milliseconds of the
database and the worker (issue 13), the same figures counted again for every wall. Here each
question (its key: everything that changes the answer, e.g. unit, grid, generation, filters) is
counted at most once per `fresh_s` seconds per process, and while it is being counted the other
askers wait for that count instead of starting their own (single flight).

Freshness, as the API documents it: an answer is never served more than `fresh_s` seconds after
its count began (the count's snapshot). A wall polling every 3 s with `fresh_s` 2 s sees a new
report at most 2 s later than it would have; the push stream (GET /api/v1/events) is not
delayed by this at all. Errors are never kept: the next asker counts again.

Access is checked by the caller before asking, on every request: the key carries what the
answer depends on, never who asked, so an answer must not depend on who asks.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    """One counted answer: its bytes, a strong ETag for them and when its count began."""

    body: bytes
    etag: str
    counted_at: float

    def matches(self, if_none_match: str | None) -> bool:
        """Whether an If-None-Match header names this answer (so 304 Not Modified will do)."""
        if not if_none_match:
            return False
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return self.etag in tags or "*" in tags


def to_json(content: Any) -> bytes:
    """JSON as the API writes it (compact UTF-8, as Starlette's JSONResponse does)."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def etag_of(body: bytes) -> str:
    """A strong ETag of a body: its BLAKE2b digest, 16 bytes, quoted."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _retrieved(task: asyncio.Task[Answer]) -> None:
    # A count whose askers all left still ends in an error someone has seen (no asyncio warning).
    if not task.cancelled():
        task.exception()


# The share of `fresh_s` after which a kept answer is counted again ahead of its expiry.
REFRESH_AT = 0.75


class SharedAnswers:
    """Per-process answers by key, each kept `fresh_s` seconds, one count in flight per key.

    Bounded: beyond `max_entries` keys the oldest count is forgotten. `fresh_s` 0 keeps
    nothing (every ask counts; concurrent askers of one key still share a count in flight).
    """

    def __init__(
        self,
        fresh_s: float = 2.0,
        max_entries: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fresh_s, self.max_entries, self.clock = fresh_s, max_entries, clock
        self._entries: dict[Hashable, Answer] = {}
        self._flights: dict[Hashable, asyncio.Task[Answer]] = {}
        self.counted = 0  # counts run (for tests and /healthz)
        self.shared = 0  # answers given from a kept count or a count in flight

    def fresh(self, key: Hashable) -> Answer | None:
        """The kept answer for `key` if its count began less than `fresh_s` seconds ago."""
        hit = self._entries.get(key)
        if hit is not None and self.clock() - hit.counted_at < self.fresh_s:
            return hit
        return None

    async def get(self, key: Hashable, count: Callable[[], Awaitable[bytes]]) -> Answer:
        """The answer for `key`: kept, or in flight, or `await count()` (its errors raised)."""
        hit = self.fresh(key)
        if hit is not None:
            self.shared += 1
            # Counted again ahead of time once the kept answer is three quarters through its
            # freshness: askers keep getting it meanwhile, and the next count is usually in
            # before it expires, so a busy question's askers do not all wait at each expiry.
            if key not in self._flights and self.clock() - hit.counted_at >= REFRESH_AT * (
                self.fresh_s
            ):
                self._fly(key, count)
            return hit
        flight = self._flights.get(key)
        if flight is None:
            flight = self._fly(key, count)
        else:
            self.shared += 1
        return await asyncio.shield(flight)

    def _fly(self, key: Hashable, count: Callable[[], Awaitable[bytes]]) -> asyncio.Task[Answer]:
        # A task of its own, in a context of its own: the count belongs to no one request, so
        # an asker whose client leaves (its request cancelled or refused) does not end the
        # count the others wait for.
        flight = asyncio.get_running_loop().create_task(
            self._count(key, count), context=contextvars.Context()
        )
        flight.add_done_callback(_retrieved)
        self._flights[key] = flight
        return flight

    async def _count(self, key: Hashable, count: Callable[[], Awaitable[bytes]]) -> Answer:
        began = self.clock()
        try:
            body = await count()
            answer = Answer(body, etag_of(body), began)
            self.counted += 1
            if self.fresh_s > 0:
                if key not in self._entries and len(self._entries) >= self.max_entries:
                    oldest = min(self._entries, key=lambda k: self._entries[k].counted_at)
                    del self._entries[oldest]
                self._entries[key] = answer
            return answer
        finally:
            self._flights.pop(key, None)

    def forget(self) -> None:
        """Drop every kept answer (counts in flight finish for those waiting on them)."""
        self._entries.clear()

    def stats(self) -> dict[str, float]:
        """Kept answers, counts run, answers shared and the freshness, for /healthz."""
        return {
            "fresh_s": self.fresh_s,
            "kept": len(self._entries),
            "counted": self.counted,
            "shared": self.shared,
        }
