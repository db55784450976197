"""The monthly bulletin (通报): a unit's month as a center publishes it.

Everything in it comes from the same functions as the scores endpoint (gisgrid/reports/scores.py)
over the same cases, so its figures are the endpoint's for the same period: the unit's measures,
its children ranked, the departments whistled to, the 三事分流 mix of the month's intake, the
red and black lists (gisgrid/reports/rankings.py) and the shapes its map is drawn from. maps/
renders it as an A4 page and a PNG map; `bulletin_csv` gives the tables as CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import Principal
from gisgrid.reports.intake import IntakeConfig
from gisgrid.reports.rankings import lists_of, rules_from, unit_month
from gisgrid.reports.scores import DEFINITIONS, code_prefix, measures, rows_by
from gisgrid.reports.triage import triage_counts

# Degrees: about 50 m, finer than a printed county map shows.
MAP_TOLERANCE = 0.0005
CHILD_LABELS = {"county": "乡镇（街道）", "town": "村（社区）", "village": "网格"}


def monthly_bulletin(
    conn: Connection,
    who: Principal,
    code: str,
    month: str | None = None,
    config: IntakeConfig | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """A unit's bulletin for a month (default: the last complete one), for staff in scope."""
    config = config or IntakeConfig()
    m = unit_month(conn, who, code, month, config, now, ("the monthly bulletin", "通报"))
    unit, frame, month, start, end, _ = m
    prefix = code_prefix(unit["code"])
    children = rows_by(conn, unit, frame, "children")
    departments = rows_by(conn, unit, frame, "departments")
    pairs = [(unit["code"], prefix)] + [(c["code"], code_prefix(c["code"])) for c in children]
    mix = triage_counts(conn, pairs, start, end)
    lists = lists_of(conn, m, rules_from(config.red_black_rules))
    for c in children:
        c["triage"] = mix.get(c["code"])
    year, mon = month.split("-")
    generated = bool(frame["generated"].any()) if not frame.empty else False
    return {
        "title": f"{unit['name']}网格化服务管理工作通报",
        "issue": f"{int(year)}年{int(mon)}月",
        "month": month,
        "start": start,
        "end": end,
        "complete": m.complete,
        "unit": {"code": unit["code"], "name": unit["name"], "level": unit["level"]}
        | measures(frame)
        | {"triage": mix.get(unit["code"])},
        "children_label": CHILD_LABELS.get(unit["level"], "下级单位"),
        "children": children,
        "departments": departments,
        "red_black": lists["lists"],
        "definitions": DEFINITIONS,
        "generated": generated,
        "note": (
            "GENERATED demo data: the cases behind these figures are synthetic"
            if generated
            else None
        ),
        "map": _map(conn, unit, children, lists["lists"]),
    }


def _map(
    conn: Connection,
    unit: dict[str, Any],
    children: list[dict[str, Any]],
    lists: dict[str, Any],
) -> dict[str, Any]:
    """The unit's outline and its children's shapes with their on-time rate and list marks."""
    level = {"county": "towns", "town": "villages"}.get(unit["level"])
    marks: dict[str, str] = {}
    if level and level in lists:
        marks |= {e["code"]: "red" for e in lists[level]["red"]}
        marks |= {e["code"]: "black" for e in lists[level]["black"]}
    by_code = {c["code"]: c for c in children}
    shapes = sql.rows(conn, "reports/bulletin_map", code=unit["code"], tol=MAP_TOLERANCE)
    outline = sql.first(conn, "reports/bulletin_outline", code=unit["code"], tol=MAP_TOLERANCE)
    features = [
        {
            "type": "Feature",
            "geometry": s["geometry"],
            "properties": {
                "code": s["code"],
                "name": s["name"],
                "label_point": [s["label_lon"], s["label_lat"]],
                "due": by_code.get(s["code"], {}).get("due", 0),
                "on_time_rate": by_code.get(s["code"], {}).get("on_time_rate"),
                "list": marks.get(s["code"]),
            },
        }
        for s in shapes
    ]
    return {
        "bbox": [outline["minx"], outline["miny"], outline["maxx"], outline["maxy"]]
        if outline
        else None,
        "outline": {"type": "Feature", "geometry": outline["geometry"], "properties": {}}
        if outline
        else None,
        "children": {"type": "FeatureCollection", "features": features},
    }


CSV_COLUMNS = (
    "section",
    "rank",
    "code",
    "name",
    "due",
    "closed",
    "on_time",
    "solved",
    "overdue",
    "closure_rate",
    "on_time_rate",
    "solved_rate",
    "satisfaction",
    "reopen_rate",
    "mean_hours",
    "whistled",
    "responded_on_time_rate",
    "fed_back_on_time_rate",
)


def bulletin_csv(b: dict[str, Any]) -> str:
    """The bulletin's tables as one CSV (UTF-8 with BOM, so spreadsheet programs read Chinese).

    `section`: 总体 (the unit), 下级 (its children), 部门 (departments), 红榜/黑榜 per level.
    """
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)

    def row(section: str, r: dict[str, Any], rank: Any = "") -> None:
        w.writerow(
            [section, rank]
            + [
                "" if r.get(k) is None else r.get(k)
                for k in CSV_COLUMNS[2:]
            ]
        )  # fmt: skip

    row("总体", b["unit"])
    for c in b["children"]:
        row("下级", c, c["rank"])
    for d in b["departments"]:
        row("部门", d, d["rank"])
    for lists in b["red_black"].values():
        for kind, name in (("red", "红榜"), ("black", "黑榜")):
            for e in lists[kind]:
                row(f"{name}·{lists['label']}", e, e["place"])
    return out.getvalue()
