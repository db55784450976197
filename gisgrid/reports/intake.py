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

import asyncio
import datetime as dt
import hashlib
import json
import math
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout, TooManyRequests
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.datum import DATUMS, WGS84_DATUMS, to_wgs84
from gisgrid.divisions import check_lon_lat
from gisgrid.errors import (
    DatabaseUnavailable,
    GisGridError,
    IdempotencyConflict,
    InvalidApiKey,
    InvalidReport,
    NotFound,
    OutsideCoverage,
    Overloaded,
)
from gisgrid.reports import api_keys
from gisgrid.reports.outcomes import OUTCOMES
from gisgrid.reports.stages import STAGES, check_overrides, stage_hours
from gisgrid.reports.taxonomy import category, duplicate_rule
from gisgrid.reports.triage import LABELS as TRIAGE_LABELS
from gisgrid.reports.working_calendar import Calendars, DueMemo, WorkingCalendar
from gisgrid.settings import Settings

SOURCES = ("resident", "patrol", "hotline", "video")

OPEN_STATUSES = ("submitted", "registered", "dispatched", "in_progress")
MAX_DESCRIPTION = 4000  # Open311's limit
MAX_KEY = 255
_M_PER_DEG_LAT = 111_320.0


# The statements live in gisgrid/sql/reports/intake_functions.sql, installed by
# gisgrid.db.migrate: the whole intake is one call to gisgrid_intake_batch(), one round trip
# for one report or several (issue 4, issue 18). psycopg style: the hot path runs on the driver.
INTAKE_SQL = sql.pyformat("reports/intake_batch")


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
        # The fields by hand, not dataclasses.asdict (a deep copy: a third of the intake's own
        # Python time); the same dict, so stored hashes still match a resend.
        body = {f: getattr(self, f) for f in _FINGERPRINTED}
        body["attributes"], body["reporter"] = dict(self.attributes), dict(self.reporter)
        return hashlib.sha256(_FINGERPRINT_JSON.encode(body).encode()).hexdigest()


_FINGERPRINTED = tuple(f.name for f in fields(ReportIn) if f.name != "idempotency_key")
# json.dumps with options builds an encoder per call: these are made once (same output).
_FINGERPRINT_JSON = json.JSONEncoder(sort_keys=True, default=str)


def _county_calendars() -> Mapping[str, WorkingCalendar]:
    return Calendars.load().counties


