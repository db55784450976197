"""The figures a center is judged by, for a unit and everyone under it, in a period.

For the cases that fell due in a period (due_at in [start, end); supporters and cancelled reports
are not cases): closure rate (结案率) = closed / due; on-time closure rate (按期结案率) = closed by
the time limit / due (one published month: 972 due, 911 closed = 93.72%, 737 on time = 75.82%);
solved rate = closed with the code "resolved" / due (only "resolved" is solved); satisfaction =
satisfied verdicts / verdicts (each case's latest verdict); reopen rate = cases reopened at least
once / cases closed at least once; mean handling time = working hours from dispatch to closing,
over the closed ones (the county's calendar); overdue = due and still not closed when the period
ended. Per unit (county, town, village, grid), per worker (the person holding the case) and per
department (cases whistled to it, with its own 报到 and feedback clocks). docs/architecture.md,
"Scores", is the long form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import REGISTER_READERS, Principal
from gisgrid.divisions import get_unit, unit_children, unit_prefix
from gisgrid.errors import InvalidPeriod, InvalidReport
from gisgrid.reports import triage
from gisgrid.reports.intake import IntakeConfig
from gisgrid.reports.working_calendar import WorkingCalendar

DEFAULT_PERIOD = dt.timedelta(days=30)
MAX_PERIOD = dt.timedelta(days=366)


def period(
    start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime | None = None
) -> tuple[dt.datetime, dt.datetime]:
    """The period asked for, defaulting to the 30 days up to now; InvalidPeriod if it is odd."""
    end = end or now or dt.datetime.now(dt.UTC)
    start = start or end - DEFAULT_PERIOD
    if start >= end:
        raise InvalidPeriod(f"start {start.isoformat()} is not before end {end.isoformat()}")
    if end - start > MAX_PERIOD:
        raise InvalidPeriod(
            f"{(end - start).days} days asked; at most {MAX_PERIOD.days} (one year) at a time"
        )
    return start, end


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def closure_scores(
    conn: Connection, units: list[tuple[str, str]], start: dt.datetime, end: dt.datetime
) -> dict[str, dict[str, Any]]:
    """Scores per unit code, for (code, grid-code prefix) pairs."""
    out = {}
    for r in triage.unit_rows(conn, "reports/unit_scores", units, start, end):
        due = int(r["due"])
        out[r["code"]] = {
            "due": due,
            "closed": int(r["closed"]),
            "on_time": int(r["on_time"]),
            "closure_rate": _rate(int(r["closed"]), due),
            "on_time_rate": _rate(int(r["on_time"]), due),
            "evaluated": int(r["evaluated"]),
            "satisfaction": _rate(int(r["satisfied"]), int(r["evaluated"])),
            "escalations": int(r["escalations"]),
        }
    return out


def code_prefix(code: str) -> str:
    """The grid-code prefix of a unit's grids; a grid's own code for a grid."""
    return code if len(code) == 15 else unit_prefix(code)


DEFINITIONS = {
    "due": "cases whose time limit (due_at) fell in [start, end); supporters (duplicates) and "
    "cancelled reports are not cases",
    "closed": "due cases closed (核查结案) before the end of the period",
    "on_time": "due cases closed by their time limit",
    "closure_rate": "结案率 = closed / due",
    "on_time_rate": "按期结案率 = on_time / due",
    "solved_rate": "解决率 = closed with the code resolved (已解决) / due; partly resolved, not "
    "solvable and reporter unreachable are closed but not solved",
    "satisfaction": "满意率 = satisfied / evaluated, each case's latest verdict (reporter or "
    "call-back)",
    "reopen_rate": "重开率 = cases reopened at least once (an unsatisfied verdict in time) / "
    "cases closed at least once",
    "mean_hours": "mean working hours from dispatch (派遣) to closing, over the closed cases, on "
    "the county's working calendar",
    "overdue": "due cases still not closed at the end of the period",
    "closed_late": "closed after their time limit",
    "escalations": "steps up a level or to a department (上报, 吹哨) on the due cases",
    "department": "per department: the due cases whistled to it (吹哨); responded_on_time = "
    "accepted (报到) by its response limit / whistled; fed_back_on_time = fed back by its "
    "feedback limit / whistled",
    "worker": "per worker: the due cases the worker holds (the assignee)",
}
BY = ("children", "towns", "villages", "grids", "workers", "departments")


def _seconds(col: pd.Series) -> np.ndarray:
    """Epoch seconds of a timestamp column; NaN where empty."""
    ts = pd.to_datetime(col, utc=True)
    return ((ts - pd.Timestamp(0, tz="UTC")).dt.total_seconds()).to_numpy(dtype=float)


def due_cases(
    conn: Connection,
    prefix: str,
    start: dt.datetime,
    end: dt.datetime,
    calendar: WorkingCalendar | None = None,
) -> pd.DataFrame:
    """One row per case due in the period under a grid-code prefix, with the flags scores count."""
    rows = sql.rows(conn, "reports/due_cases", prefix=prefix, start=start, end=end)
    frame = pd.DataFrame([dict(r) for r in rows])
    if frame.empty:
        return frame
    end_s = end.timestamp()
    closed_s, due_s = _seconds(frame["closed_at"]), _seconds(frame["due_at"])
    closed = (frame["status"] == "closed").to_numpy() & (closed_s < end_s)
    frame["is_closed"] = closed
    frame["is_on_time"] = closed & (closed_s <= due_s)
    frame["is_solved"] = closed & (frame["outcome"] == "resolved").to_numpy()
    frame["is_evaluated"] = frame["satisfied"].notna()
    frame["is_satisfied"] = frame["satisfied"].eq(True)
    frame["is_reopened"] = frame["reopens"].fillna(0).astype(int) > 0
    frame["is_ever_closed"] = (frame["status"] == "closed") | frame["is_reopened"]
    cal = calendar or WorkingCalendar()
    dispatched_s = _seconds(frame["dispatched_at"])
    frame["hours"] = np.where(
        closed, cal.working_hours_between(dispatched_s, np.where(closed, closed_s, np.nan)), np.nan
    )
    sent = frame["department_id"].notna().to_numpy()
    accepted_s, respond_s = _seconds(frame["dept_accepted_at"]), _seconds(frame["dept_respond_by"])
    fed_s, dept_due_s = _seconds(frame["dept_resolved_at"]), _seconds(frame["dept_due_at"])
    frame["is_whistled"] = sent
    frame["is_responded_on_time"] = sent & (accepted_s <= respond_s)
    frame["is_fed_back_on_time"] = sent & (fed_s <= dept_due_s)
    return frame


def pct(rate: float | None) -> str:
    """A rate as the bulletins print it: 0.9372 -> '93.72%'; no cases -> '—'."""
    return "—" if rate is None else f"{rate * 100:.2f}%"


# Per-case flags summed for every grouping (one vectorised groupby, not a pass per group).
FLAGS = (
    "is_closed",
    "is_on_time",
    "is_solved",
    "is_evaluated",
    "is_satisfied",
    "is_reopened",
    "is_ever_closed",
    "is_whistled",
    "is_responded_on_time",
    "is_fed_back_on_time",
)


def _from_sums(n: int, s: Any, mean_hours: float) -> dict[str, Any]:
    """The measures (see DEFINITIONS) from a group's case count, flag sums and mean hours."""
    c = {k: int(s[k]) for k in FLAGS}
    whistled = c["is_whistled"]
    return {
        "due": int(n),
        "closed": c["is_closed"],
        "on_time": c["is_on_time"],
        "closed_late": c["is_closed"] - c["is_on_time"],
        "solved": c["is_solved"],
        "overdue": int(n) - c["is_closed"],
        "closure_rate": _rate(c["is_closed"], n),
        "on_time_rate": _rate(c["is_on_time"], n),
        "solved_rate": _rate(c["is_solved"], n),
        "evaluated": c["is_evaluated"],
        "satisfied": c["is_satisfied"],
        "satisfaction": _rate(c["is_satisfied"], c["is_evaluated"]),
        "reopened": c["is_reopened"],
        "reopen_rate": _rate(c["is_reopened"], c["is_ever_closed"]),
        "mean_hours": None if pd.isna(mean_hours) else round(float(mean_hours), 2),
        "escalations": int(s["escalations"]),
        "whistled": whistled,
        "responded_on_time_rate": _rate(c["is_responded_on_time"], whistled),
        "fed_back_on_time_rate": _rate(c["is_fed_back_on_time"], whistled),
    }


