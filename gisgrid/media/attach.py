"""Photos on reports: the reporter's, and the handler's before and after the work (处置前/后).

Adding is idempotent: the same photo on the same report, or the same Idempotency-Key, is one
row, so a phone that re-sends a queued upload whose answer it never heard stores it once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import CASE_HANDLERS, REGISTER_READERS, Principal
from gisgrid.errors import Conflict, InvalidReport, NotFound
from gisgrid.media.photos import PhotoStore, Prepared, save, url

STAGES = {"report": "随报", "before": "处置前", "after": "处置后"}
OPEN = {"submitted", "registered", "dispatched", "in_progress", "resolved"}
MAX_KEY = 255


def _report(conn: Connection, report_id: int) -> Any:
    row = sql.one(
        conn,
        "media/report_for_photo",
        lambda: NotFound(f"report {report_id} does not exist"),
        id=report_id,
    )
    return row


def add_report_photo(
    conn: Connection,
    store: PhotoStore,
    who: Principal,
    report_id: int,
    photo: Prepared,
    stage: str = "after",
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Add a photo to a report in the caller's scope (caller's transaction)."""
    who.require(CASE_HANDLERS, "adding a photo to a report")
    if stage not in STAGES:
        raise InvalidReport(f"stage={stage!r} is not one of {', '.join(STAGES)}")
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_KEY:
        raise InvalidReport(f"Idempotency-Key must be 1-{MAX_KEY} characters")
    r = _report(conn, report_id)
    if not r.grid_code or not who.covers(r.grid_code):
        raise who.outside_scope(
            "adding a photo to a report",
            r.grid_code or "（无网格）",
            f"report {report_id} is in grid {r.grid_code}, outside this account's scope",
        )
    if idempotency_key:
        sent = sql.scalar(
            conn, "media/report_photo_by_key", report_id=report_id, key=idempotency_key
        )
        if sent is not None:
            if sent != photo.sha256:
                raise Conflict(
                    f"Idempotency-Key {idempotency_key!r} was used for another photo on report "
                    f"{report_id}; use a new key for a new photo"
                )
            return _one(conn, report_id, photo.sha256) | {"replayed": True}
    if r.status not in OPEN:
        raise Conflict(f"report {report_id} is {r.status}; photos go on a case still being handled")
    added = _link(conn, store, who, report_id, photo, stage, idempotency_key)
    if added is not None:
        sql.execute(conn, "media/report_touch", id=report_id)
    return _one(conn, report_id, photo.sha256) | {"replayed": added is None}


def link_report_photo(
    conn: Connection,
    store: PhotoStore,
    who: Principal,
    report_id: int,
    photo: Prepared,
    stage: str = "report",
) -> None:
    """A photo that came with a new report (Open311 `media`, a patrol report): no checks
    beyond the intake's own, which has just stored the report."""
    _link(conn, store, who, report_id, photo, stage, None)


def _link(
    conn: Connection,
    store: PhotoStore,
    who: Principal,
    report_id: int,
    photo: Prepared,
    stage: str,
    key: str | None,
) -> Any:
    """Store the photo and link it to the report; the new link, or None if the key had one."""
    return sql.first(
        conn,
        "media/report_photo_insert",
        report_id=report_id,
        photo_id=save(conn, store, who, photo),
        stage=stage,
        account_id=who.account_id,
        username=who.username,
        key=key,
    )


def _view(row: Any, staff: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "url": url(row["sha256"]),
        "thumb_url": url(row["sha256"], thumb=True),
        "stage": row["stage"],
        "stage_label": STAGES.get(row["stage"], row["stage"]),
        "added_at": row["added_at"],
        "width": row["width"],
        "height": row["height"],
    }
    if staff:
        # Where and when the photo says it was taken, against the report's point.
        out |= {
            "by": row["username"],
            "taken_at": row["taken_at"],
            "taken_point": {"lon": row["taken_lon"], "lat": row["taken_lat"]}
            if row["taken_lon"] is not None
            else None,
            "distance_m": round(float(row["distance_m"]), 1)
            if row["distance_m"] is not None
            else None,
        }
    return out


def report_photos(conn: Connection, report_id: int, *, staff: bool) -> list[dict[str, Any]]:
    """A report's photos; staff also see who added each and where it was taken."""
    return [_view(r, staff) for r in sql.rows(conn, "media/report_photos", report_id=report_id)]


def _one(conn: Connection, report_id: int, sha: str) -> dict[str, Any]:
    found = [
        r for r in sql.rows(conn, "media/report_photos", report_id=report_id) if r["sha256"] == sha
    ]
    return {"report_id": report_id} | _view(found[0], staff=True)


def may_see(conn: Connection, who: Principal, sha: str) -> bool:
    """Whether `who` may see a stored photo (NotFound if there is none)."""
    row = sql.one(
        conn, "media/photo_access", lambda: NotFound(f"no photo {sha[:12]}... is stored"), sha=sha
    )
    if row["on_report"]:
        return True
    grids = row["visit_grids"] or []
    return bool(
        not who.is_public and who.role in REGISTER_READERS and any(who.covers(g) for g in grids)
    )


def is_public(conn: Connection, sha: str) -> bool:
    """Whether a photo is on a report (and so may be cached by anyone)."""
    row = sql.first(conn, "media/photo_access", sha=sha)
    return bool(row and row["on_report"])
