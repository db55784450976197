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

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from gisgrid import sql
from gisgrid.db import Listener

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


class TokenNotices(Listener):
    """Listens on `gisgrid_tokens` and calls `forget(hashes, account_ids, everything)`.

    `known` is True only while the listening connection is up (and was up before any change
    it could have missed: on every (re)connect everything is forgotten once).
    """

    name = "gisgrid-token-notices"
    what = "token revocations"

    def __init__(
        self,
        url: str,
        forget: Callable[[list[str], list[int], bool], None],
    ) -> None:
        super().__init__(url)
        self.forget = forget
        self.notices = 0  # how many arrived (for /healthz and tests)

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

    async def listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Listen; anything revoked while nobody listened is forgotten, then trusted again."""
        await sql.aexecute(conn, "access/listen_tokens")
        self.forget([], [], True)
        self.known = True
        self._ready.set()
        async for notice in conn.notifies():
            self._heard(notice.payload)