@dataclass(frozen=True)
class IntakeConfig:
    """How reports come in and move through the loop (from Settings).

    Tolerances and duplicate rules; working calendars (`calendar` for a county without its own
    file, `county_calendars` from data/calendars); which sources are checked on site before they
    are registered; the stages' own time limits; how long an unsatisfied verdict may reopen a case.
    """

    edge_tolerance_m: float = 5.0
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    duplicate_rules: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    county_calendars: Mapping[str, WorkingCalendar] = field(default_factory=_county_calendars)
    check_sources: frozenset[str] = frozenset({"resident", "hotline"})
    stage_hours: Mapping[str, float] = field(default_factory=dict)
    reopen_days: float = 15.0
    # GISGRID_RED_BLACK_RULES, checked where the lists are made (gisgrid/reports/rankings.py).
    red_black_rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> IntakeConfig:
        """The configuration the GISGRID_* settings describe."""
        calendars = Calendars.load(
            settings.calendar_dir,
            settings.work_periods,
            settings.work_holidays,
            settings.work_extra_days,
        )
        unknown = set(settings.check_sources) - set(SOURCES)
        if unknown:
            raise InvalidReport(
                f"GISGRID_CHECK_SOURCES names {sorted(unknown)}; sources are {', '.join(SOURCES)}"
            )
        return cls(
            edge_tolerance_m=settings.edge_tolerance_m,
            calendar=calendars.default,
            duplicate_rules=dict(settings.duplicate_rules),
            county_calendars=calendars.counties,
            check_sources=frozenset(settings.check_sources),
            stage_hours=check_overrides(settings.stage_hours),
            reopen_days=settings.reopen_days,
            red_black_rules=dict(settings.red_black_rules),
        )

    @cached_property
    def _calendar_table(self) -> tuple[str, list[WorkingCalendar], list[int]]:
        # The counties as a text[] literal ([1] = '': counties without a calendar of their own),
        # the distinct calendars, and which one each county uses.
        calendars = [self.calendar, *self.county_calendars.values()]
        distinct = list(dict.fromkeys(calendars))
        counties = ["", *self.county_calendars]
        literal = "{" + ",".join(f'"{c}"' for c in counties) + "}"
        return literal, distinct, [distinct.index(c) for c in calendars]

    @cached_property
    def _due_memos(self) -> dict[tuple[int, str, str], DueMemo]:
        return {}

    def _memo(self, i: int, kind: str, name: str, due: Callable[..., dt.datetime]) -> DueMemo:
        """The memo of one limit (a category's or a stage's) on the i-th distinct calendar."""
        key = (i, kind, name)
        memo = self._due_memos.get(key)
        if memo is None:
            cal = self._calendar_table[1][i]
            memo = self._due_memos[key] = DueMemo(cal, lambda start: due(start, cal))
        return memo

    def intake_dues(self, service_code: str, check: bool, now: dt.datetime) -> tuple[str, str, str]:
        """The intake statement's calendar parameters for a report coming in `now`, as array
        literals: the counties, the case's due time on each one's calendar (none while the
        report waits to be checked on site) and the due time of the report's first stage."""
        cat = category(service_code)
        stage = "collected" if check else "registered"
        hours = stage_hours(self.stage_hours, stage)
        literal, distinct, index = self._calendar_table
        dues, stage_dues = [], []
        for i in range(len(distinct)):
            if check:
                dues.append("NULL")
            elif cat.round_the_clock:
                dues.append(f'"{cat.due(now, distinct[i]).isoformat()}"')
            else:
                memo = self._memo(i, "case", cat.code, cat.due)
                dues.append(f'"{memo(now).isoformat()}"')
            memo = self._memo(i, "stage", f"{stage}:{hours}", _stage_walk(hours))
            stage_dues.append(f'"{memo(now).isoformat()}"')
        return (
            literal,
            "{" + ",".join(dues[j] for j in index) + "}",
            "{" + ",".join(stage_dues[j] for j in index) + "}",
        )

    def calendar_for(self, code: str) -> WorkingCalendar:
        """The working calendar of the county a unit or grid code lies in."""
        return self.county_calendars.get(code[:6], self.calendar)

    def stage_due(self, code: str, stage: str, start: dt.datetime) -> dt.datetime:
        """When a stage with a limit of its own, begun at `start`, must be over."""
        return self.calendar_for(code).add_working_hours(
            start, stage_hours(self.stage_hours, stage)
        )

    def case_due(self, code: str, service_code: str, dispatched: dt.datetime) -> dt.datetime:
        """The time limit of a case dispatched at `dispatched` (the clock starts at 派遣):
        working time on the county's calendar, or a 24-hour clock for emergencies and safety."""
        return category(service_code).due(dispatched, self.calendar_for(code))


def _stage_walk(hours: float) -> Callable[[dt.datetime, WorkingCalendar], dt.datetime]:
    return lambda start, cal: cal.add_working_hours(start, hours)


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
    rows = sql.rows(conn, "reports/place", **params)
    if not rows:
        raise _outside(conn, lon, lat)
    return {
        "grid": dict(rows[0]),
        "candidates": [r["code"] for r in rows[1:]],
        "fallback": not rows[0]["covers"],
    }


def _outside(conn: Connection, lon: float, lat: float) -> OutsideCoverage:
    counties = sql.execute(conn, "reports/served_counties").scalar_one()
    return OutsideCoverage(
        f"lon={lon}, lat={lat} (WGS84) is outside the area this service covers "
        f"(counties: {counties or 'none loaded'}); check the coordinates and their crs "
        "(wgs84, gcj02 or bd09)"
    )


def geocode_address(conn: Connection, address: str) -> tuple[float, float]:
    """WGS84 lon/lat of a household address (exact match), or InvalidReport saying why not."""
    return _address_point(sql.rows(conn, "reports/geocode_address", a=address.strip()), address)


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


