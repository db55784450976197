"""Open311 API keys: created and printed once, stored as SHA-256, checked on every POST."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from psycopg import AsyncConnection
from sqlalchemy import Connection, text

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
    exists = conn.execute(text("SELECT 1 FROM api_key WHERE name = :n"), {"n": name}).first()
    if exists:
        raise InvalidApiKey(f"an API key named {name!r} exists; choose another name")
    key = PREFIX + secrets.token_urlsafe(24)
    conn.execute(
        text("INSERT INTO api_key (name, key_hash) VALUES (:n, :h)"), {"n": name, "h": _hash(key)}
    )
    return key


def reissue_key(conn: Connection, name: str) -> str:
    """Create the key `name`, or replace its secret if it exists (the old one stops working)."""
    name = _check_name(name)
    key = PREFIX + secrets.token_urlsafe(24)
    conn.execute(
        text(
            "INSERT INTO api_key (name, key_hash) VALUES (:n, :h) ON CONFLICT (name) "
            "DO UPDATE SET key_hash = EXCLUDED.key_hash, revoked_at = NULL"
        ),
        {"n": name, "h": _hash(key)},
    )
    return key


def service_key_hash(conn: Connection, name: str) -> str:
    """The stored hash of a key the service itself posts with (the residents' web form).

    Created on first use with a secret nobody is shown: only the service can post with it, and
    revoking it (`gisgrid keys revoke --name NAME`) switches that way in off.
    """
    name = _check_name(name)
    conn.execute(
        text("INSERT INTO api_key (name, key_hash) VALUES (:n, :h) ON CONFLICT (name) DO NOTHING"),
        {"n": name, "h": _hash(PREFIX + secrets.token_urlsafe(24))},
    )
    return str(
        conn.execute(text("SELECT key_hash FROM api_key WHERE name = :n"), {"n": name}).scalar_one()
    )


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


def check_key(conn: Connection, key: str | None) -> int:
    """The id of a valid key, or InvalidApiKey saying what is wrong."""
    row = conn.execute(
        text("SELECT id, revoked_at FROM api_key WHERE key_hash = :h"), {"h": key_hash(key)}
    ).first()
    if row is None or row.revoked_at is not None:
        raise key_refused(key or "", row.revoked_at if row else None)
    return int(row.id)


def list_keys(conn: Connection) -> list[dict]:
    """Names and dates of the keys (never the keys themselves)."""
    rows = conn.execute(
        text("SELECT id, name, created_at, revoked_at FROM api_key ORDER BY id")
    ).mappings()
    return [dict(r) for r in rows]


def revoke_key(conn: Connection, name: str) -> None:
    """Revoke the key `name`."""
    res = conn.execute(
        text("UPDATE api_key SET revoked_at = now() WHERE name = :n AND revoked_at IS NULL"),
        {"n": name},
    )
    if res.rowcount == 0:
        raise InvalidApiKey(f"no active API key named {name!r}")
