"""The data model: administrative units, grids, households, staff, reports, patrols.

Storage SRID is EPSG:4326 (WGS84 lon/lat) everywhere. CGCS2000 (EPSG:4490) agrees with WGS84
within centimetres and is stored as if it were 4326; GCJ-02 and BD-09 are converted to WGS84 at
the edge (gisgrid.datum) before anything is written.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import base as postgresql_base
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import UserDefinedType

STORAGE_SRID = 4326

# Stable constraint names so Alembic migrations can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Column shapes many tables share (SQLAlchemy's Annotated types): an integer key, and a time
# the database fills in on insert.
IntPk = Annotated[int, mapped_column(Integer, primary_key=True)]
DefaultNow = Annotated[
    dt.datetime, mapped_column(DateTime(timezone=True), server_default=func.now())
]


def _idempotency_index(name: str, scope: str) -> Index:
    """A retried write's key, unique within `scope` where one was given."""
    return Index(
        name, scope, "idempotency_key", unique=True, postgresql_where="idempotency_key IS NOT NULL"
    )


# A column with no mapped_column of its own takes its type from its annotation: Mapped[int] is
# INTEGER, Mapped[float] FLOAT, Mapped[bool] BOOLEAN (NOT NULL unless `| None`).
class Base(DeclarativeBase):
    """Declarative base with the project's naming convention."""

    metadata = MetaData(naming_convention=NAMING)


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (never wraps): what wrote a row, for deltas."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "xid8"


# Reflection (Alembic's autogenerate, tests/test_schema.py) knows the type by name.
postgresql_base.ischema_names["xid8"] = Xid8


def _trigram(table: str, column: str) -> Index:
    """A trigram index (pg_trgm) serving ILIKE '%words%' on a name or address (search)."""
    return Index(
        f"ix_{table}_{column}_trgm",
        column,
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
    )


class UnitLevel(enum.StrEnum):
    """Administrative level: county (区县), town/street (乡镇/街道), village/community (村/社区)."""

    county = "county"
    town = "town"
    village = "village"


class StaffRole(enum.StrEnum):
    """Grid staff roles."""

    grid_chief = "grid_chief"  # 网格长
    full_time = "full_time"  # 专职网格员
    part_time = "part_time"  # 兼职网格员
    household_leader = "household_leader"  # 联户长


class ReportStatus(enum.StrEnum):
    """Where a report is in the closed loop (事件闭环)."""

    submitted = "submitted"  # collected, not yet checked
    registered = "registered"  # 立案
    dispatched = "dispatched"  # 派遣: the time-limit clock starts here
    in_progress = "in_progress"  # 处置
    resolved = "resolved"  # handled, waiting for on-site verification
    closed = "closed"  # 核查结案
    cancelled = "cancelled"  # failed the check


class Dataset(Base):
    """A county loaded into this database, and how (real or generated parts)."""

    __tablename__ = "dataset"

    county_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    loaded_at: Mapped[DefaultNow]
    generator: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int | None]
    notes: Mapped[dict] = mapped_column(JSONB, default=dict)


class AdminUnit(Base):
    """County, town/street or village/community, keyed by its 12-digit statistical code."""

    __tablename__ = "admin_unit"
    # 0010_maps_basemap_search: search by part of a name.
    __table_args__ = (_trigram("admin_unit", "name"),)

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[UnitLevel] = mapped_column(Enum(UnitLevel, name="unit_level"))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("admin_unit.code"), index=True)
    # Urban/rural class code (111 main urban ... 220 village) where known.
    urban_rural: Mapped[str | None] = mapped_column(String(3))
    geom_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    geom_source: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=True))

    parent: Mapped[AdminUnit | None] = relationship(remote_side=[code])


class Generation(Base):
    """A versioned set of grids (a redraw); the current one has no valid_to."""

    __tablename__ = "generation"

    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("admin_unit.code"))
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[DefaultNow]
    description: Mapped[str | None] = mapped_column(Text)