def locate_input(report: ReportIn) -> tuple[float, float] | None:
    """WGS84 lon/lat of the report's own coordinates (checked, datum converted), or None."""
    _check(report)
    if report.lon is None or report.lat is None:
        return None
    check_lon_lat(report.lon, report.lat)
    if report.crs.strip().lower() in WGS84_DATUMS:
        # Nothing to convert (GPS): not through numpy arrays, a fortieth of a report's time.
        return float(report.lon), float(report.lat)
    x, y = to_wgs84(report.lon, report.lat, report.crs)
    return float(x), float(y)


# What each refusal of the intake statement means; the API's error table gives each its status.
OUTCOME_ERRORS: dict[str, type[GisGridError]] = {
    "outside": OutsideCoverage,
    "conflict": IdempotencyConflict,
    "bad_key": InvalidApiKey,
    "revoked": InvalidApiKey,
}


@dataclass
class AuditEntry:
    """Who posted a report, for the write-audit entry stored with it.

    `statuses` is the HTTP status of each outcome (the caller's error table), so the entry
    records what the client was answered; `written` turns true once the entry is committed.
    """

    username: str
    path: str
    client: str
    account_id: int | None = None
    role: str | None = None
    statuses: Mapping[str, int] = field(default_factory=dict)
    written: bool = False


def intake_params(
    report: ReportIn,
    lon: float,
    lat: float,
    config: IntakeConfig,
    now: dt.datetime,
    *,
    api_key: str | None = None,
    api_key_id: int | None = None,
    audit: AuditEntry | None = None,
    stored_key_hash: str | None = None,
) -> dict[str, Any]:
    """One report of INTAKE_SQL's batch: everything decided before the data is needed.

    `api_key` (as the client sent it, or `stored_key_hash` for the service's own key) is
    checked inside the same statement; without either `api_key_id` is taken as given.
    """
    cat = category(report.service_code)
    radius_m, window_h = duplicate_rule(cat.code, dict(config.duplicate_rules))
    check = report.source in config.check_sources
    # The grid (and so the county) is found inside the statement: give it each county's due
    # times (remembered per distinct calendar between reports: IntakeConfig.intake_dues).
    counties, cal_dues, cal_stage_dues = config.intake_dues(cat.code, check, now)
    return {
        "key_hash": api_keys.key_hash(api_key) if api_key is not None else stored_key_hash,
        "api_key_id": api_key_id,
        "idempotency_key": report.idempotency_key,
        "request_hash": report.fingerprint(),
        "category": cat.code,
        "lon": lon,
        "lat": lat,
        "tol_m": config.edge_tolerance_m,
        "tol_deg": _deg(config.edge_tolerance_m, lat),
        "radius_m": radius_m,
        "radius_deg": _deg(radius_m, lat),
        "window_h": window_h,
        "now": now,
        # Checked on site first (核查), or registered (三事分流 by its category) and dispatched
        # now: the clock starts at dispatch (unused if the report is a duplicate).
        "check": check,
        "triage": cat.triage.value,
        "cal_counties": counties,
        "cal_dues": cal_dues,
        "cal_stage_dues": cal_stage_dues,
        "description": report.description,
        "source": report.source,
        "address": report.address_string,
        "media_url": report.media_url,
        "attributes": dict(report.attributes),
        "reporter": dict(report.reporter) if report.reporter else None,
        "input_point": {"lon": report.lon, "lat": report.lat, "crs": report.crs}
        if report.lon is not None
        else None,
        "audited": audit is not None,
        "audit_account_id": audit.account_id if audit else None,
        "audit_username": audit.username if audit else None,
        "audit_role": audit.role if audit else None,
        "audit_path": audit.path if audit else None,
        "audit_client": audit.client if audit else None,
        "audit_statuses": dict(audit.statuses) if audit else {},
    }


def batch_param(
    batch: Sequence[Mapping[str, Any]], lock_wait_ms: int | None = None
) -> dict[str, Any]:
    """INTAKE_SQL's parameters: the reports' `intake_params`, in order, as a JSON array, and how
    long the batch may wait for a grid's lock (None: the session's lock_timeout)."""
    # Floats as repr (exact back in PostgreSQL), times as ISO text; one parameter to send
    # instead of 38 per report.
    return {
        "batch": _BATCH_JSON.encode(batch),
        "lock_wait_ms": lock_wait_ms,
    }


