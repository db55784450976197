"""State every worker process and host shares through PostgreSQL (issue 19).

- Rate limits: `count_hits` counts one request against its per-minute windows in the UNLOGGED
  table `rate_hit` (function `gisgrid_rate_hits`, `sql/access/shared_state_functions.sql`), so
  N workers refuse at the same count as one.
- Token revocations and account changes: statement triggers on `access_token` and `account`
  notify channel `gisgrid_tokens` at commit, whoever commits (sign-out, an admin, the CLI, plain
  SQL); `TokenNotices` listens on its own connection and tells this process's token cache what
  to forget. While it is not listening, `known` is False and callers must not trust a cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from gisgrid import sql

log = logging.getLogger(__name__)
CHANNEL = "gisgrid_tokens"


async def count_hits(
    pool: AsyncConnectionPool, keys: Sequence[tuple[str, str, int]]
) -> tuple[int, int]:
    """Count a request under (bucket, client, per minute) keys, in order, in the shared windows.

    Returns (0, 0) when every key counted it, else (index of the refusing key, seconds to
    wait); keys after a refusing one are not counted. One statement on the async pool.
    """
    async with pool.connection() as aconn:
        row = await sql.afirst(
            aconn,
            "access/rate_hit",
            buckets=[k[0] for k in keys],
            clients=[k[1] for k in keys],
            limits=[int(k[2]) for k in keys],
        )
    if row is None:  # the function always returns a row; a missing one is a broken install
        raise RuntimeError("gisgrid_rate_hits returned no row: run `gisgrid migrate`")
    return int(row["refused"]), int(row["wait"])


class TokenNotices:
    """Listens on `gisgrid_tokens` and calls `forget(hashes, account_ids, everything)`.

    `known` is True only while the listening connection is up (and was up before any change
    it could have missed: on every (re)connect everything is forgotten once).
    """

    def __init__(
        self,
        url: str,
        forget: Callable[[list[str], list[int], bool], None],
    ) -> None:
        self.url = url  # libpq style
        self.forget = forget
        self.known = False
        self.notices = 0  # how many arrived (for /healthz and tests)
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._ready = asyncio.Event()

    async def start(self, wait_s: float = 3.0) -> None:
        """Start listening; wait up to `wait_s` for the connection (the service starts anyway)."""
        self._task = asyncio.create_task(self._run(), name="gisgrid-token-notices")
        try:
            await asyncio.wait_for(self._ready.wait(), wait_s)
        except TimeoutError:
            log.warning("no token notices within %.1f s; tokens looked up per request", wait_s)

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        self.known = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _heard(self, payload: str) -> None:
        self.notices += 1
        try:
            msg = json.loads(payload)
            kind = msg.get("type")
        except (ValueError, AttributeError):
            kind, msg = "all", {}
        if kind == "tokens":
            self.forget([str(h) for h in msg.get("hashes") or []], [], False)
        elif kind == "accounts":
            self.forget([], [int(i) for i in msg.get("ids") or []], False)
        else:
            self.forget([], [], True)

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, application_name="gisgrid-token-notices"
                ) as conn:
                    self._conn = conn
                    await sql.aexecute(conn, "access/listen_tokens")
                    # Anything revoked while nobody listened: forget it all, then trust again.
                    self.forget([], [], True)
                    self.known = True
                    self._ready.set()
                    backoff = 0.5
                    async for notice in conn.notifies():
                        self._heard(notice.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the connection went away: distrust, then reconnect
                self.known = False
                log.warning("not listening for token revocations (%r); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                self.known = False
                self._conn = None

    async def backend_pid(self) -> int | None:
        """The listening connection's server process id (tests end it to prove recovery)."""
        return self._conn.info.backend_pid if self._conn is not None else None