class Grid(Base):
    """A grid (网格): the smallest unit of management, one version of it in one generation."""

    __tablename__ = "grid"
    __table_args__ = (
        UniqueConstraint("generation_id", "code", name="uq_grid_generation_code"),
        Index("ix_grid_current", "code", postgresql_where="valid_to IS NULL"),
        _trigram("grid", "name"),
    )

    id: Mapped[IntPk]
    # 15 digits: the village's 12-digit code + a 3-digit sequence (DB11/T 2157-2023).
    code: Mapped[str] = mapped_column(String(15), index=True)
    name: Mapped[str] = mapped_column(String(100))
    village_code: Mapped[str] = mapped_column(ForeignKey("admin_unit.code"), index=True)
    generation_id: Mapped[int] = mapped_column(ForeignKey("generation.id"), index=True)
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    geom_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=True))


class HouseholdGroup(Base):
    """A household group (联户): about ten households under one household leader."""

    __tablename__ = "household_group"

    id: Mapped[IntPk]
    code: Mapped[str] = mapped_column(String(20), unique=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"), index=True)
    # 0009_group_leader_fk: the key 0001 declared but never created, and its index.
    leader_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", use_alter=True, name="fk_household_group_leader_id_staff"),
        index=True,
    )


class Household(Base):
    """A household (户): the unit of service and of privacy."""

    __tablename__ = "household"
    # 0010_maps_basemap_search: search by part of an address, or (staff) of the head's name.
    __table_args__ = (_trigram("household", "address"), _trigram("household", "head_name"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("household_group.id"), index=True)
    # 0002_reports: address_string is resolved against household addresses.
    address: Mapped[str] = mapped_column(Text, index=True)
    size: Mapped[int] = mapped_column(SmallInteger)
    care_tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    # Personal data: shown only to those whose grid it is.
    head_name: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    id_number: Mapped[str | None] = mapped_column(String(18))
    generated: Mapped[bool] = mapped_column(Boolean, default=False)
    geom = mapped_column(Geometry("POINT", srid=STORAGE_SRID, spatial_index=True))


class Staff(Base):
    """A grid chief, grid worker or household leader."""

    __tablename__ = "staff"

    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(50))
    role: Mapped[StaffRole] = mapped_column(Enum(StaffRole, name="staff_role"))
    phone: Mapped[str | None] = mapped_column(String(20))
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)
    generated: Mapped[bool] = mapped_column(Boolean, default=False)


class StaffAssignment(Base):
    """Which staff member serves which grid, and in what role, from when."""

    __tablename__ = "staff_assignment"

    id: Mapped[IntPk]
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id"), index=True)
    role: Mapped[StaffRole] = mapped_column(Enum(StaffRole, name="staff_role"))
    valid_from: Mapped[DefaultNow]
    valid_to: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Report(Base):
    """A report (诉求/事件) from a resident, a patrol, a hotline or video."""

    __tablename__ = "report"
    __table_args__ = (
        # 0002_reports: a resubmission with the same key from the same client finds the first.
        _idempotency_index("uq_report_idempotency", "api_key_id"),
        Index("ix_report_category_reported_at", "category", "reported_at"),
        # 0013_intake_lean: a worker's open cases counted by the index (gisgrid_assignee).
        Index("ix_report_assignee_status", "assignee_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    category: Mapped[str] = mapped_column(String(40), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20), default="resident")
    status: Mapped[ReportStatus] = mapped_column(
        Enum(ReportStatus, name="report_status"), index=True
    )
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reported_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Indexed by 0009_loop: scores select the cases that fell due in a period.
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    generated: Mapped[bool] = mapped_column(Boolean, default=False)
    geom = mapped_column(Geometry("POINT", srid=STORAGE_SRID, spatial_index=True))
    # Intake (issue 4, migration 0002_reports): who sent it, how it was placed and linked.
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    media_url: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    reporter: Mapped[dict | None] = mapped_column(JSONB)
    input_point: Mapped[dict | None] = mapped_column(JSONB)  # as received: lon, lat, crs
    grid_candidates: Mapped[list[str] | None] = mapped_column(ARRAY(String(15)))
    # 属地兜底: placed in the nearest grid
    fallback: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    handler_level: Mapped[str | None] = mapped_column(String(12))  # full_time|grid_chief|village
    village_code: Mapped[str | None] = mapped_column(ForeignKey("admin_unit.code"))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("report.id"), index=True)
    # 0010_maps_basemap_search: the transaction that last wrote the row (an insert by default,
    # 0013_intake_lean; a trigger on every other write); the wall asks for what changed since.
    changed_xid: Mapped[int | None] = mapped_column(
        Xid8(), index=True, server_default=func.pg_current_xact_id()
    )
    updated_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # The closed loop (migration 0007_cases): the call-back verdict and escalations so far.
    satisfied: Mapped[bool | None]
    escalations: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    # The loop as centers are judged by it (migration 0009_loop): 三事分流 class, the stage of
    # the seven and its time limit, the department whistled to (吹哨) and its own clock, the
    # closing code and how often an unsatisfied verdict reopened it.
    triage: Mapped[str | None] = mapped_column(String(12))  # private|collective|public
    triage_reason: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str | None] = mapped_column(String(12))
    stage_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    dept_sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    dept_respond_by: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    dept_accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    dept_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    dept_resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_reason: Mapped[str | None] = mapped_column(String(16))
    reopens: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("household_group.id", ondelete="SET NULL")
    )


