"""Reports in: place a report in its grid, give it to a person, link duplicates, never twice.

Used by the Open311 router and the CLI alike (and, later, by anything else that takes reports),
so the rules live in one place:

- the point (WGS84, or GCJ-02/BD-09 converted exactly) goes to the covering grid of the current
  generation, lowest code on a shared edge; grids within ``edge_tolerance_m`` metres are recorded
  as candidates; a point in a served county but in no grid goes to the nearest grid, flagged
  (属地兜底); a point outside every county (and not within the tolerance of a grid) is refused;
- the grid's on-duty full-time worker with the fewest open cases takes it, else the on-duty grid
  chief, else the village (村/社区) itself; the time-limit clock starts at that dispatch (派遣);
- a report of the same service near an open earlier one is linked to it as a duplicate;
- a resubmission with the same client key returns the first report, never a second one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Connection, TextClause, text

from gisgrid import sql
from gisgrid.datum import DATUMS, to_wgs84
from gisgrid.errors import IdempotencyConflict, InvalidReport, NotFound, OutsideCoverage
from gisgrid.locate import check_lon_lat
from gisgrid.settings import Settings
from gisgrid.taxonomy import WORKING_DAY_HOURS, category, duplicate_rule
from gisgrid.workcal import WorkingCalendar

SOURCES = ("resident", "patrol", "hotline", "video")
OPEN_STATUSES = ("submitted", "registered", "dispatched", "in_progress")
MAX_DESCRIPTION = 4000  # Open311's limit
MAX_KEY = 255
_M_PER_DEG_LAT = 111_320.0


@cache
def _q(name: str) -> TextClause:
    # Parsed once per process: text() re-scans the statement for bind names on every call.
    return text(sql.load(name))


@cache
def _report_query(by_id: bool) -> TextClause:
    # Two statements rather than "x IS NULL OR ..." so each keeps a good prepared plan.
    where = (
        "WHERE r.id = ANY(CAST(:ids AS bigint[]))"
        if by_id
        else "WHERE r.reported_at >= CAST(:start AS timestamptz) "
        "AND r.reported_at < CAST(:end AS timestamptz) "
        "AND (CAST(:codes AS text[]) IS NULL OR r.category = ANY(CAST(:codes AS text[]))) "
        "AND (CAST(:closed AS boolean) IS NULL OR (coalesce(o.status, r.status) "
        "IN ('closed', 'cancelled')) = CAST(:closed AS boolean))"
    )
    return text(
        sql.load("report_select") + where + " ORDER BY r.reported_at DESC, r.id DESC LIMIT :limit"
    )


@dataclass(frozen=True)
class ReportIn:
    """A report as received, before it is placed (coordinates in `crs`)."""

    service_code: str
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    address_string: str | None = None
    description: str | None = None
    media_url: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    reporter: Mapping[str, str] = field(default_factory=dict)
    source: str = "resident"
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """SHA-256 of everything but the key: a reused key must come with the same request."""
        body = asdict(self)
        body.pop("idempotency_key")
        body["attributes"], body["reporter"] = dict(self.attributes), dict(self.reporter)
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class IntakeConfig:
    """Tolerances, calendar and duplicate rules (from Settings)."""

    edge_tolerance_m: float = 5.0
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    duplicate_rules: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> IntakeConfig:
        """The configuration the GISGRID_* settings describe."""
        return cls(
            edge_tolerance_m=settings.edge_tolerance_m,
            calendar=WorkingCalendar.from_settings(
                settings.work_periods, settings.work_holidays, settings.work_extra_days
            ),
            duplicate_rules=dict(settings.duplicate_rules),
        )


def _deg(metres: float, lat: float) -> float:
    # Degrees that surely span `metres` at this latitude (longitude degrees shrink by cos(lat)).
    return 1.5 * metres / (_M_PER_DEG_LAT * max(math.cos(math.radians(lat)), 0.05)) + 1e-9


def place(conn: Connection, lon: float, lat: float, tolerance_m: float = 5.0) -> dict[str, Any]:
    """The grid a WGS84 point goes to, the other candidates, and whether it is a fallback.

    Covering grid (edges included; lowest code on a tie) if any; else, if the point is inside a
    served county or within `tolerance_m` of a grid, the nearest grid with fallback=True;
    else OutsideCoverage naming the point.
    """
    check_lon_lat(lon, lat)
    params = {"lon": lon, "lat": lat, "tol_m": tolerance_m, "tol_deg": _deg(tolerance_m, lat)}
    rows = conn.execute(_q("intake_place"), params).mappings().all()
    fallback = not rows or not rows[0]["covers"]
    if not rows:
        rows = conn.execute(_q("intake_nearest"), params).mappings().all()[:1]
    if not rows:
        counties = conn.execute(
            text(
                "SELECT string_agg(name || ' ' || left(code, 6), ', ' ORDER BY code) "
                "FROM admin_unit WHERE level = 'county'"
            )
        ).scalar_one()
        raise OutsideCoverage(
            f"lon={lon}, lat={lat} (WGS84) is outside the area this service covers "
            f"(counties: {counties or 'none loaded'}); check the coordinates and their crs "
            "(wgs84, gcj02 or bd09)"
        )
    chosen = dict(rows[0])
    return {
        "grid": chosen,
        "candidates": [r["code"] for r in rows[1:]],
        "fallback": fallback,
    }


def choose_handler(conn: Connection, grid_id: int) -> tuple[dict[str, Any] | None, str]:
    """(staff, level): least-loaded full-time worker, else the grid chief, else the village."""
    row = conn.execute(_q("intake_assignee"), {"grid_id": grid_id}).mappings().first()
    if row is None:
        return None, "village"
    return dict(row), str(row["role"])


def geocode_address(conn: Connection, address: str) -> tuple[float, float]:
    """WGS84 lon/lat of a household address (exact match), or InvalidReport saying why not."""
    rows = conn.execute(
        text(
            "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, grid_id FROM household "
            "WHERE address = :a LIMIT 5"
        ),
        {"a": address.strip()},
    ).all()
    if not rows:
        raise InvalidReport(
            f"address_string={address!r} matches no household address here; send lat and long"
        )
    if len({r.grid_id for r in rows}) > 1:
        raise InvalidReport(
            f"address_string={address!r} matches households in {len(rows)} places; "
            "send lat and long"
        )
    return float(rows[0].lon), float(rows[0].lat)


def _check(report: ReportIn) -> None:
    try:
        category(report.service_code)
    except NotFound as exc:
        raise InvalidReport(f"service_code: {exc}") from None
    if report.crs.strip().lower() not in DATUMS:
        raise InvalidReport(
            f"crs={report.crs!r} is not supported; use wgs84 (GPS, the default), gcj02 "
            "(Gaode/Tencent) or bd09 (Baidu)"
        )
    if (report.lon is None) != (report.lat is None):
        raise InvalidReport("lat and long must be given together")
    if report.lon is None and not (report.address_string or "").strip():
        raise InvalidReport("a location is required: lat and long, or address_string")
    if report.description and len(report.description) > MAX_DESCRIPTION:
        raise InvalidReport(
            f"description has {len(report.description)} characters; at most {MAX_DESCRIPTION}"
        )
    if report.media_url and not report.media_url.startswith(("http://", "https://")):
        raise InvalidReport(f"media_url={report.media_url!r} is not an http(s) URL")
    if report.source not in SOURCES:
        raise InvalidReport(f"source={report.source!r} is not one of {', '.join(SOURCES)}")
    if report.idempotency_key is not None and not 0 < len(report.idempotency_key) <= MAX_KEY:
        raise InvalidReport(f"Idempotency-Key must be 1-{MAX_KEY} characters")


def _existing(conn: Connection, api_key_id: int | None, report: ReportIn) -> int | None:
    if report.idempotency_key is None:
        return None
    row = conn.execute(
        text(
            "SELECT id, request_hash FROM report "
            "WHERE api_key_id IS NOT DISTINCT FROM :k AND idempotency_key = :i"
        ),
        {"k": api_key_id, "i": report.idempotency_key},
    ).first()
    if row is None:
        return None
    if row.request_hash != report.fingerprint():
        raise IdempotencyConflict(
            f"Idempotency-Key {report.idempotency_key!r} was used for request {row.id} with "
            "different content; use a new key for a new report"
        )
    return int(row.id)


def submit_report(
    conn: Connection,
    report: ReportIn,
    api_key_id: int | None = None,
    config: IntakeConfig | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Place, assign and store one report (or return the one already stored under its key)."""
    config = config or IntakeConfig()
    now = now or dt.datetime.now(dt.UTC)
    _check(report)
    first = _existing(conn, api_key_id, report)
    if first is not None:
        return read_report(conn, first) | {"replayed": True}

    if report.lon is not None and report.lat is not None:
        check_lon_lat(report.lon, report.lat)
        x, y = to_wgs84(report.lon, report.lat, report.crs)
        lon, lat = float(x), float(y)
    else:
        lon, lat = geocode_address(conn, report.address_string or "")
    where = place(conn, lon, lat, config.edge_tolerance_m)
    grid = where["grid"]
    # One intake at a time per grid, so "fewest open cases" and "first report" stay true under
    # concurrent posts (4 = this advisory-lock namespace).
    conn.execute(text("SELECT pg_advisory_xact_lock(4, :g)"), {"g": grid["id"]})

    cat = category(report.service_code)
    radius_m, window_h = duplicate_rule(cat.code, dict(config.duplicate_rules))
    original = None
    if radius_m > 0 and window_h > 0:
        original = (
            conn.execute(
                _q("intake_duplicate"),
                {
                    "lon": lon,
                    "lat": lat,
                    "category": cat.code,
                    "now": now,
                    "window_h": window_h,
                    "radius_m": radius_m,
                    "radius_deg": _deg(radius_m, lat),
                },
            )
            .mappings()
            .first()
        )
    if original is not None:
        # A supporter: handled with the original, so it is registered, not dispatched again.
        staff_id, level, status = original["assignee_id"], original["handler_level"], "registered"
        dispatched_at = due_at = None
    else:
        staff, level = choose_handler(conn, grid["id"])
        staff_id, status = (staff["id"] if staff else None), "dispatched"
        dispatched_at = now
        due_at = config.calendar.due(now, cat.limit_hours, WORKING_DAY_HOURS)

    new_id = conn.execute(
        _q("intake_insert"),
        {
            "category": cat.code,
            "description": report.description,
            "source": report.source,
            "status": status,
            "grid_id": grid["id"],
            "assignee_id": staff_id,
            "now": now,
            "dispatched_at": dispatched_at,
            "due_at": due_at,
            "lon": lon,
            "lat": lat,
            "api_key_id": api_key_id,
            "idempotency_key": report.idempotency_key,
            "request_hash": report.fingerprint(),
            "address": report.address_string,
            "media_url": report.media_url,
            "attributes": json.dumps(dict(report.attributes), ensure_ascii=False),
            "reporter": json.dumps(dict(report.reporter), ensure_ascii=False)
            if report.reporter
            else None,
            "input_point": json.dumps({"lon": report.lon, "lat": report.lat, "crs": report.crs})
            if report.lon is not None
            else None,
            "grid_candidates": where["candidates"],
            "fallback": where["fallback"],
            "handler_level": level,
            "village_code": grid["village_code"],
            "duplicate_of": original["id"] if original else None,
        },
    ).scalar()
    if new_id is None:
        # Lost a race with the same key: the other request committed first.
        first = _existing(conn, api_key_id, report)
        assert first is not None
        return read_report(conn, first) | {"replayed": True}
    return read_report(conn, int(new_id)) | {"replayed": False}


