"""The center's wall as a dashboard (一图统管): cases that change, figures, trends and mixes.

The wall downloads its cases once and then asks only for what changed (`cases(since=...)`):
the version is a transaction-id watermark (see sql/mapdata/wall_version.sql), so a poll with
nothing new costs a few dozen bytes, and an event from the server (server-sent events) can
simply trigger the same request. Figures, trends and the mix by category and by 三事 class are
small aggregates fetched when the filters change and every few minutes.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import Connection

from gisgrid import reports, sql
from gisgrid.access import Principal
from gisgrid.divisions import unit_code, unit_prefix
from gisgrid.errors import InvalidCode
from gisgrid.mapdata.layers import staff_feature
from gisgrid.reports import ALARM_CODES, CATEGORIES, STEPS, Family, category

# What the wall shows: open cases, and cases fed back that the center must verify and close.
WALL_STATUSES = ("submitted", "registered", "dispatched", "in_progress", "resolved")
MAX_CASES = 20000
PERIODS = (1, 7, 30, 90)
TREND_DAYS = 30


def categories_of(choice: str | None) -> list[str] | None:
    """Category codes for a filter: None (all), a family (governance, event, component) or
    a category code."""
    if not choice:
        return None
    if choice in {f.value for f in Family}:
        return [c.code for c in CATEGORIES if c.family == choice]
    return [category(choice).code]


def version(conn: Connection) -> tuple[str, dt.datetime]:
    """The watermark to ask `since` next time, and the database's clock."""
    row = sql.first(conn, "mapdata/wall_version")
    assert row is not None
    return str(row["version"]), row["now"]


def cases(
    conn: Connection, unit: str, since: str | None = None, limit: int = MAX_CASES
) -> dict[str, Any]:
    """The wall's cases of a unit, compact: all of them, or those written since a version.

    Each case: id, c (category), s (status), st (stage of the loop: collected, checked, ...),
    g (grid code), t / dsp / d / sd (reported, dispatched, due, the stage's own limit: epoch
    seconds; a report waiting for its on-site check has no due time yet, only sd), sv (times
    supervised), h (handler level), e (escalations), a (alarm: emergency or safety), gen
    (GENERATED demo data), x, y.
    """
    if since is not None and not since.isdigit():
        raise InvalidCode(f"since={since!r} is not a version this service gave (digits)")
    stamp, now = version(conn)
    rows = sql.rows(conn, "mapdata/wall_cases", prefix=unit_prefix(unit), since=since, limit=limit)
    return {
        "version": stamp,
        "now": now.isoformat(),
        "full": since is None,
        "truncated": len(rows) == limit,
        "cases": [
            {
                "id": r["id"],
                "c": r["category"],
                "s": r["status"],
                "st": r["stage"],
                "g": r["grid_code"],
                "t": r["reported"],
                "dsp": r["dispatched"],
                "d": r["due"],
                "sd": r["stage_due"],
                "sv": r["supervised"],
                "h": r["handler_level"],
                "e": r["escalations"],
                "a": r["category"] in ALARM_CODES,
                "gen": r["generated"],
                "x": r["lon"],
                "y": r["lat"],
            }
            for r in rows
        ],
    }


def staff_moved(conn: Connection, unit: str, after: dt.datetime) -> dict[str, Any]:
    """Staff whose latest position is newer than `after` (the wall's last look, less a margin)."""
    rows = sql.rows(
        conn, "mapdata/map_staff", prefix=unit_prefix(unit), max_age_h=None, after=after
    )
    return {
        "type": "FeatureCollection",
        "features": [staff_feature(r) for r in rows],
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def dashboard(
    conn: Connection,
    unit: str,
    days: int = 30,
    choice: str | None = None,
    *,
    ranked: str | None = None,
) -> dict[str, Any]:
    """Headline figures, the 30-day trend and the mix by category and by 三事 class; with
    `ranked`, the period's on-time closure and satisfaction of the units under that unit (the
    wall ranks the units under its own unit whatever town the figures are filtered to)."""
    if days not in PERIODS:
        raise InvalidCode(f"days={days} is not one of {list(PERIODS)}")
    prefix, cats = unit_prefix(unit), categories_of(choice)
    f = sql.first(
        conn,
        "mapdata/wall_figures",
        prefix=prefix,
        categories=cats,
        alarm=sorted(ALARM_CODES),
        days=days,
    )
    assert f is not None
    trend = sql.rows(conn, "mapdata/wall_trend", prefix=prefix, categories=cats, days=TREND_DAYS)
    mix = sql.rows(conn, "mapdata/wall_mix", prefix=prefix, categories=cats, days=days)
    triage: Counter[str] = Counter()
    for r in mix:
        triage[category(r["category"]).triage.value] += int(r["n"])
    return {
        "unit": unit,
        "days": days,
        "category": choice,
        "figures": {
            "open": int(f["open"]),
            "new_today": int(f["new_today"]),
            "overdue": int(f["overdue"]),
            "to_verify": int(f["to_verify"]),
            "alarm": int(f["alarm"]),
            "due": int(f["due"]),
            "on_time_rate": _rate(int(f["on_time"]), int(f["due"])),
            "closure_rate": _rate(int(f["closed"]), int(f["due"])),
            "satisfaction": _rate(int(f["satisfied"]), int(f["evaluated"])),
            "evaluated": int(f["evaluated"]),
        },
        "trend": [
            {
                "day": r["day"].isoformat(),
                "received": int(r["received"]),
                "closed": int(r["closed"]),
            }
            for r in trend
        ],
        "by_category": [{"code": r["category"], "n": int(r["n"])} for r in mix],
        "by_triage": [{"class": k, "n": triage[k]} for k in ("public", "collective", "private")],
        "units": _unit_scores(conn, ranked, days) if ranked else [],
    }


def _unit_scores(conn: Connection, unit: str, days: int) -> list[dict[str, Any]]:
    kids = children(conn, unit_code(unit))
    scores = period_scores(conn, [k["code"] for k in kids], days)
    return [
        {
            "code": k["code"],
            "on_time_rate": scores[k["code"]]["on_time_rate"],
            "due": scores[k["code"]]["due"],
            "satisfaction": scores[k["code"]]["satisfaction"],
        }
        for k in kids
    ]


def period_scores(conn: Connection, codes: list[str], days: int) -> dict[str, dict[str, Any]]:
    """On-time closure and satisfaction of units over the last `days` (the ranking's columns)."""
    end = dt.datetime.now(dt.UTC)
    start = end - dt.timedelta(days=days)
    return reports.closure_scores(conn, [(c, reports.code_prefix(c)) for c in codes], start, end)


def children(conn: Connection, unit: str) -> list[dict[str, Any]]:
    """The units under a unit with their boxes (the wall's town or village filter)."""
    rows = sql.rows(conn, "mapdata/wall_children", code=unit)
    return [
        {
            "code": r["code"],
            "name": r["name"],
            "level": r["level"],
            "bbox": [r["minx"], r["miny"], r["maxx"], r["maxy"]],
        }
        for r in rows
    ]


def reassign_choices(conn: Connection, who: Principal, report_id: int) -> list[dict[str, Any]]:
    """Grid workers on duty who could take a case over (改派), for an operator in scope."""
    who.require(STEPS["reassign"].roles, "reassign (改派)")
    rows = sql.rows(conn, "mapdata/wall_reassign_staff", report=report_id, scope=who.scope)
    return [dict(r) for r in rows]