class ReportEvent(Base):
    """One step of a report's loop: who did what, from which status to which, and why."""

    __tablename__ = "report_event"
    __table_args__ = (
        Index("ix_report_event_report_at", "report_id", "at"),
        _idempotency_index("uq_report_event_key", "report_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("report.id", ondelete="CASCADE", name="fk_report_event_report_id")
    )
    at: Mapped[DefaultNow]
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int | None]
    username: Mapped[str] = mapped_column(String(64))
    assignee_id: Mapped[int | None]
    handler_level: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)
    satisfied: Mapped[bool | None]
    # 0009_loop: what the step carried (department, triage class, closing code, reason).
    detail: Mapped[dict | None] = mapped_column(JSONB)
    # 0009_field: the client's key for this step; a resend of the same step is taken once.
    idempotency_key: Mapped[str | None] = mapped_column(String(255))


class Department(Base):
    """A county's functional department (职能部门): what it owns and how fast it must answer."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("county_code", "code", name="uq_department_county_code"),)

    id: Mapped[IntPk]
    county_code: Mapped[str] = mapped_column(ForeignKey("admin_unit.code"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    categories: Mapped[list[str]] = mapped_column(
        ARRAY(String(40)), default=list, server_default="{}"
    )
    response_hours: Mapped[int] = mapped_column(SmallInteger)  # 报到: accept within
    feedback_hours: Mapped[int] = mapped_column(SmallInteger)  # 限时办理反馈: feed back within
    generated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Photo(Base):
    """A photo as uploaded once (content-addressed by its SHA-256); files on disk (0009_field)."""

    __tablename__ = "photo"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    media_type: Mapped[str] = mapped_column(String(32))
    bytes_in: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    # Where and when it was taken, from its EXIF (kept for staff; the served copy has none).
    taken_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    taken_lon: Mapped[float | None]
    taken_lat: Mapped[float | None]
    account_id: Mapped[int | None]
    username: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[DefaultNow]


class ReportPhoto(Base):
    """A photo on a report: with the report, or the handler's before/after (0009_field)."""

    __tablename__ = "report_photo"
    __table_args__ = (
        UniqueConstraint("report_id", "photo_id", name="uq_report_photo_report_photo"),
        _idempotency_index("uq_report_photo_key", "report_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("report.id", ondelete="CASCADE", name="fk_report_photo_report_id")
    )
    photo_id: Mapped[int] = mapped_column(ForeignKey("photo.id", name="fk_report_photo_photo_id"))
    stage: Mapped[str] = mapped_column(String(12))  # report | before | after
    account_id: Mapped[int | None]
    username: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    added_at: Mapped[DefaultNow]


class HouseholdVisit(Base):
    """入户走访: a visit to a household, what kind, what it changed (0009_field)."""

    __tablename__ = "household_visit"
    __table_args__ = (
        Index("ix_household_visit_household_at", "household_id", "visited_at"),
        Index("ix_household_visit_grid_at", "grid_id", "visited_at"),
        _idempotency_index("uq_household_visit_key", "account_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("household.id", ondelete="CASCADE", name="fk_household_visit_household")
    )
    grid_id: Mapped[int | None] = mapped_column(
        ForeignKey("grid.id", name="fk_household_visit_grid_id")
    )
    kind: Mapped[str] = mapped_column(String(16))  # routine | care | dispute | info_update
    note: Mapped[str | None] = mapped_column(Text)
    photo_id: Mapped[int | None] = mapped_column(
        ForeignKey("photo.id", name="fk_household_visit_photo_id")
    )
    changes: Mapped[dict | None] = mapped_column(JSONB)
    visited_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    lon: Mapped[float | None]
    lat: Mapped[float | None]
    account_id: Mapped[int | None]
    username: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[DefaultNow]


class PatrolTrack(Base):
    """One patrol by one staff member."""

    __tablename__ = "patrol_track"
    # 0004_patrols: one track per staff member and local day.
    __table_args__ = (UniqueConstraint("staff_id", "day", name="uq_patrol_track_staff_day"),)

    id: Mapped[IntPk]
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(20), default="phone")
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"))  # 0004_patrols
    day: Mapped[dt.date | None] = mapped_column(Date)  # 0004_patrols: local day of the track
    # 0008_patrol_generated: true for the demo county's GENERATED patrol day
    generated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class PatrolFix(Base):
    """A timed GPS fix on a patrol track."""

    __tablename__ = "patrol_fix"
    __table_args__ = (
        UniqueConstraint("track_id", "t", name="uq_patrol_fix_track_t"),
        UniqueConstraint("staff_id", "t", name="uq_patrol_fix_staff_t"),  # 0004_patrols
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("patrol_track.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))  # 0004_patrols
    t: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)  # 0004_patrols
    accuracy_m: Mapped[float | None]
    geom = mapped_column(Geometry("POINT", srid=STORAGE_SRID, spatial_index=True))


# --- Accounts, tokens and audit (issue 7) ------------------------------------------------


class Account(Base):
    """A person or system that signs in; acts only inside its scope (a grid-code prefix)."""

    __tablename__ = "account"

    id: Mapped[IntPk]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(15), default="", server_default="")
    display_name: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[DefaultNow]
    # 0009_loop: a department handler (职能部门) acts for this department only.
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL")
    )


