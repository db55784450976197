"""三事分流: every case is classed when it is registered, and the class decides who holds it.

Longli's practice (DOMAIN.md): 自家事 (private affairs) go back to the household, with the grid
worker mediating; 大家事 (collective affairs) to the village council, which deliberates (村民议事);
公家事 (public affairs) up the government ladder: the town government first (the village committee
is self-governing, not government), which can whistle to a county department (吹哨). The class
defaults to the category's (gisgrid/reports/taxonomy.py) and may be changed with a reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping

from gisgrid import sql
from gisgrid.errors import InvalidReport
from gisgrid.reports.taxonomy import Triage, category


@dataclass(frozen=True)
class Route:
    """Where a class of case goes once registered."""

    triage: Triage
    label: str
    holder: str  # who holds it, in words
    level: str | None  # report.handler_level it takes; None: the grid's worker (a person)


ROUTES = {
    r.triage: r
    for r in (
        Route(Triage.private, "自家事", "the household, mediated by the grid worker", None),
        Route(Triage.collective, "大家事", "the village council (村民议事)", "village"),
        Route(Triage.public, "公家事", "the town government, then county departments", "town"),
    )
}
LABELS = {t.value: r.label for t, r in ROUTES.items()}


def check_class(value: str) -> Triage:
    """A triage class from its English or Chinese name; InvalidReport naming the choices."""
    for t, r in ROUTES.items():
        if value in (t.value, r.label):
            return t
    choices = ", ".join(f"{t.value} ({r.label})" for t, r in ROUTES.items())
    raise InvalidReport(f"triage={value!r} is not a class; choose {choices}")


def default_class(service_code: str) -> Triage:
    """The class a category's cases get unless someone changes it with a reason."""
    return category(service_code).triage


def choose_class(
    service_code: str, wanted: str | None, reason: str | None
) -> tuple[Triage, str | None]:
    """The class a case is registered with, and the reason when it is not the category's."""
    default = default_class(service_code)
    if wanted is None:
        return default, None
    chosen = check_class(wanted)
    if chosen != default and not (reason or "").strip():
        raise InvalidReport(
            f"{service_code} is {LABELS[default.value]} ({default.value}) by default; classing it "
            f"{LABELS[chosen.value]} ({chosen.value}) needs a reason"
        )
    return chosen, (reason or "").strip() or None if chosen != default else None


def unit_rows(
    conn: Connection,
    name: str,
    units: list[tuple[str, str]],
    start: dt.datetime,
    end: dt.datetime,
) -> Sequence[RowMapping]:
    """A row per unit of statement `name` over [start, end), for (code, grid prefix) pairs."""
    if not units:
        return []
    codes, prefixes = [c for c, _ in units], [p for _, p in units]
    return sql.rows(conn, name, codes=codes, prefixes=prefixes, start=start, end=end)


def triage_counts(
    conn: Connection, units: list[tuple[str, str]], start: dt.datetime, end: dt.datetime
) -> dict[str, dict[str, int]]:
    """Cases received in [start, end) by class, per unit code, for (code, grid prefix) pairs."""
    rows = unit_rows(conn, "reports/triage_counts", units, start, end)
    return {
        r["code"]: {t.value: int(r[t.value]) for t in Triage} | {"total": int(r["total"])}
        for r in rows
    }


def describe() -> list[dict[str, Any]]:
    """The classes and where each goes, for the API and the bulletin."""
    return [
        {"triage": t.value, "label": r.label, "goes_to": r.holder, "handler_level": r.level}
        for t, r in ROUTES.items()
    ]
