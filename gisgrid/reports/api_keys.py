"""Open311 API keys: created and printed once, stored as SHA-256, checked on every POST."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from psycopg import AsyncConnection
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.errors import InvalidApiKey

PREFIX = "gg_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidApiKey(f"key name {name!r} must be 1-100 characters")
    return name


def create_key(conn: Connection, name: str) -> str:
    """A new key named `name`; the key is returned once and only its hash is kept."""
    name = _check_name(name)
    exists = sql.execute(conn, "reports/api_key_exists", n=name).first()
    if exists:
        raise InvalidApiKey(f"an API key named {name!r} exists; choose another name")
    key = PREFIX + secrets.token_urlsafe(24)
    sql.execute(conn, "reports/insert_api_key", n=name, h=_hash(key))
    return key


def reissue_key(conn: Connection, name: str) -> str:
    """Create the key `name`, or replace its secret if it exists (the old one stops working)."""
    name = _check_name(name)
    key = PREFIX + secrets.token_urlsafe(24)
    sql.execute(conn, "reports/reissue_api_key", n=name, h=_hash(key))
    return key


def service_key_hash(conn: Connection, name: str) -> str:
    """The stored hash of a key the service itself posts with (the residents' web form).

    Created on first use with a secret nobody is shown: only the service can post with it, and
    revoking it (`gisgrid keys revoke --name NAME`) switches that way in off.
    """
    name = _check_name(name)
    sql.execute(
        conn, "reports/ensure_service_key", n=name, h=_hash(PREFIX + secrets.token_urlsafe(24))
    )
    return str(sql.execute(conn, "reports/api_key_hash", n=name).scalar_one())


async def service_key_hash_async(aconn: AsyncConnection[Any], name: str) -> str:
    """The same on an async psycopg connection (the residents' form posts on the async pool)."""
    name = _check_name(name)
    await sql.aexecute(
        aconn, "reports/ensure_service_key", n=name, h=_hash(PREFIX + secrets.token_urlsafe(24))
    )
    row = await sql.afirst(aconn, "reports/api_key_hash", n=name)
    assert row is not None
    return str(row["key_hash"])


def key_hash(key: str | None) -> str:
    """The stored form of a key a client sent, or InvalidApiKey if it sent none."""
    if not key:
        raise InvalidApiKey(
            "api_key is required to post a request; ask for one (gisgrid keys create)"
        )
    return _hash(key)


def key_refused(key: str, revoked_at: object | None = None) -> InvalidApiKey:
    """The error for a key that is unknown (revoked_at None) or was revoked."""
    if revoked_at is None:
        return InvalidApiKey(f"api_key {key[:6]}... is not a key this server issued")
    when = revoked_at.isoformat() if isinstance(revoked_at, dt.datetime) else str(revoked_at)
    return InvalidApiKey(f"api_key {key[:6]}... was revoked at {when}")


def list_keys(conn: Connection) -> list[dict]:
    """Names and dates of the keys (never the keys themselves)."""
    rows = sql.execute(conn, "reports/api_keys").mappings()
    return [dict(r) for r in rows]


def revoke_key(conn: Connection, name: str) -> None:
    """Revoke the key `name`."""
    res = sql.execute(conn, "reports/revoke_api_key", n=name)
    if res.rowcount == 0:
        raise InvalidApiKey(f"no active API key named {name!r}")