class AccessToken(Base):
    """A bearer token, stored only as its SHA-256."""

    __tablename__ = "access_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    created_at: Mapped[DefaultNow]
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SigninFailure(Base):
    """Consecutive failed sign-ins for a username (known or not), and until when it must wait."""

    __tablename__ = "signin_failure"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, server_default="0")
    last_failed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    blocked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Append-only: every write and every read of personal data (a trigger forbids changes)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))  # write | read_personal | login
    method: Mapped[str | None] = mapped_column(String(8))
    path: Mapped[str | None] = mapped_column(Text)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_ids: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    client: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(SmallInteger)


# --- Patrols (issue 6): roads, key places; fixes are keyed by (staff, t) ---------------------
# Migration 0004_patrols also adds patrol_fix.staff_id (unique with t), patrol_track.grid_id
# and patrol_track.day (one track per staff member and local day).


class RoadSegment(Base):
    """A road segment between two junctions, with pgRouting node ids at its ends."""

    __tablename__ = "road_segment"

    id: Mapped[IntPk]
    county_code: Mapped[str] = mapped_column(ForeignKey("admin_unit.code"), index=True)
    source_id: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(Text)
    generated: Mapped[bool] = mapped_column(Boolean, default=False)
    length_m: Mapped[float]
    node_from: Mapped[int] = mapped_column(BigInteger)
    node_to: Mapped[int] = mapped_column(BigInteger)
    geom = mapped_column(
        Geometry("LINESTRING", srid=STORAGE_SRID, spatial_index=True), nullable=False
    )