def query_reports(
    conn: Connection,
    ids: list[int] | None = None,
    codes: list[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    closed: bool | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Reports matching every given filter, newest first."""
    params: dict[str, Any] = {"ids": ids, "limit": limit}
    if ids is None:
        params |= {
            "codes": codes,
            "start": start or "-infinity",
            "end": end or "infinity",
            "closed": closed,
        }
    rows = conn.execute(_report_query(ids is not None), params).mappings()
    return [_summary(r) for r in rows]


def read_report(conn: Connection, report_id: int) -> dict[str, Any]:
    """One report as the intake answer shows it, or NotFound."""
    found = query_reports(conn, ids=[report_id], limit=1)
    if not found:
        raise NotFound(f"report {report_id} does not exist")
    return found[0]


def _summary(r: Any) -> dict[str, Any]:
    staff = (
        {"id": r["staff_id"], "name": r["staff_name"], "role": r["staff_role"]}
        if r["staff_id"] is not None
        else None
    )
    return {
        "id": int(r["id"]),
        "service_code": r["category"],
        "description": r["description"],
        "status": r["status"],
        "effective_status": r["effective_status"],
        "source": r["source"],
        "generated": r["generated"],
        "point": {"lon": r["lon"], "lat": r["lat"], "crs": "wgs84"},
        # Where the public sees it: a point inside its grid, never the exact spot (issue 7).
        "public_point": (
            {"lon": r["grid_lon"], "lat": r["grid_lat"], "crs": "wgs84"}
            if r["grid_lon"] is not None
            else {"lon": round(r["lon"], 2), "lat": round(r["lat"], 2), "crs": "wgs84"}
        ),
        "input_point": r["input_point"],
        "address": r["address"],
        "media_url": r["media_url"],
        "attributes": r["attributes"] or {},
        "grid": {"code": r["grid_code"], "name": r["grid_name"]} if r["grid_code"] else None,
        "village": {"code": r["village_code"], "name": r["village_name"]}
        if r["village_code"]
        else None,
        "candidates": list(r["grid_candidates"] or []),
        "fallback": r["fallback"],
        "handler": {"level": r["handler_level"], "staff": staff},
        "duplicate_of": r["duplicate_of"],
        "supporters": int(r["supporters"]),
        "reported_at": r["reported_at"],
        "updated_at": r["updated_at"],
        "dispatched_at": r["dispatched_at"],
        "due_at": r["due_at"],
        "closed_at": r["closed_at"],
    }
