"""Household visits (入户走访): a grid worker at a household's door, and what it changed.

Visits live with the household register (this room) rather than with patrols: a visit is an
act on one household, under the register's rules, not a position on a road. It is recorded
only inside the worker's scope (the household's current grid), read back with the same
masking as the register, and an information update (members, phone) changes the register in
the same transaction, with its own audit entry. Patrol coverage reads the visits (a recorded
visit counts as visited beside GPS proximity; gisgrid.patrols.coverage).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import audit
from gisgrid.access.accounts import FIELD_ROLES, PERSONAL_READERS, REGISTER_READERS, Principal
from gisgrid.divisions import grid_code
from gisgrid.errors import IdempotencyConflict, InvalidReport, NotFound
from gisgrid.media import PhotoStore, Prepared, save

KINDS = {
    "routine": "日常走访",
    "care": "关爱走访",
    "dispute": "矛盾调解",
    "info_update": "信息更新",
}
# Who records visits: grid staff and the centres (not household leaders, planners, departments).
VISITORS = FIELD_ROLES
MAX_NOTE = 2000
MAX_KEY = 255
MAX_SIZE = 30
PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,18}[0-9]$")
# How late a queued visit may arrive (a phone offline for days keeps its visits).
MAX_AGE = dt.timedelta(days=30)
# Care-tagged households (关爱对象: elderly living alone, disabled ...) are visited weekly,
# the others monthly; overdue ones come first in the worker's list.
CARE_VISIT_DAYS = 7
ROUTINE_VISIT_DAYS = 30
HISTORY = 50


def _hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class VisitIn:
    """One household visit (入户走访) as the worker's phone sends it."""

    kind: str
    note: str | None = None
    size: int | None = None  # info_update: members living there now
    phone: str | None = None  # info_update: the phone now
    photo: Prepared | None = None
    visited_at: dt.datetime | None = None  # None: now
    lon: float | None = None  # where the phone was (WGS84)
    lat: float | None = None
    idempotency_key: str | None = None


def _check(
    visit: VisitIn, note: str | None, visited_at: dt.datetime, now: dt.datetime
) -> dict[str, Any]:
    """The information update as stored, or InvalidReport naming what is wrong (nothing stored)."""
    kind, size, phone, lon, lat = visit.kind, visit.size, visit.phone, visit.lon, visit.lat
    key = visit.idempotency_key
    if kind not in KINDS:
        raise InvalidReport(f"kind={kind!r} is not one of {', '.join(KINDS)}")
    if note and len(note) > MAX_NOTE:
        raise InvalidReport(f"note has {len(note)} characters; at most {MAX_NOTE}")
    changes: dict[str, Any] = {}
    if size is not None:
        if not 1 <= size <= MAX_SIZE:
            raise InvalidReport(f"size={size} must be between 1 and {MAX_SIZE} people")
        changes["size"] = size
    if phone is not None and phone.strip():
        if not PHONE.match(phone.strip()):
            raise InvalidReport(f"phone={phone!r} is not a phone number (digits, 6-20 long)")
        changes["phone"] = phone.strip()
    if changes and kind != "info_update":
        raise InvalidReport(
            f"size and phone change the register: send them with kind=info_update, not {kind}"
        )
    if kind == "info_update" and not changes:
        raise InvalidReport("kind=info_update needs what changed: size and/or phone")
    if visited_at.tzinfo is None:
        raise InvalidReport(f"visited_at={visited_at.isoformat()} needs a time zone")
    if visited_at > now + dt.timedelta(minutes=5):
        raise InvalidReport(f"visited_at={visited_at.isoformat()} is in the future")
    if visited_at < now - MAX_AGE:
        raise InvalidReport(
            f"visited_at={visited_at.isoformat()} is more than {MAX_AGE.days} days ago"
        )
    if (lon is None) != (lat is None):
        raise InvalidReport("lon and lat must be given together")
    if lon is not None and lat is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidReport(f"lon={lon}, lat={lat} is not a WGS84 position")
    if key is not None and not 0 < len(key) <= MAX_KEY:
        raise InvalidReport(f"Idempotency-Key must be 1-{MAX_KEY} characters")
    return changes