def _iso(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in the intake's parameters")


_BATCH_JSON = json.JSONEncoder(default=_iso, ensure_ascii=False)


def intake_result(
    row: Mapping[str, Any], report: ReportIn, point: tuple[float, float], api_key: str | None
) -> dict[str, Any]:
    """The stored report from INTAKE_SQL's row, or the domain error its outcome names."""
    outcome = row["o_outcome"]
    if outcome in ("bad_key", "revoked"):
        raise api_keys.key_refused(api_key or "", row["o_detail"])
    if outcome == "outside":
        raise OutsideCoverage(
            f"lon={point[0]}, lat={point[1]} (WGS84) is outside the area this service "
            f"covers (counties: {row['o_detail']}); check the coordinates and their crs "
            "(wgs84, gcj02 or bd09)"
        )
    if outcome == "conflict":
        raise IdempotencyConflict(
            f"Idempotency-Key {report.idempotency_key!r} was used for request {row['id']} with "
            "different content; use a new key for a new report"
        )
    return summary(row) | {"replayed": outcome == "replayed"}


def submit_report(
    conn: Connection,
    report: ReportIn,
    api_key_id: int | None = None,
    config: IntakeConfig | None = None,
    now: dt.datetime | None = None,
    *,
    api_key: str | None = None,
    stored_key_hash: str | None = None,
    audit: AuditEntry | None = None,
) -> dict[str, Any]:
    """Place, assign and store one report in the caller's transaction (CLI, bulk, tests).

    The same statement as `file_report`; here it runs inside `conn`'s transaction, so the
    caller commits (and `audit.written` means "written, if you commit").
    """
    config = config or IntakeConfig()
    point = locate_input(report)
    if point is None:
        point = geocode_address(conn, report.address_string or "")
    params = intake_params(
        report,
        *point,
        config,
        now or dt.datetime.now(dt.UTC),
        api_key=api_key,
        api_key_id=api_key_id,
        audit=audit,
        stored_key_hash=stored_key_hash,
    )
    raw = conn.connection.driver_connection
    assert raw is not None
    # On the driver: the statement is psycopg-style, shared with file_report's async path.
    with raw.cursor(row_factory=dict_row) as cur:
        row = cur.execute(INTAKE_SQL, batch_param([params])).fetchone()
    assert row is not None
    if audit is not None:
        audit.written = True
    return intake_result(row, report, point, api_key)


async def file_report(
    pool: AsyncConnectionPool,
    report: ReportIn,
    config: IntakeConfig,
    audit: AuditEntry,
    *,
    api_key: str | None = None,
    service_key: str | None = None,
) -> dict[str, Any]:
    """Place, assign and store one report sent by a client: the whole intake, one statement.

    The client's `api_key`, or `service_key` naming the service's own key (the residents' form)
    is checked inside the statement, which also stores `audit`. Reports arriving while another
    commit is in flight are written together, one transaction (`GroupCommit`); each is answered
    only after that commit, with synchronous_commit on (the pool's connections set it): when
    this returns, the report survives a crash of PostgreSQL. A report given by address only costs
    one more round trip, to look the address up.
    The database away: DatabaseUnavailable; the pool busy: Overloaded (nothing stored either way).
    """
    if service_key is None:
        api_keys.key_hash(api_key)  # no key at all: refused before the database is asked
    point = locate_input(report)
    stored_hash = None
    try:
        if service_key is not None or point is None:
            async with pool.connection() as aconn:
                if service_key is not None:
                    stored_hash = await _service_key_hash(aconn, service_key)
                if point is None:
                    point = await _geocode_async(aconn, report.address_string or "")
        params = intake_params(
            report,
            *point,
            config,
            dt.datetime.now(dt.UTC),
            api_key=api_key,
            audit=audit,
            stored_key_hash=stored_hash,
        )
        row = await group_commit(pool).file(params)
    except (TooManyRequests, PoolTimeout):
        raise _overloaded() from None
    except psycopg.OperationalError as exc:
        raise _unavailable(exc) from None
    audit.written = True  # committed: the statement and its audit entry
    return intake_result(row, report, point, api_key)


def _overloaded() -> Overloaded:
    return Overloaded(
        "the service is at capacity (every intake connection busy); nothing was stored, so "
        "send the same request again (with the same Idempotency-Key) in a moment",
        retry_after=2,
    )


def _unavailable(exc: Exception) -> DatabaseUnavailable:
    # Lost mid-statement, the report may or may not be committed: only a retry with the same
    # key can tell, and it files the report once either way.
    return DatabaseUnavailable(
        f"the database did not answer ({type(exc).__name__}); send the same request again "
        "(with the same Idempotency-Key: the report is filed once) in a moment"
    )


MAX_BATCH = 32
# How long the group commit's statement waits for a grid lock another transaction holds (an
# intake's is held for milliseconds) before its reports are filed alone, off the commit queue.
BATCH_LOCK_WAIT_MS = 100


class GroupCommit:
    """Group commit for the intake: reports that arrive while a commit is in flight are written
    together, in one statement and transaction (INTAKE_SQL), and each is answered only
    after that commit. One commit (and its WAL flush, its NOTIFY wake-ups) per batch instead of
    one per report; a report alone when nothing is in flight goes at once, as before.

    Each report is still its own gisgrid_intake call, so idempotency keys, duplicates and
    refusals are decided exactly as alone: a later report of the batch sees the earlier ones
    (same transaction, each statement a fresh snapshot) and a resent key in the same batch is
    answered as a replay of the first. If the statement fails, the server rolled it back whole
    and every report of it is filed again alone, side by side and off the queue, so each gets
    its own answer (and one that meets a grid lock held elsewhere, which the queue's statement
    waits for only BATCH_LOCK_WAIT_MS, waits for it without holding up the reports behind it);
    if the connection is lost (the commit may or may not have happened), each is told so
    (OperationalError), as a report alone would be, and a retry with its key files it once.
    """

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self._queue: list[tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._alone: set[asyncio.Task[None]] = set()  # reports filed again alone, running

    async def file(self, params: dict[str, Any]) -> dict[str, Any]:
        """INTAKE_SQL's row for `params`, once committed."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._queue.append((params, fut))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="gisgrid-group-commit")
        return await fut

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._commit(batch)
        finally:
            self._flusher = None

    async def _commit(
        self, batch: list[tuple[dict[str, Any], asyncio.Future[Any]]], queued: bool = True
    ) -> None:
        try:
            rows = await self._write([p for p, _ in batch], BATCH_LOCK_WAIT_MS if queued else None)
        except psycopg.Error as exc:
            if not queued or exc.sqlstate is None:
                # Alone already, or the connection lost before the server answered (committed
                # or not: only a retry with the key can tell).
                _fail(batch, exc)
                return
            # The server refused the statement: nothing of it was committed. Each report alone,
            # side by side, each with its own answer; the queue goes on meanwhile.
            for one in batch:
                task = asyncio.create_task(self._commit([one], queued=False))
                self._alone.add(task)
                task.add_done_callback(self._alone.discard)
            return
        except BaseException as exc:  # pool busy or closed, cancelled: nothing was committed
            _fail(batch, exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, fut), row in zip(batch, rows, strict=True):
            if not fut.done():
                fut.set_result(row)

    async def _write(
        self, batch: list[dict[str, Any]], lock_wait_ms: int | None
    ) -> list[dict[str, Any]]:
        async with self.pool.connection() as aconn:
            # Autocommit: the statement is its own transaction, committed when it returns.
            cur = aconn.cursor(row_factory=dict_row)
            await cur.execute(INTAKE_SQL, batch_param(batch, lock_wait_ms))
            rows = await cur.fetchall()
        if [r["o_n"] for r in rows] != list(range(1, len(batch) + 1)):
            raise RuntimeError("gisgrid_intake_batch answered out of order: run `gisgrid migrate`")
        return rows


def _fail(batch: list[tuple[dict[str, Any], asyncio.Future[Any]]], exc: BaseException) -> None:
    for _, fut in batch:
        if fut.done():
            continue
        if isinstance(exc, asyncio.CancelledError):
            fut.cancel()
        else:
            # Each waiter its own exception object (tracebacks are per raise).
            fut.set_exception(_copy(exc))


def _copy(exc: BaseException) -> BaseException:
    try:
        return type(exc)(*exc.args)
    except Exception:
        return exc


_GROUP_COMMITS: weakref.WeakKeyDictionary[AsyncConnectionPool, GroupCommit] = (
    weakref.WeakKeyDictionary()
)


def group_commit(pool: AsyncConnectionPool) -> GroupCommit:
    """The pool's group commit (one per pool, so one per process and event loop)."""
    gc = _GROUP_COMMITS.get(pool)
    if gc is None:
        gc = _GROUP_COMMITS[pool] = GroupCommit(pool)
    return gc


async def _geocode_async(aconn: AsyncConnection[Any], address: str) -> tuple[float, float]:
    cur = aconn.cursor(row_factory=dict_row)
    await cur.execute(sql.pyformat("reports/geocode_address"), {"a": address.strip()})
    return _address_point(await cur.fetchall(), address)


def _address_point(rows: Sequence[Mapping[Any, Any]], address: str) -> tuple[float, float]:
    if not rows:
        raise InvalidReport(
            f"address_string={address!r} matches no household address here; send lat and long"
        )
    if len({r["grid_id"] for r in rows}) > 1:
        raise InvalidReport(
            f"address_string={address!r} matches households in {len(rows)} places; "
            "send lat and long"
        )
    return float(rows[0]["lon"]), float(rows[0]["lat"])


_SERVICE_KEY_HASHES: dict[tuple[str, str], str] = {}


async def _service_key_hash(aconn: AsyncConnection[Any], name: str) -> str:
    """The stored hash of the service's own key `name`, created on first use, then cached.

    Caching is safe: the statement checks the stored key on every report, so revoking it
    still switches the form off at once.
    """
    info = aconn.info
    cache_key = (f"{info.host}:{info.port}/{info.dbname}", name)
    if cache_key not in _SERVICE_KEY_HASHES:
        _SERVICE_KEY_HASHES[cache_key] = await api_keys.service_key_hash_async(aconn, name)
    return _SERVICE_KEY_HASHES[cache_key]


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
    if ids is not None:
        rows = sql.execute(conn, "reports/reports_by_ids", ids=ids, limit=limit).mappings()
        return [summary(r) for r in rows]
    params = {
        "codes": codes,
        "start": start or "-infinity",
        "end": end or "infinity",
        "closed": closed,
        "limit": limit,
    }
    return [summary(r) for r in sql.execute(conn, "reports/reports_in_period", **params).mappings()]


def read_report(conn: Connection, report_id: int) -> dict[str, Any]:
    """One report as the intake answer shows it, or NotFound."""
    row = sql.first(conn, "reports/report_by_id", id=report_id)
    if row is None:
        raise NotFound(f"report {report_id} does not exist")
    return summary(row)


def summary(r: Any) -> dict[str, Any]:
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
        # The closed loop (gisgrid/cases.py); a duplicate shows its original's latest step.
        "last_step": {"action": r["last_action"], "at": r["last_action_at"]}
        if r["last_action"]
        else None,
        "feedback": r["feedback_note"],
        "escalations": int(r["escalations"]),
        "satisfied": r["satisfied"],
        # The loop as centers are judged by it (gisgrid/reports/cases.py, issue 17).
        "triage": {
            "class": r["triage"],
            "label": TRIAGE_LABELS.get(r["triage"] or ""),
            "reason": r["triage_reason"],
        },
        "stage": {
            "name": r["stage"],
            "label": STAGES[r["stage"]].label if r["stage"] in STAGES else None,
            "due_at": r["stage_due_at"],
        },
        "department": (
            {
                "code": r["department_code"],
                "name": r["department_name"],
                "sent_at": r["dept_sent_at"],
                "respond_by": r["dept_respond_by"],
                "accepted_at": r["dept_accepted_at"],
                "due_at": r["dept_due_at"],
                "fed_back_at": r["dept_resolved_at"],
            }
            if r["department_code"]
            else None
        ),
        "outcome": (
            {
                "code": r["outcome"],
                "label": OUTCOMES[r["outcome"]].label,
                "reason": r["outcome_reason"],
                "solved": OUTCOMES[r["outcome"]].solved,
            }
            if r["outcome"] in OUTCOMES
            else None
        ),
        "reopens": int(r["reopens"]),
        "household_group_id": r["group_id"],
    }
