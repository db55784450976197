"""The demo county's cases: a week of open ones, and the last month or so taken round the loop.

All GENERATED (`generated = true`, descriptions and steps say so). The month follows the loop as
gisgrid/reports/cases.py runs it: residents' and hotline reports checked on site (核查) before
they are registered (立案, 三事分流) and dispatched; 自家事 with the grid's worker or the
household group's leader (联户长), 大家事 with the village council (which deliberates, 村民议事)
or a part-time worker, 公家事 with the town, most whistled to their department (吹哨), which
reports for duty (报到) and feeds back; closing codes; call-backs; unsatisfied verdicts reopened
and closed again; false reports cancelled at the check. Shares follow the published figures:
75.8% on time, 93.7% closed (a published month), 96.4% solved and 96.8% satisfied (Jiande), and
the class mix of Longli's 三事分流 (482 自家事 / 925 大家事 / 275 公家事).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.reports import CATEGORIES, WORKING_DAY_HOURS, WorkingCalendar, departments_of
from gisgrid.sql import copy_frame

CN = ZoneInfo("Asia/Shanghai")
GENERATED_STEP = "GENERATED demo step"
SOURCES = np.array(["resident", "patrol", "hotline", "video"])
SOURCE_SHARE = [0.5, 0.3, 0.15, 0.05]
CHECKED_SOURCES = ("resident", "hotline")
# Longli's 三事分流: 482 自家事, 925 大家事, 275 公家事.
TRIAGE_SHARE = {"private": 482, "collective": 925, "public": 275}
# A published month (DOMAIN.md): 972 due, 911 closed (93.72%), 737 on time (75.82%).
ON_TIME_SHARE = 0.758
CLOSED_SHARE = 0.937
TOWN_SPREAD = 0.08  # sd of a town's on-time share around the county's
CALLBACK_SHARE = 0.6  # closed cases that got a call-back (回访) so far
# Jiande's 96.8% satisfied, as the final verdict: a first call-back finds 8% unsatisfied, whose
# cases are reopened, and 60% of those are satisfied the second time (92% + 8% x 60% = 96.8%).
FIRST_SATISFIED = 0.92
SECOND_SATISFIED = 0.6
# Closing codes: Jiande's 96.4% solved; the rest partly, not solvable, reporter unreachable.
OUTCOME_SHARE = {
    "resolved": 0.964,
    "partly_resolved": 0.015,
    "not_solvable": 0.015,
    "unreachable": 0.006,
}
NOT_SOLVABLE_REASONS = np.array(["policy", "petition", "court"])
CANCELLED_SHARE = 0.03  # residents' and hotline reports found false or duplicate on site
WHISTLED_SHARE = 0.6  # 公家事 whistled to the department owning them
LEADER_SHARE = 0.3  # 自家事 taken by the household group's leader (联户长)
PART_TIME_SHARE = 0.25  # 大家事 taken by a part-time worker of the grid
RESPONDED_SHARE = 0.9  # departments reporting for duty (报到) in time
OVERDUE_SHARE = 0.2  # open cases: about a fifth already late
# Cases per grid falling due each 30 days. Jiande collected 71,549 pieces of information in half a
# year over 705 grids (~17 a grid a month), most of them settled on the spot; two cases a grid a
# month is a light county, enough for every ranking to have figures.
CASES_PER_GRID_MONTH = 2


def _by_class() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {k: [] for k in TRIAGE_SHARE}
    for c in CATEGORIES:
        out[c.triage.value].append(c.code)
    return out


def _categories(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n categories drawn so their classes follow Longli's mix; (codes, classes)."""
    classes = np.array(list(TRIAGE_SHARE))
    p = np.array(list(TRIAGE_SHARE.values()), dtype=float)
    triage = rng.choice(classes, n, p=p / p.sum())
    members = _by_class()
    codes = np.array([members[t][int(rng.integers(0, len(members[t])))] for t in triage])
    return codes, triage