def record_visit(
    conn: Connection,
    who: Principal,
    household_id: int,
    visit: VisitIn,
    *,
    store: PhotoStore | None = None,
    client: str | None = None,
    path: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Record one visit to a household in the caller's scope (caller's transaction).

    The same Idempotency-Key from the same account returns the visit already recorded
    (`replayed`); the same key with other content is a conflict. An info_update changes the
    household's size and/or phone and writes an audit entry naming the household.
    """
    who.require(VISITORS, "recording a household visit")
    now = now or dt.datetime.now(dt.UTC)
    visited_at = visit.visited_at or now
    note = (visit.note or "").strip() or None
    changes = _check(visit, note, visited_at, now)
    request_hash = _hash(
        {
            "household": household_id,
            "kind": visit.kind,
            "note": note,
            "changes": changes,
            "photo": visit.photo.sha256 if visit.photo else None,
            "visited_at": visited_at.isoformat() if visited_at is not now else None,
        }
    )
    if visit.idempotency_key:
        sent = sql.first(
            conn, "access/visit_by_key", account_id=who.account_id, key=visit.idempotency_key
        )
        if sent is not None:
            return _replay(conn, who, sent, request_hash, visit.idempotency_key)
    h = sql.one(
        conn,
        "access/household_for_visit",
        lambda: NotFound(f"no household has id {household_id}"),
        id=household_id,
    )
    if not h.grid_code or not who.covers(h.grid_code):
        raise who.outside_scope(
            "recording a household visit",
            f"住户 {household_id}",
            f"household {household_id} is outside your scope {who.scope or '(none)'}: "
            "visits are recorded only in your own grid",
        )
    photo_id = None
    if visit.photo is not None:
        assert store is not None, "a photo needs the photo store"
        photo_id = save(conn, store, who, visit.photo)
    new_id = sql.scalar(
        conn,
        "access/visit_insert",
        household_id=household_id,
        grid_id=h.grid_id,
        kind=visit.kind,
        note=note,
        photo_id=photo_id,
        changes=json.dumps(changes, ensure_ascii=False) if changes else None,
        visited_at=visited_at,
        lon=visit.lon,
        lat=visit.lat,
        account_id=who.account_id,
        username=who.username,
        key=visit.idempotency_key,
        request_hash=request_hash,
    )
    if new_id is None:  # the same key won a race a moment ago
        sent = sql.first(
            conn, "access/visit_by_key", account_id=who.account_id, key=visit.idempotency_key
        )
        assert sent is not None
        return _replay(conn, who, sent, request_hash, visit.idempotency_key)
    if changes:
        sql.execute(
            conn,
            "access/household_update",
            id=household_id,
            size=visit.size,
            phone=changes.get("phone"),
        )
        audit.record(
            conn,
            who,
            "register_update",
            method="POST",
            path=path or f"/api/v1/households/{household_id}/visits",
            object_type="household",
            object_ids=[household_id],
            client=client,
        )
    return _view(sql.first(conn, "access/visit_one", id=new_id), reveal=True) | {"replayed": False}


def _replay(
    conn: Connection, who: Principal, sent: Any, request_hash: str, key: str | None
) -> dict[str, Any]:
    if sent.request_hash != request_hash:
        raise IdempotencyConflict(
            f"Idempotency-Key {key!r} was used for visit {sent.id} with different content; "
            "use a new key for a new visit"
        )
    row = sql.first(conn, "access/visit_one", id=sent.id)
    return _view(row, reveal=who.role in PERSONAL_READERS) | {"replayed": True}


def _view(row: Any, reveal: bool) -> dict[str, Any]:
    changes = dict(row["changes"] or {})
    if "phone" in changes and not reveal:
        p = str(changes["phone"])
        changes["phone"] = p[:3] + "****" + p[-4:]
    return {
        "id": int(row["id"]),
        "household_id": int(row["household_id"]),
        "kind": row["kind"],
        "kind_label": KINDS.get(row["kind"], row["kind"]),
        "note": row["note"],
        "visited_at": row["visited_at"],
        "by": row["username"],
        "position": {"lon": row["lon"], "lat": row["lat"]} if row["lon"] is not None else None,
        "changes": changes or None,
        "photo_url": f"/media/{row['photo']}.jpg" if row["photo"] else None,
        "thumb_url": f"/media/{row['photo']}.thumb.jpg" if row["photo"] else None,
    }


def history(
    conn: Connection, who: Principal, household_id: int, limit: int = HISTORY
) -> list[dict[str, Any]]:
    """A household's visits, newest first (the caller has already been checked for scope)."""
    reveal = who.role in PERSONAL_READERS
    rows = sql.rows(conn, "access/visits_of_household", id=household_id, reveal=reveal, limit=limit)
    return [_view(r, reveal=reveal) for r in rows]


def due_list(conn: Connection, who: Principal, grid: str, limit: int = 5000) -> dict[str, Any]:
    """A grid's households by visit priority: overdue care-tagged ones first, then other
    overdue ones, then the rest; each with its last visit and whether it is due."""
    who.require(REGISTER_READERS, "reading household visits")
    code = grid_code(grid)
    who.require_scope(code, "reading household visits")
    rows = sql.rows(
        conn,
        "access/visit_due",
        grid=code,
        care_days=CARE_VISIT_DAYS,
        routine_days=ROUTINE_VISIT_DAYS,
        limit=limit,
    )
    return {
        "grid": code,
        "care_days": CARE_VISIT_DAYS,
        "routine_days": ROUTINE_VISIT_DAYS,
        "households": [
            {
                "id": int(r["id"]),
                "address": r["address"],
                "size": r["size"],
                "care_tags": list(r["care_tags"] or []),
                "last_visit": r["last_visit"],
                "last_kind": r["last_kind"],
                "due": bool(r["due"]),
            }
            for r in rows
        ],
    }