def measures(frame: pd.DataFrame) -> dict[str, Any]:
    """Counts and rates of a set of due cases (see DEFINITIONS)."""
    if frame.empty:
        return _empty()
    sums = frame[list(FLAGS)].sum()
    sums["escalations"] = frame["escalations"].fillna(0).sum()
    return _from_sums(len(frame), sums, frame["hours"].mean())


def _empty() -> dict[str, Any]:
    """The measures of no cases: zero counts, no rates."""
    return _from_sums(0, dict.fromkeys((*FLAGS, "escalations"), 0), float("nan"))


def rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ranked as the assessment sheets weigh them: on-time closure first, then closure."""
    rows.sort(key=lambda c: (-(c["on_time_rate"] or 0.0), -(c["closure_rate"] or 0.0), c["code"]))
    for i, c in enumerate(rows, 1):
        c["rank"] = i
    return rows


def _groups(frame: pd.DataFrame, key: pd.Series) -> dict[Any, dict[str, Any]]:
    """Measures per key value, from one groupby over the flags."""
    if frame.empty:
        return {}
    cols = [*FLAGS, "escalations", "hours"]
    data = frame[cols].assign(escalations=frame["escalations"].fillna(0), _key=key.to_numpy())
    grouped = data.groupby("_key", sort=True)
    sums, sizes, hours = (
        grouped[[*FLAGS, "escalations"]].sum(),
        grouped.size(),
        grouped["hours"].mean(),
    )
    return {k: _from_sums(int(sizes[k]), sums.loc[k], hours[k]) for k in sizes.index}


def rows_by(
    conn: Connection, unit: dict[str, Any], frame: pd.DataFrame, by: str
) -> list[dict[str, Any]]:
    """A unit's due cases as ranked rows: children, towns, villages, grids, workers, departments.

    Units with nothing due are listed (with empty measures) for children, towns and villages, so a
    ranking shows who had nothing to do; grids, workers and departments only with cases.
    """
    if by not in BY:
        raise InvalidReport(f"by={by!r} is not one of {', '.join(BY)}")
    rows: list[dict[str, Any]] = []
    if by in ("children", "towns", "villages"):
        if by == "children":
            kids = unit_children(conn, unit["code"])
        else:
            kids = [
                dict(r)
                for r in sql.rows(
                    conn,
                    "reports/units_under",
                    prefix=code_prefix(unit["code"]),
                    level=by[:-1],
                )
            ]
        width = len(code_prefix(kids[0]["code"])) if kids else 0
        got = _groups(frame, frame["grid_code"].str[:width]) if kids and not frame.empty else {}
        rows = [
            {"code": k["code"], "name": k["name"], "level": k["level"]}
            | got.get(code_prefix(k["code"]), _empty())
            for k in kids
        ]
    elif frame.empty:
        rows = []
    elif by == "grids":
        names = dict(zip(frame["grid_code"], frame["grid_name"], strict=False))
        rows = [
            {"code": g, "name": names[g], "level": "grid"} | m
            for g, m in _groups(frame, frame["grid_code"]).items()
        ]
    elif by == "workers":
        held = frame[frame["assignee_id"].notna()]
        info = held.drop_duplicates("assignee_id").set_index("assignee_id")
        rows = [
            {
                "code": str(int(s)),
                "staff_id": int(s),
                "name": info.at[s, "staff_name"],
                "role": info.at[s, "staff_role"],
                "grid": info.at[s, "grid_code"],
                "level": "worker",
            }
            | m
            for s, m in _groups(held, held["assignee_id"]).items()
        ]
    else:  # departments
        sent = frame[frame["department_id"].notna()]
        info = sent.drop_duplicates("department_id").set_index("department_id")
        rows = [
            {
                "code": info.at[d, "department_code"],
                "name": info.at[d, "department_name"],
                "level": "department",
            }
            | m
            for d, m in _groups(sent, sent["department_id"]).items()
        ]
    return rank(rows)


def unit_frame(
    conn: Connection,
    code: str,
    start: dt.datetime,
    end: dt.datetime,
    config: IntakeConfig | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """A unit (as get_unit reads it) and its due cases in the period."""
    unit = get_unit(conn, code)
    prefix = code_prefix(unit["code"])
    config = config or IntakeConfig()
    return unit, due_cases(conn, prefix, start, end, config.calendar_for(prefix))


def scores_of(
    conn: Connection,
    code: str,
    start: dt.datetime,
    end: dt.datetime,
    by: str = "children",
    config: IntakeConfig | None = None,
) -> dict[str, Any]:
    """A unit's measures and its rows (see rows_by), ranked.

    No access check: callers decide who may see which grouping (workers are named people).
    """
    if by not in BY:
        raise InvalidReport(f"by={by!r} is not one of {', '.join(BY)}")
    unit, frame = unit_frame(conn, code, start, end, config)
    return {
        "unit": {"code": unit["code"], "name": unit["name"], "level": unit["level"]}
        | measures(frame),
        "start": start,
        "end": end,
        "by": by,
        "definition": DEFINITIONS,
        "children": rows_by(conn, unit, frame, by),
    }


# Who may see scores by named worker: the centers and grid staff who may read the register.
WORKER_READERS = REGISTER_READERS


def unit_scores(
    conn: Connection,
    code: str,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    *,
    by: str = "children",
    who: Principal | None = None,
    config: IntakeConfig | None = None,
) -> dict[str, Any]:
    """A unit's scores and its children's (or grids', workers', departments'), best first.

    Aggregates of units, grids and departments are public; rows naming workers are for
    signed-in staff whose scope covers the unit.
    """
    start, end = period(start, end)
    if by == "workers":
        if who is None:
            raise InvalidReport("scores by worker need to know who is asking")
        who.require(WORKER_READERS, "scores by worker (names of staff)")
        who.require_scope(code_prefix(get_unit(conn, code)["code"]), "scores by worker")
    return scores_of(conn, code, start, end, by=by, config=config)


def unit_triage(
    conn: Connection,
    code: str,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dict[str, Any]:
    """三事分流 counts of a unit and each unit under it for a period (default the last 30 days)."""
    start, end = period(start, end)
    unit = get_unit(conn, code)
    kids = unit_children(conn, unit["code"])
    pairs = [(unit["code"], code_prefix(unit["code"]))] + [
        (k["code"], code_prefix(k["code"])) for k in kids
    ]
    got = triage.triage_counts(conn, pairs, start, end)
    return {
        "unit": {"code": unit["code"], "name": unit["name"], "level": unit["level"]}
        | got[unit["code"]],
        "start": start,
        "end": end,
        "definition": "cases received (reported) in [start, end) by their class; supporters "
        "(duplicates) and cancelled reports are not cases",
        "classes": triage.describe(),
        "children": [
            {"code": k["code"], "name": k["name"], "level": k["level"]} | got[k["code"]]
            for k in kids
        ],
    }