def _spots(conn: Connection, grid_ids: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """One household of each given grid (with repeats): where each report is, and whose."""
    homes = pd.DataFrame(
        [
            dict(r)
            for r in sql.rows(
                conn, "demo/households_of_grids", grids=sorted(set(grid_ids.tolist()))
            )
        ]
    )
    first = homes.groupby("grid_id").indices
    pick = np.array(
        [first[g][int(rng.integers(0, len(first[g])))] for g in grid_ids.tolist()], dtype=np.int64
    )
    return homes.iloc[pick].reset_index(drop=True)


def _staff(conn: Connection, grid_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Per grid: its first full-time worker and a part-time worker (if it has one)."""
    full: dict[int, int] = {}
    part: dict[int, int] = {}
    for r in sql.rows(conn, "demo/grid_workers", grids=grid_ids):
        (full if r["role"] == "full_time" else part).setdefault(
            int(r["grid_id"]), int(r["staff_id"])
        )
    return full, part


def _ts(values: pd.Series | np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True))


def _route(
    triage: np.ndarray,
    spots: pd.DataFrame,
    full: dict[int, int],
    part: dict[int, int],
    owner: dict[str, int],
    codes: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """三事分流 for generated cases: (assignee, handler_level, department id or 0)."""
    n = len(triage)
    grid = spots["grid_id"].to_numpy(np.int64)
    worker = np.array([full.get(int(g), 0) for g in grid], dtype=np.int64)
    part_w = np.array([part.get(int(g), 0) for g in grid], dtype=np.int64)
    leader = spots["leader_id"].fillna(0).to_numpy(np.int64)
    assignee = np.zeros(n, dtype=np.int64)
    level = np.empty(n, dtype=object)
    dept = np.array([owner.get(c, 0) for c in codes], dtype=np.int64)
    u = rng.random(n)
    private, collective, public = (triage == t for t in ("private", "collective", "public"))
    by_leader = private & (u < LEADER_SHARE) & (leader > 0)
    assignee[private] = worker[private]
    level[private] = "full_time"
    assignee[by_leader], level[by_leader] = leader[by_leader], "household"
    level[collective] = "village"
    by_part = collective & (u < PART_TIME_SHARE) & (part_w > 0)
    assignee[by_part], level[by_part] = part_w[by_part], "part_time"
    level[public] = "town"
    whistled = public & (dept > 0) & (rng.random(n) < WHISTLED_SHARE)
    level[whistled] = "department"
    dept[~whistled] = 0
    no_one = (assignee == 0) & (level == "full_time")
    level[no_one] = "village"
    return assignee, level, dept


def _dept_clock(
    sent: pd.Series, dept: np.ndarray, hours: dict[int, tuple[int, int]], cal: WorkingCalendar
) -> tuple[pd.Series, pd.Series]:
    """The department's 报到 and feedback limits from when it was whistled."""
    respond, due = [], []
    for t, d in zip(sent, dept, strict=True):
        if d and not pd.isna(t):
            r, f = hours[int(d)]
            when = t.floor("s").to_pydatetime()
            respond.append(cal.due(when, r, WORKING_DAY_HOURS))
            due.append(cal.due(when, f, WORKING_DAY_HOURS))
        else:
            respond.append(pd.NaT)
            due.append(pd.NaT)
    return _ts(respond), _ts(due)


def _seconds(rng: np.random.Generator, n: int, lo: float, hi: float) -> pd.Series:
    return pd.Series(pd.to_timedelta(rng.uniform(lo, hi, n), unit="s"))


class CaseRun(NamedTuple):
    """A demo county given its cases: where they are written, its grids, the seeded draw, its
    working calendar and the clock the generated times end at (UTC, whole seconds)."""

    conn: Connection
    county: str
    grids: pd.DataFrame
    rng: np.random.Generator
    calendar: WorkingCalendar
    now: dt.datetime


def month_start(now: dt.datetime) -> dt.datetime:
    """The first day of the previous month, China time: the generated cases begin there, so
    the last complete month has its bulletin."""
    first = now.astimezone(CN).date().replace(day=1)
    prev = (first - dt.timedelta(days=1)).replace(day=1)
    return dt.datetime.combine(prev, dt.time(), CN)


def write_closed_months(run: CaseRun) -> dict[str, int]:
    """CASES_PER_GRID_MONTH cases a grid that fell due from the start of last month until now,
    taken round the loop with every step in report_event (all GENERATED)."""
    conn, county, grids, rng, calendar, now = run
    start = month_start(now)
    months = (now - start).total_seconds() / (30 * 86400)
    n = max(1, round(len(grids) * CASES_PER_GRID_MONTH * months))
    codes, triage = _categories(n, rng)
    cats = {c.code: c for c in CATEGORIES}
    dispatched_l, due_l = [], []
    span = (now - start).total_seconds() + 20 * 86400
    for code in codes:
        while True:
            d = now - dt.timedelta(seconds=float(rng.uniform(3600, span)))
            due = cats[str(code)].due(d, calendar)
            if start <= due < now:
                break
        dispatched_l.append(d)
        due_l.append(due)
    dispatched, due = _ts(dispatched_l), _ts(due_l)
    grid_pick = grids["id"].to_numpy(np.int64)[rng.integers(0, len(grids), n)]
    spots = _spots(conn, grid_pick, rng)
    full, part = _staff(conn, sorted({int(g) for g in grid_pick}))
    depts = departments_of(conn, county)
    owner = {c: d["id"] for d in depts for c in d["categories"]}
    hours = {d["id"]: (d["response_hours"], d["feedback_hours"]) for d in depts}
    dept_code = {d["id"]: d["code"] for d in depts}
    assignee, level, dept = _route(triage, spots, full, part, owner, codes, rng)
    source = rng.choice(SOURCES, n, p=SOURCE_SHARE)
    checked = np.isin(source, CHECKED_SOURCES)
    whistled = dept > 0

    # Each town has its own on-time share around the county's; late closures fill the rest of
    # the closed share, and what is left was fed back but not yet verified.
    town = spots["grid_code"].str[:9].to_numpy()
    towns = sorted(set(town))
    p_town = dict(
        zip(
            towns,
            np.clip(rng.normal(ON_TIME_SHARE, TOWN_SPREAD, len(towns)), 0.4, 0.98),
            strict=True,
        )
    )
    on_time = rng.random(n) < np.array([p_town[t] for t in town])
    late = ~on_time & (rng.random(n) < (CLOSED_SHARE - ON_TIME_SHARE) / (1 - ON_TIME_SHARE))
    closed = on_time | late
    now_ts = pd.Timestamp(now)
    room = (
        pd.concat([due, pd.Series([now_ts - pd.Timedelta(minutes=10)] * n)], axis=1).min(axis=1)
        - dispatched
    )
    room = room.clip(lower=pd.Timedelta(minutes=30))
    frac = lambda lo, hi: pd.Series(rng.uniform(lo, hi, n))  # noqa: E731

    reported = dispatched - np.where(
        checked, _seconds(rng, n, 1200, 3 * 3600), _seconds(rng, n, 300, 3600)
    )
    check_at = reported + (dispatched - reported) * frac(0.2, 0.8)
    sent = (dispatched + room * frac(0.02, 0.08)).where(whistled)
    respond_by, dept_due = _dept_clock(sent, dept, hours, calendar)
    in_time = rng.random(n) < RESPONDED_SHARE
    dept_accept = (sent + (respond_by - sent) * frac(0.1, 0.9)).where(
        in_time, respond_by + _seconds(rng, n, 600, 7200)
    )
    dept_accept = pd.concat([dept_accept, dispatched + room * 0.5], axis=1).min(axis=1)
    accepted = (dispatched + room * frac(0.05, 0.3)).where(~whistled, dept_accept)
    close1 = (accepted + (dispatched + room - accepted) * frac(0.3, 0.97)).where(
        on_time,
        (due + _seconds(rng, n, 1800, 4 * 86400)).clip(upper=now_ts - pd.Timedelta(minutes=5)),
    )
    resolved1 = (close1 - (close1 - accepted) * frac(0.05, 0.3)).where(
        closed, accepted + (dispatched + room - accepted) * frac(0.5, 0.99)
    )
    deliberated = accepted + (resolved1 - accepted) * frac(0.2, 0.7)

    called = closed & (rng.random(n) < CALLBACK_SHARE)
    called_at = close1 + _seconds(rng, n, 3600, 2 * 86400)
    called &= (called_at < now_ts - pd.Timedelta(minutes=1)).to_numpy()
    verdict1 = rng.random(n) < FIRST_SATISFIED
    # Unsatisfied in time reopens the case (GISGRID_REOPEN_DAYS); only where it had time to be
    # handled, closed and called back again before now (the rest were satisfied).
    roomy = (called_at < now_ts - pd.Timedelta(days=3)).to_numpy()
    reopened = called & ~verdict1 & roomy
    verdict1 |= called & ~roomy
    reopen_at = called_at + pd.Timedelta(minutes=1)
    resolved2 = reopen_at + _seconds(rng, n, 2 * 3600, 36 * 3600)
    close2 = resolved2 + _seconds(rng, n, 600, 6 * 3600)
    called2_at = close2 + _seconds(rng, n, 3600, 12 * 3600)
    verdict2 = rng.random(n) < SECOND_SATISFIED

    outcome_names = np.array(list(OUTCOME_SHARE))
    outcome = rng.choice(outcome_names, n, p=list(OUTCOME_SHARE.values()))
    outcome_reason = pd.Series(rng.choice(NOT_SOLVABLE_REASONS, n), dtype=object).where(
        outcome == "not_solvable", None
    )
    closed_at = close2.where(reopened, close1).where(closed)
    satisfied = pd.array(np.where(reopened, verdict2, verdict1), dtype="boolean")
    satisfied[~called] = pd.NA

    ids = np.array(
        list(sql.execute(conn, "demo/reserve_report_ids", n=n).scalars()), dtype=np.int64
    )
    status = np.where(closed, "closed", "resolved")
    fed_back = (resolved1 + pd.Timedelta(hours=8)).where(~closed)
    reports = pd.DataFrame(
        {
            "id": ids,
            "category": codes,
            "description": "GENERATED demo report (last month)",
            "source": source,
            "status": status,
            "grid_id": spots["grid_id"].to_numpy(np.int64),
            "assignee_id": pd.array(np.where(assignee > 0, assignee, 0), dtype="Int64").astype(
                "Int64"
            ),
            "handler_level": level,
            "reported_at": reported,
            "dispatched_at": dispatched,
            "due_at": due,
            "closed_at": closed_at,
            "updated_at": called2_at.where(
                reopened & called, called_at.where(called, closed_at.fillna(resolved1))
            ),
            "satisfied": satisfied,
            "generated": True,
            "geom": _points(spots),
            "triage": triage,
            "stage": "fed_back",
            "stage_due_at": fed_back,
            "department_id": pd.array(np.where(whistled, dept, 0), dtype="Int64"),
            "dept_sent_at": sent,
            "dept_respond_by": respond_by,
            "dept_accepted_at": dept_accept.where(whistled),
            "dept_due_at": dept_due,
            "dept_resolved_at": resolved1.where(whistled),
            "outcome": pd.Series(outcome, dtype=object).where(closed, None),
            "outcome_reason": outcome_reason.where(closed, None),
            "reopens": reopened.astype(int),
            "escalations": whistled.astype(int),
            "group_id": spots["group_id"].astype("Int64"),
        }
    )
    reports.loc[reports["assignee_id"] == 0, "assignee_id"] = pd.NA
    reports.loc[reports["department_id"] == 0, "department_id"] = pd.NA
    copy_frame(conn, "report", reports)

    everyone = np.ones(n, bool)
    level_s = pd.Series(level)
    assignee_s = pd.Series(pd.array(np.where(assignee > 0, assignee, 0), dtype="Int64"))
    assignee_s[assignee_s == 0] = pd.NA
    dept_detail = [json.dumps({"department": dept_code.get(int(d))}) if d else None for d in dept]
    out_detail = [
        json.dumps({"outcome": o, "outcome_reason": r})
        for o, r in zip(outcome, outcome_reason, strict=True)
    ]
    steps = [
        ("check", "submitted", "submitted", check_at, checked, None, None),
        ("register", "submitted", "dispatched", dispatched, checked, None,
         [json.dumps({"triage": t}) for t in triage]),
        ("escalate", "dispatched", "dispatched", sent, whistled, None, dept_detail),
        ("accept", "dispatched", "in_progress", accepted, everyone, None,
         [d if d else None for d in dept_detail]),
        ("deliberate", "in_progress", "in_progress", deliberated, triage == "collective", None,
         None),
        ("resolve", "in_progress", "resolved", resolved1, everyone, None, out_detail),
        ("close", "resolved", "closed", close1, closed, None, out_detail),
        ("evaluate", "closed", "closed", called_at, called, np.where(reopened, False, verdict1),
         None),
        ("reopen", "closed", "in_progress", reopen_at, reopened, None, None),
        ("resolve", "in_progress", "resolved", resolved2, reopened, None, out_detail),
        ("close", "resolved", "closed", close2, reopened, None, out_detail),
        ("evaluate", "closed", "closed", called2_at, reopened, verdict2, None),
    ]  # fmt: skip
    events = pd.concat(
        [
            pd.DataFrame(
                {
                    "report_id": ids[keep],
                    "at": pd.Series(at)[keep].reset_index(drop=True),
                    "action": action,
                    "from_status": before,
                    "to_status": after,
                    "username": "generated",
                    "assignee_id": assignee_s[keep].reset_index(drop=True),
                    "handler_level": level_s[keep].to_numpy(),
                    "note": GENERATED_STEP,
                    "satisfied": pd.array(
                        verdict[keep] if verdict is not None else [None] * int(keep.sum()),
                        dtype="boolean",
                    ),
                    "detail": np.array(detail, dtype=object)[keep] if detail is not None else None,
                }
            )
            for action, before, after, at, keep, verdict, detail in steps
        ],
        ignore_index=True,
    )
    copy_frame(conn, "report_event", events)
    cancelled = _write_cancelled(conn, grids, rng, calendar, start, now, int(checked.sum()))
    return {
        "reports_last_month": n,
        "reports_whistled": int(whistled.sum()),
        "reports_reopened": int(reopened.sum()),
        "reports_cancelled": cancelled,
    }


def _points(spots: pd.DataFrame) -> np.ndarray:
    geoms = shapely.points(spots["x"].to_numpy(float), spots["y"].to_numpy(float))
    return shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True)


def _write_cancelled(
    conn: Connection,
    grids: pd.DataFrame,
    rng: np.random.Generator,
    calendar: WorkingCalendar,
    start: dt.datetime,
    now: dt.datetime,
    checked: int,
) -> int:
    """Residents' and hotline reports found false or duplicate on site (不予立案): never cases."""
    m = max(1, round(checked * CANCELLED_SHARE))
    codes, triage = _categories(m, rng)
    reported = pd.Series(
        pd.to_datetime(
            [
                start + dt.timedelta(seconds=float(s))
                for s in rng.uniform(0, (now - start).total_seconds() - 7200, m)
            ],
            utc=True,
        )
    )
    cancelled = reported + _seconds(rng, m, 1800, 5400)
    spots = _spots(conn, grids["id"].to_numpy(np.int64)[rng.integers(0, len(grids), m)], rng)
    ids = np.array(
        list(sql.execute(conn, "demo/reserve_report_ids", n=m).scalars()), dtype=np.int64
    )
    copy_frame(
        conn,
        "report",
        pd.DataFrame(
            {
                "id": ids,
                "category": codes,
                "description": "GENERATED demo report (last month)",
                "source": rng.choice(np.array(CHECKED_SOURCES), m),
                "status": "cancelled",
                "grid_id": spots["grid_id"].to_numpy(np.int64),
                "handler_level": "village",
                "reported_at": reported,
                "closed_at": cancelled,
                "updated_at": cancelled,
                "generated": True,
                "geom": _points(spots),
                "triage": triage,
                "stage": "collected",
            }
        ),
    )
    reason = rng.choice(np.array(["false_report", "duplicate"]), m, p=[0.6, 0.4])
    copy_frame(
        conn,
        "report_event",
        pd.DataFrame(
            {
                "report_id": ids,
                "at": cancelled,
                "action": "cancel",
                "from_status": "submitted",
                "to_status": "cancelled",
                "username": "generated",
                "handler_level": "village",
                "note": GENERATED_STEP,
                "detail": [json.dumps({"reason": r}) for r in reason],
            }
        ),
    )
    return m


def write_open_reports(run: CaseRun) -> int:
    """A few hundred open cases from the last week, about a fifth already late, routed by class;
    residents' and hotline reports not yet checked are waiting for their check (收集)."""
    conn, county, grids, rng, calendar, now = run
    n = max(150, len(grids) // 3)
    codes, triage = _categories(n, rng)
    cats = {c.code: c for c in CATEGORIES}
    want_late = rng.random(n) < OVERDUE_SHARE
    dispatched_l, due_l = [], []
    for code, late in zip(codes, want_late, strict=True):
        for _ in range(200):
            d = now - dt.timedelta(seconds=float(rng.uniform(600, 7 * 86400)))
            due = cats[str(code)].due(d, calendar)
            if (due < now) == bool(late):
                break
        dispatched_l.append(d)
        due_l.append(due)
    dispatched, due = _ts(dispatched_l), _ts(due_l)
    spots = _spots(conn, grids["id"].to_numpy(np.int64)[rng.integers(0, len(grids), n)], rng)
    full, part = _staff(conn, sorted({int(g) for g in spots["grid_id"]}))
    depts = departments_of(conn, county)
    owner = {c: d["id"] for d in depts for c in d["categories"]}
    hours = {d["id"]: (d["response_hours"], d["feedback_hours"]) for d in depts}
    assignee, level, dept = _route(triage, spots, full, part, owner, codes, rng)
    source = rng.choice(SOURCES, n, p=SOURCE_SHARE)
    status = rng.choice(np.array(["dispatched", "in_progress"]), n, p=[0.5, 0.5])
    # A share of the residents' and hotline reports is still waiting for its on-site check.
    waiting = np.isin(source, CHECKED_SOURCES) & (rng.random(n) < 0.3) & ~want_late
    status = np.where(waiting, "submitted", status)
    whistled = (dept > 0) & ~waiting
    worker = np.array([full.get(int(g), 0) for g in spots["grid_id"]], dtype=np.int64)
    assignee = np.where(waiting, worker, assignee)
    level = np.where(waiting, np.where(worker > 0, "full_time", "village"), level)
    reported = dispatched - _seconds(rng, n, 300, 3600)
    sent = (dispatched + _seconds(rng, n, 600, 3600)).where(whistled)
    respond_by, dept_due = _dept_clock(sent, np.where(whistled, dept, 0), hours, calendar)
    accepted = (sent + (respond_by - sent) * 0.5).where(whistled & (status == "in_progress"))
    stage = np.select(
        [waiting, whistled & (status == "dispatched"), status == "in_progress"],
        ["collected", "escalated", "handled"],
        "registered",
    )
    stage_due = pd.Series(
        [
            calendar.add_working_hours(r.floor("s").to_pydatetime(), 2) if s == "collected"
            else rb if s == "escalated" else d
            for s, r, rb, d in zip(stage, reported, respond_by, due, strict=True)
        ]
    )  # fmt: skip
    frame = pd.DataFrame(
        {
            "category": codes,
            "description": ["GENERATED demo report: " + str(c) for c in codes],
            "source": source,
            "status": status,
            "grid_id": spots["grid_id"].to_numpy(np.int64),
            "assignee_id": pd.array(np.where(assignee > 0, assignee, 0), dtype="Int64"),
            "handler_level": level,
            "reported_at": reported.where(~waiting, dispatched),
            "dispatched_at": dispatched.where(~waiting),
            "due_at": due.where(~waiting),
            "generated": True,
            "geom": _points(spots),
            "triage": triage,
            "stage": stage,
            "stage_due_at": _ts(stage_due),
            "department_id": pd.array(np.where(whistled, dept, 0), dtype="Int64"),
            "dept_sent_at": sent,
            "dept_respond_by": respond_by,
            "dept_accepted_at": accepted,
            "dept_due_at": dept_due,
            "escalations": whistled.astype(int),
            "group_id": spots["group_id"].astype("Int64"),
        }
    )
    frame.loc[frame["assignee_id"] == 0, "assignee_id"] = pd.NA
    frame.loc[frame["department_id"] == 0, "department_id"] = pd.NA
    copy_frame(conn, "report", frame)
    return n
