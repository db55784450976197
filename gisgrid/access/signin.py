"""Signing in, with a backoff per username that holds whatever address the guesses come from.

Limits per address stop one machine; a guesser with four addresses met no resistance (issue
13). Here every username (known or not, so the answers do not tell which exist) gets
FREE_FAILURES wrong passwords in a row, then must wait before the next one is even checked:
15 s, 30 s, 1 min ... at most 15 min. A good password ends the run; a run older than an hour
is forgotten. The cost: someone who keeps guessing can make one person wait up to 15 minutes
between attempts, which is the point of a per-account limit.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import audit
from gisgrid.access.accounts import (
    Principal,
    issue_token,
    new_token,
    principal_for_token,
    revoke_token,
)
from gisgrid.errors import GisGridError, NotAuthenticated, RateLimited

FREE_FAILURES = 5
FIRST_WAIT_S = 15
MAX_WAIT_S = 15 * 60
FORGET_AFTER_S = 3600
MAX_USERNAME = 64  # account.username's length: a longer name is no account


def wait_after(failures: int) -> int:
    """Seconds a username waits after this many failures in a row (0 while under the limit)."""
    if failures < FREE_FAILURES:
        return 0
    return min(MAX_WAIT_S, FIRST_WAIT_S * 2 ** (failures - FREE_FAILURES))


@dataclass
class SignIn:
    """What a sign-in came to: a token for a principal, or the refusal to raise.

    A refusal is returned, not raised, so the caller's transaction commits the failure count.
    """

    token: str | None = None
    expires: dt.datetime | None = None
    principal: Principal | None = None
    refused: GisGridError | None = None


def sign_in(
    conn: Connection,
    username: str,
    password: str,
    ttl: dt.timedelta,
    path: str,
    client: str,
    status: int,
) -> SignIn:
    """Check a password under the backoff; on success a token, the run reset, a login audited."""
    key = username[:MAX_USERNAME]
    row = sql.first(conn, "access/signin_failures", u=key)
    now = dt.datetime.now(dt.UTC)
    if row is not None and row["blocked_until"] is not None and row["blocked_until"] > now:
        wait = math.ceil((row["blocked_until"] - now).total_seconds())
        return SignIn(
            refused=RateLimited(
                f"{row['failures']} failed sign-ins in a row for {key!r}: the next attempt is "
                f"checked in {wait} s (waits double with each failure, up to "
                f"{MAX_WAIT_S // 60} min)",
                retry_after=wait,
            )
        )
    try:
        token, expires = issue_token(conn, username, password, ttl)
    except NotAuthenticated as exc:
        failures = int(sql.scalar(conn, "access/signin_failed", u=key, forget_s=FORGET_AFTER_S))
        wait = wait_after(failures)
        if wait:
            sql.execute(conn, "access/signin_block", u=key, wait_s=wait)
            return SignIn(
                refused=RateLimited(
                    f"{exc}; {failures} failed sign-ins in a row for {key!r}: the next attempt "
                    f"is checked in {wait} s",
                    retry_after=wait,
                )
            )
        return SignIn(refused=exc)
    sql.execute(conn, "access/signin_succeeded", u=key)
    who = principal_for_token(conn, token)
    audit.record(conn, who, "login", method="POST", path=path, client=client, status=status)
    return SignIn(token, expires, who)


def refresh(conn: Connection, token: str, ttl: dt.timedelta) -> SignIn:
    """A fresh token for a live one, which is revoked: a client that keeps using the service
    keeps a short-lived token without sending its password again."""
    who = principal_for_token(conn, token)  # NotAuthenticated if expired, revoked, disabled
    assert who.account_id is not None
    new, expires = new_token(conn, who.account_id, ttl)
    revoke_token(conn, token)
    return SignIn(new, expires, who)
