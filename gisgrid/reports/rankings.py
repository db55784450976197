"""Red and black lists (红黑榜): each month, the best and the worst, by rules a county sets.

Jiande publishes monthly comparisons (晾晒) of towns, villages, workers and departments. A rule
per level says which measure ranks them (default the on-time closure rate, 按期结案率, as the
assessment sheets weigh it), how many go on the red list (best) and the black list (worst), and
how many cases a unit needs to be ranked at all, so a village with one case is not "best" by
luck. GISGRID_RED_BLACK_RULES overrides them per level:
`{"villages": {"measure": "solved_rate", "top": 5, "bottom": 5, "min_cases": 8}}`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from gisgrid.access import REGISTER_READERS, Principal
from gisgrid.errors import InvalidPeriod, InvalidReport
from gisgrid.reports.intake import IntakeConfig
from gisgrid.reports.scores import code_prefix, rows_by, unit_frame

CN = ZoneInfo("Asia/Shanghai")
LEVELS = ("towns", "villages", "workers", "departments")
LEVEL_LABELS = {
    "towns": "乡镇（街道）",
    "villages": "村（社区）",
    "workers": "网格员",
    "departments": "职能部门",
}
# What each measure is called, and whether more of it is better.
RANKABLE = {
    "on_time_rate": ("按期结案率", True),
    "closure_rate": ("结案率", True),
    "solved_rate": ("解决率", True),
    "satisfaction": ("满意率", True),
    "reopen_rate": ("重开率", False),
    "mean_hours": ("平均办理时长", False),
}


@dataclass(frozen=True)
class RankRule:
    """How one level is put on the red and black lists."""

    level: str
    measure: str = "on_time_rate"
    top: int = 3
    bottom: int = 3
    min_cases: int = 5

    @property
    def label(self) -> str:
        """The measure's Chinese name."""
        return RANKABLE[self.measure][0]


DEFAULT_RULES = {
    "towns": RankRule("towns", min_cases=10),
    "villages": RankRule("villages", min_cases=5),
    "workers": RankRule("workers", min_cases=3),
    "departments": RankRule("departments", min_cases=3),
}


def rules_from(overrides: Mapping[str, Mapping[str, Any]] | None) -> dict[str, RankRule]:
    """The default rules with GISGRID_RED_BLACK_RULES applied, checked."""
    rules = dict(DEFAULT_RULES)
    for level, fields in (overrides or {}).items():
        if level not in rules:
            raise InvalidReport(
                f"red/black rules name level {level!r}; levels: {', '.join(LEVELS)}"
            )
        unknown = set(fields) - {"measure", "top", "bottom", "min_cases"}
        if unknown:
            raise InvalidReport(
                f"red/black rule for {level} has {sorted(unknown)}; give measure, top, bottom, "
                "min_cases"
            )
        rule = replace(
            rules[level],
            **{k: (str(v) if k == "measure" else int(v)) for k, v in fields.items()},  # type: ignore[arg-type]
        )
        if rule.measure not in RANKABLE:
            raise InvalidReport(
                f"red/black rule for {level}: measure={rule.measure!r}; one of "
                f"{', '.join(RANKABLE)}"
            )
        if rule.top < 0 or rule.bottom < 0 or rule.min_cases < 1:
            raise InvalidReport(
                f"red/black rule for {level}: top and bottom must be >= 0 and min_cases >= 1"
            )
        rules[level] = rule
    return rules


def month_period(
    month: str | None, now: dt.datetime | None = None
) -> tuple[str, dt.datetime, dt.datetime, bool]:
    """'2024-05' -> ('2024-05', 1 May 00:00 China time, 1 June 00:00, complete?).

    No month: the last complete one. A month not over yet ends now and is not complete.
    """
    now = now or dt.datetime.now(dt.UTC)
    local = now.astimezone(CN)
    if month is None:
        first = local.date().replace(day=1)
        prev = (first - dt.timedelta(days=1)).replace(day=1)
        month = f"{prev.year:04d}-{prev.month:02d}"
    try:
        year, mon = (int(x) for x in month.split("-"))
        start = dt.datetime(year, mon, 1, tzinfo=CN)
    except ValueError:
        raise InvalidPeriod(f"month={month!r} is not a month like 2024-05") from None
    end = dt.datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=CN)
    if start >= now:
        raise InvalidPeriod(f"month={month} has not begun yet")
    complete = end <= now
    return f"{year:04d}-{mon:02d}", start, min(end, now), complete