class KeyPlace(Base):
    """A key place (重点部位): school, market, reservoir... visited when a fix is within radius."""

    __tablename__ = "key_place"

    id: Mapped[IntPk]
    county_code: Mapped[str] = mapped_column(ForeignKey("admin_unit.code"), index=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    radius_m: Mapped[float] = mapped_column(Float, default=50.0)
    source: Mapped[str] = mapped_column(Text)
    generated: Mapped[bool] = mapped_column(Boolean, default=False)
    geom = mapped_column(Geometry("POINT", srid=STORAGE_SRID, spatial_index=True), nullable=False)


class BasemapFeature(Base):
    """What the service's own basemap draws besides roads and units: water, waterways, green
    areas, buildings, roads for the picture and place names (an OSM import, per county)."""

    __tablename__ = "basemap_feature"
    __table_args__ = (
        Index("ix_basemap_feature_county_kind", "county_code", "kind"),
        _trigram("basemap_feature", "name"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("admin_unit.code"))
    kind: Mapped[str] = mapped_column(String(16))  # water|waterway|green|building|road|place
    class_: Mapped[str | None] = mapped_column("class", String(40))
    name: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    source_id: Mapped[str | None] = mapped_column(Text)
    generated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    geom = mapped_column(
        Geometry("GEOMETRY", srid=STORAGE_SRID, spatial_index=True), nullable=False
    )


# --- Reports in (issue 4) ----------------------------------------------------------------------


class ApiKey(Base):
    """An Open311 API key; only its SHA-256 is stored, the key is printed once."""

    __tablename__ = "api_key"

    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[DefaultNow]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# --- Boundaries: import, lineage, subdivided copies (issue 3; migration 0003_boundaries) ---


class GridPart(Base):
    """A piece of a grid from ST_Subdivide (<= 64 vertices), kept by a trigger for point lookups."""

    __tablename__ = "grid_part"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"), index=True)
    geom = mapped_column(Geometry("POLYGON", srid=STORAGE_SRID, spatial_index=True), nullable=False)


class AdminUnitPart(Base):
    """A piece of an administrative unit from ST_Subdivide, kept by a trigger."""

    __tablename__ = "admin_unit_part"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(ForeignKey("admin_unit.code", ondelete="CASCADE"), index=True)
    geom = mapped_column(Geometry("POLYGON", srid=STORAGE_SRID, spatial_index=True), nullable=False)


class GridLineage(Base):
    """How a grid of the previous generation maps to the next: unchanged, renamed, split..."""

    __tablename__ = "grid_lineage"

    id: Mapped[IntPk]
    to_generation_id: Mapped[int] = mapped_column(
        ForeignKey("generation.id", ondelete="CASCADE"), index=True
    )
    old_grid_id: Mapped[int | None] = mapped_column(
        ForeignKey("grid.id", ondelete="CASCADE"), index=True
    )
    new_grid_id: Mapped[int | None] = mapped_column(
        ForeignKey("grid.id", ondelete="CASCADE"), index=True
    )
    old_code: Mapped[str | None] = mapped_column(String(15))
    new_code: Mapped[str | None] = mapped_column(String(15))
    # unchanged, renamed, reshaped, split, merged, redrawn, retired, created
    relation: Mapped[str] = mapped_column(String(16))
    overlap_m2: Mapped[float | None]
    share_of_old: Mapped[float | None]
    share_of_new: Mapped[float | None]


class BoundaryImport(Base):
    """A committed boundary import: what file, which level, which generation it made."""

    __tablename__ = "boundary_import"

    id: Mapped[IntPk]
    level: Mapped[str] = mapped_column(String(10))
    county_code: Mapped[str] = mapped_column(String(12))
    generation_id: Mapped[int | None] = mapped_column(
        ForeignKey("generation.id", ondelete="SET NULL")
    )
    source_name: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    crs: Mapped[str | None] = mapped_column(Text)
    features: Mapped[int]
    committed_at: Mapped[DefaultNow]
    summary: Mapped[dict] = mapped_column(JSONB, default=dict)


class AdminUnitHistory(Base):
    """An administrative unit's previous name and boundary, kept when an import replaces it."""

    __tablename__ = "admin_unit_history"

    id: Mapped[IntPk]
    code: Mapped[str] = mapped_column(String(12), index=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    parent_code: Mapped[str | None] = mapped_column(String(12))
    valid_to: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("boundary_import.id", ondelete="CASCADE")
    )
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=True))


