"""Reports from the patrol (巡查上报): a grid worker files what they find, where they stand.

The report goes through the same intake as any other (grid, handler, time limit, duplicate
linking, Idempotency-Key replay), with source `patrol` and the service's own key `field-app`
(revoking it switches this way in off). A worker may fix a small problem on the spot and close
it at once (即知即改) with an after photo: the report is filed and closed in one transaction,
so a phone re-sending the queued action gets the same report back, never a second one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import Principal
from gisgrid.errors import Conflict, InvalidReport, NotFound
from gisgrid.media import PhotoStore, Prepared, link_report_photo, url
from gisgrid.reports import api_keys, cases, intake

FIELD_KEY = "field-app"
MAX_NOTE = cases.MAX_NOTE


@dataclass(frozen=True)
class FieldReport:
    """What a grid worker sends from the patrol: the problem where they stand, maybe fixed."""

    service_code: str
    lon: float
    lat: float
    description: str | None = None
    address: str | None = None
    photo: Prepared | None = None
    after_photo: Prepared | None = None  # 即知即改: the after photo, with fixed_note
    fixed_note: str | None = None  # 即知即改: what was done on the spot
    idempotency_key: str | None = None


def file_patrol_report(
    conn: Connection,
    who: Principal,
    sent: FieldReport,
    *,
    store: PhotoStore,
    config: intake.IntakeConfig,
    media_base: str = "",
    client: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """File one patrol report at a point in the worker's scope; close it on the spot if fixed.

    Everything is checked before anything is written: a refused request stores nothing.
    """
    who.require(cases.FIELD, "filing a patrol report (巡查上报)")
    photo, after_photo = sent.photo, sent.after_photo
    fixed_note = (sent.fixed_note or "").strip() or None
    if fixed_note and after_photo is None:
        raise InvalidReport("即知即改 (fixed on the spot) needs an after photo (after_photo)")
    if after_photo is not None and not fixed_note:
        raise InvalidReport("after_photo goes with fixed_note: what was done on the spot")
    if fixed_note and len(fixed_note) > MAX_NOTE:
        raise InvalidReport(f"fixed_note has {len(fixed_note)} characters; at most {MAX_NOTE}")
    shown = photo or after_photo
    report = intake.ReportIn(
        service_code=sent.service_code.strip(),
        lon=sent.lon,
        lat=sent.lat,
        crs="wgs84",
        address_string=(sent.address or "").strip() or None,
        description=(sent.description or "").strip() or None,
        media_url=f"{media_base}{url(shown.sha256)}" if shown else None,
        reporter={"account": who.username},
        source="patrol",
        idempotency_key=sent.idempotency_key,
    )
    point = intake.locate_input(report)
    assert point is not None
    placed = intake.place(conn, *point, config.edge_tolerance_m)
    code = placed["grid"]["code"]
    if not who.covers(code):
        raise who.outside_scope(
            "filing a patrol report (巡查上报)",
            code,
            f"lon={sent.lon}, lat={sent.lat} is in grid {code}, outside your scope {who.scope}: "
            "file patrol reports where you patrol",
        )
    stored = intake.submit_report(
        conn,
        report,
        config=config,
        stored_key_hash=api_keys.service_key_hash(conn, FIELD_KEY),
        now=now,
    )
    rid = int(stored["id"])
    note = None
    if not stored["replayed"]:
        if photo is not None:
            link_report_photo(conn, store, who, rid, photo, stage="report")
        if fixed_note and after_photo is not None:
            if stored["duplicate_of"]:
                note = (
                    f"the same problem is already case {stored['duplicate_of']}; this report "
                    "joined it and was not closed on the spot"
                )
            else:
                link_report_photo(conn, store, who, rid, after_photo, stage="after")
                fix = cases.CaseAction("fix_on_spot", note=fixed_note)
                cases.act(conn, who, rid, fix, internal=True, now=now)
    found = cases.case_file(conn, who, rid, client=client)
    return found | {"replayed": stored["replayed"], "note": note}


REPORTER = Principal(account_id=None, username=cases.REPORTER, role=None, scope="\x00")
MAX_REPORTER_PHOTOS = 3


def add_reporter_photo(
    conn: Connection,
    store: PhotoStore,
    report_id: int,
    receipt: str,
    photo: Prepared,
    media_base: str = "",
) -> dict[str, Any]:
    """A resident adds a photo to the report they filed (residents' form), proven by the
    receipt their phone keeps (like the verdict); at most three, while the case is open. The
    first becomes the report's Open311 `media_url`."""
    row = sql.one(
        conn,
        "reports/receipt_of",
        lambda: NotFound(f"report {report_id} does not exist"),
        id=report_id,
        who=cases.REPORTER,
    )
    cases.check_receipt(row, report_id, receipt, "use the phone that filed it")
    if row["status"] in ("closed", "cancelled"):
        raise Conflict(f"report {report_id} is {row['status']}; photos go on an open report")
    if row["photos"] >= MAX_REPORTER_PHOTOS:
        raise Conflict(f"report {report_id} already has {MAX_REPORTER_PHOTOS} photos from you")
    link_report_photo(conn, store, REPORTER, report_id, photo, stage="report")
    sql.execute(conn, "reports/set_media_url", id=report_id, url=f"{media_base}{url(photo.sha256)}")
    return {"report_id": report_id, "url": url(photo.sha256), "thumb_url": url(photo.sha256, True)}
