"""The figures a center is judged by: closure rate (结案率) and on-time closure rate (按期结案率).

For the reports that fell due in a period: closure rate = closed / due, on-time closure rate =
closed by the time limit / due (one published month: 972 due, 911 closed = 93.72%, 737 on
time = 75.82%), and the call-back satisfaction share. Computed for a unit and each unit under
it, so towns and villages can be ranked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.divisions import get_unit, unit_children, unit_prefix
from gisgrid.errors import InvalidPeriod

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
    if not units:
        return {}
    rows = sql.execute(
        conn,
        "reports/unit_scores",
        codes=[c for c, _ in units],
        prefixes=[p for _, p in units],
        start=start,
        end=end,
    ).mappings()
    out = {}
    for r in rows:
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


def unit_scores(
    conn: Connection, code: str, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> dict[str, Any]:
    """A unit's scores and its children's, best on-time rate first."""
    start, end = period(start, end)
    unit = get_unit(conn, code)
    kids = unit_children(conn, unit["code"])
    pairs = [(unit["code"], code_prefix(unit["code"]))] + [
        (k["code"], code_prefix(k["code"])) for k in kids
    ]
    got = closure_scores(conn, pairs, start, end)
    children = [
        {"code": k["code"], "name": k["name"], "level": k["level"]} | got[k["code"]] for k in kids
    ]
    # Ranked as the assessment sheets weigh them: on-time closure first, then closure.
    children.sort(
        key=lambda c: (-(c["on_time_rate"] or 0.0), -(c["closure_rate"] or 0.0), c["code"])
    )
    for i, c in enumerate(children, 1):
        c["rank"] = i
    return {
        "unit": {"code": unit["code"], "name": unit["name"], "level": unit["level"]}
        | got[unit["code"]],
        "start": start,
        "end": end,
        "definition": (
            "reports that fell due in [start, end), duplicates and cancelled reports excluded; "
            "closure_rate = closed / due; on_time_rate = closed by the time limit / due; "
            "satisfaction = satisfied call-backs / call-backs"
        ),
        "children": children,
    }