# --- Bulk jobs (issue 19): results COPYed into narrow tables, keyed by county first ----------


class BulkJob(Base):
    """One bulk run (assignment, coverage, scores) on one machine or a Dask cluster."""

    __tablename__ = "bulk_job"

    id: Mapped[IntPk]
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    engine: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), server_default="running")
    partitions: Mapped[int | None]
    rows: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[DefaultNow]
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


def _job_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("bulk_job.id", ondelete="CASCADE"), primary_key=True)


class BulkAssignment(Base):
    """The grid a bulk job found for a household or report (NULL: in no current grid)."""

    __tablename__ = "bulk_assignment"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    job_id: Mapped[int] = _job_fk()
    point_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    grid_id: Mapped[int | None]


class BulkCoverage(Base):
    """Patrol coverage of one unit in one window of a bulk job (gisgrid.patrols.coverage)."""

    __tablename__ = "bulk_coverage"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    job_id: Mapped[int] = _job_fk()
    unit_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    period_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    period_end: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    road_length_m: Mapped[float]
    road_covered_m: Mapped[float]
    segments_total: Mapped[int]
    segments_covered: Mapped[int]
    households_total: Mapped[int]
    households_visited: Mapped[int]
    key_places_total: Mapped[int]
    key_places_visited: Mapped[int]
    fixes: Mapped[int]


class BulkUnitScore(Base):
    """A unit's scores in a bulk job (gisgrid.reports.scores measures, one row per unit)."""

    __tablename__ = "bulk_unit_score"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    job_id: Mapped[int] = _job_fk()
    unit_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    level: Mapped[str] = mapped_column(String(8))
    due: Mapped[int]
    closed: Mapped[int]
    on_time: Mapped[int]
    closed_late: Mapped[int]
    solved: Mapped[int]
    overdue: Mapped[int]
    evaluated: Mapped[int]
    satisfied: Mapped[int]
    reopened: Mapped[int]
    escalations: Mapped[int]
    whistled: Mapped[int]
    closure_rate: Mapped[float | None]
    on_time_rate: Mapped[float | None]
    solved_rate: Mapped[float | None]
    satisfaction: Mapped[float | None]
    reopen_rate: Mapped[float | None]
    mean_hours: Mapped[float | None]
    responded_on_time_rate: Mapped[float | None]
    fed_back_on_time_rate: Mapped[float | None]


# --- Shared state of every worker and host (issue 19) ----------------------------------------


class RateHit(Base):
    """Requests counted per (bucket, client) and second, for limits every worker shares.

    UNLOGGED (0012_shared_state): no WAL; a crash forgets at most the last minute's counts.
    """

    __tablename__ = "rate_hit"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    bucket: Mapped[str] = mapped_column(String(32), primary_key=True)
    client: Mapped[str] = mapped_column(String(200), primary_key=True)
    second: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int]


# --- Redraw (issue 15; migration 0009_redraw) ---------------------------------------------------


class RedrawBlockSet(Base):
    """The blocks of one village in one generation, cut once and kept (cached per generation)."""

    __tablename__ = "redraw_block_set"
    __table_args__ = (
        UniqueConstraint(
            "generation_id", "village_code", "roads_version", name="uq_redraw_block_set_key"
        ),
    )

    id: Mapped[IntPk]
    generation_id: Mapped[int] = mapped_column(ForeignKey("generation.id", ondelete="CASCADE"))
    village_code: Mapped[str] = mapped_column(String(12))
    # Which road network the blocks were cut by (count and newest id): a new import re-cuts them.
    roads_version: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[DefaultNow]