def levels_for(unit_level: str) -> tuple[str, ...]:
    """Which lists a unit has: a county ranks towns and villages, a town its villages."""
    return {
        "county": LEVELS,
        "town": ("villages", "workers", "departments"),
        "village": ("workers", "departments"),
    }.get(unit_level, ("workers",))


def pick(rows: list[dict[str, Any]], rule: RankRule) -> dict[str, Any]:
    """The red and black lists of one level from its rows (each with the rule's measure)."""
    better = RANKABLE[rule.measure][1]
    eligible = [r for r in rows if r["due"] >= rule.min_cases and r[rule.measure] is not None]
    # Best first; ties by closure rate, then more cases, then code, so the lists are stable.
    eligible.sort(
        key=lambda r: (
            -r[rule.measure] if better else r[rule.measure],
            -(r["closure_rate"] or 0.0),
            -r["due"],
            r["code"],
        )
    )
    red = eligible[: rule.top]
    rest = eligible[len(red) :]
    black = list(reversed(rest[-rule.bottom :])) if rule.bottom else []

    def entry(r: dict[str, Any], place: int) -> dict[str, Any]:
        return {
            "place": place,
            "code": r["code"],
            "name": r["name"],
            "value": r[rule.measure],
            "due": r["due"],
            "closure_rate": r["closure_rate"],
            "on_time_rate": r["on_time_rate"],
        }

    return {
        "rule": {
            "measure": rule.measure,
            "label": rule.label,
            "top": rule.top,
            "bottom": rule.bottom,
            "min_cases": rule.min_cases,
            "higher_is_better": better,
        },
        "label": LEVEL_LABELS[rule.level],
        "ranked": len(eligible),
        "too_few_cases": len(rows) - len(eligible),
        "red": [entry(r, i) for i, r in enumerate(red, 1)],
        "black": [entry(r, i) for i, r in enumerate(black, 1)],
    }


class UnitMonth(NamedTuple):
    """A unit's due cases of a month (the red and black lists and the bulletin count them)."""

    unit: dict[str, Any]
    frame: Any
    month: str
    start: dt.datetime
    end: dt.datetime
    complete: bool


def unit_month(
    conn: Connection,
    who: Principal,
    code: str,
    month: str | None,
    config: IntakeConfig,
    now: dt.datetime | None,
    what: tuple[str, str],
) -> UnitMonth:
    """A unit's month (default: the last complete one) for staff in its scope; `what` is the
    page asking and its Chinese name, for the refusals."""
    who.require(REGISTER_READERS, f"{what[0]} ({what[1]})")
    month, start, end, complete = month_period(month, now)
    unit, frame = unit_frame(conn, code, start, end, config)
    who.require_scope(code_prefix(unit["code"]), what[0])
    return UnitMonth(unit, frame, month, start, end, complete)


def red_black(
    conn: Connection,
    who: Principal,
    code: str,
    month: str | None = None,
    config: IntakeConfig | None = None,
    rules: Mapping[str, RankRule] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """A unit's red and black lists for a month (workers are named: signed-in staff only)."""
    config = config or IntakeConfig()
    m = unit_month(conn, who, code, month, config, now, ("the red and black lists", "红黑榜"))
    return lists_of(conn, m, rules or rules_from(config.red_black_rules))


def lists_of(
    conn: Connection, m: UnitMonth, rules: Mapping[str, RankRule] | None = None
) -> dict[str, Any]:
    """The lists from a unit's due cases of the month (shared with the bulletin)."""
    rules = rules or DEFAULT_RULES
    unit = m.unit
    lists = {
        level: pick(rows_by(conn, unit, m.frame, level), rules[level])
        for level in levels_for(unit["level"])
    }
    return {
        "unit": {"code": unit["code"], "name": unit["name"], "level": unit["level"]},
        "month": m.month,
        "start": m.start,
        "end": m.end,
        "complete": m.complete,
        "lists": lists,
    }