class RedrawBlock(Base):
    """A block (地块): a piece of a village between roads, grid lines and settlement gaps."""

    __tablename__ = "redraw_block"
    __table_args__ = (UniqueConstraint("set_id", "seq", name="uq_redraw_block_set_seq"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    set_id: Mapped[int] = mapped_column(
        ForeignKey("redraw_block_set.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int]
    area_m2: Mapped[float]
    perimeter_m: Mapped[float]
    # The grid of the block's generation it lies in (blocks are cut along grid lines).
    grid_code: Mapped[str | None] = mapped_column(String(15))
    geom = mapped_column(
        Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=True), nullable=False
    )


class RedrawBlockEdge(Base):
    """Two blocks that share a boundary: its length, and how much of it runs along a road."""

    __tablename__ = "redraw_block_edge"

    set_id: Mapped[int] = mapped_column(
        ForeignKey("redraw_block_set.id", ondelete="CASCADE"), primary_key=True
    )
    a: Mapped[int] = mapped_column(Integer, primary_key=True)
    b: Mapped[int] = mapped_column(Integer, primary_key=True)
    shared_m: Mapped[float]
    road_m: Mapped[float]


class RedrawPlan(Base):
    """A draft redraw of a unit's grids: asked for, computed in the background, then published."""

    __tablename__ = "redraw_plan"

    id: Mapped[IntPk]
    county_code: Mapped[str] = mapped_column(String(12), index=True)
    unit_code: Mapped[str] = mapped_column(String(12))
    mode: Mapped[str] = mapped_column(String(16))  # balance | minimal_change
    band_min: Mapped[int]
    band_max: Mapped[int]
    seed: Mapped[int]
    # The generation the draft starts from; publishing refuses once it is no longer current.
    generation_id: Mapped[int] = mapped_column(ForeignKey("generation.id", ondelete="CASCADE"))
    # queued | running | ready | failed | published
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict] = mapped_column(JSONB, default=dict)
    account_id: Mapped[int | None] = mapped_column(Integer)  # kept if the account goes
    username: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[DefaultNow]
    updated_at: Mapped[DefaultNow]
    published_generation_id: Mapped[int | None] = mapped_column(
        ForeignKey("generation.id", ondelete="SET NULL")
    )


class RedrawPlanBlock(Base):
    """Which draft grid a block is in, with the block's counts when the draft was made."""

    __tablename__ = "redraw_plan_block"
    __table_args__ = (Index("ix_redraw_plan_block_plan_grid", "plan_id", "grid_code"),)

    plan_id: Mapped[int] = mapped_column(
        ForeignKey("redraw_plan.id", ondelete="CASCADE"), primary_key=True
    )
    block_id: Mapped[int] = mapped_column(
        ForeignKey("redraw_block.id", ondelete="CASCADE"), primary_key=True
    )
    village_code: Mapped[str] = mapped_column(String(12))
    grid_code: Mapped[str] = mapped_column(String(15))
    households: Mapped[int]
    care_households: Mapped[int]
    open_reports: Mapped[int]


class RedrawPlanGrid(Base):
    """A draft grid: the union of its blocks, with its figures against the band."""

    __tablename__ = "redraw_plan_grid"

    plan_id: Mapped[int] = mapped_column(
        ForeignKey("redraw_plan.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    village_code: Mapped[str] = mapped_column(String(12))
    households: Mapped[int]
    care_households: Mapped[int]
    open_reports: Mapped[int]
    blocks: Mapped[int]
    area_m2: Mapped[float]
    polsby_popper: Mapped[float]
    in_band: Mapped[bool]
    # False when the grid is a current grid as it is (same code, same blocks).
    changed: Mapped[bool]
    geom = mapped_column(
        Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=False), nullable=False
    )
