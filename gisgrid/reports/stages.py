"""The seven stages of a case (Longli): 收集 → 核查 → 分析 → 处置 → 上报 → 督办 → 反馈.

A report's `status` is the city-management workflow state Open311 and the maps read (submitted,
dispatched, in_progress, resolved, closed ...); its `stage` is where it is among the seven steps a
county is judged by, and `stage_due_at` when that stage must be over. Stages whose limit is the
case's own (handled: the category's time limit from dispatch) or a department's (escalated: its
报到 limit) take it from there; the others have limits of their own, in working hours
(GISGRID_STAGE_HOURS overrides them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gisgrid.errors import CalendarError


@dataclass(frozen=True)
class Stage:
    """One of the seven steps, what it means and its default time limit."""

    name: str
    label: str
    means: str
    hours: float | None  # working hours; None: the case's or the department's own limit


STAGES = {
    s.name: s
    for s in (
        Stage("collected", "收集", "received; the grid worker checks it on site (核查)", 2),
        Stage("checked", "核查", "found true on site; to be analysed, classed and registered", 2),
        Stage(
            "registered", "分析立案", "classed (三事分流) and dispatched; to be accepted (受理)", 2
        ),
        Stage("handled", "处置", "being handled, within the case's time limit", None),
        Stage("escalated", "上报", "gone up a level or whistled to a department (吹哨)", None),
        Stage("supervised", "督办", "chased by a center, which wants an answer", 8),
        Stage("fed_back", "反馈", "handled and fed back; to be verified and closed (核查结案)", 8),
    )
}
ORDER = tuple(STAGES)


def stage_hours(overrides: Mapping[str, float] | None, name: str) -> float:
    """The time limit of a stage that has one of its own, in working hours."""
    stage = STAGES[name]
    hours = (overrides or {}).get(name, stage.hours)
    if hours is None or hours <= 0:
        raise CalendarError(
            f"stage {name} ({stage.label}) has no limit of its own; stages with one: "
            f"{', '.join(n for n, s in STAGES.items() if s.hours is not None)}"
        )
    return float(hours)


def check_overrides(overrides: Mapping[str, float]) -> dict[str, float]:
    """GISGRID_STAGE_HOURS checked: known stages with a limit of their own, positive hours."""
    own = {n for n, s in STAGES.items() if s.hours is not None}
    for name, hours in overrides.items():
        if name not in own:
            raise CalendarError(
                f"GISGRID_STAGE_HOURS names {name!r}; stages with a limit of their own: "
                f"{', '.join(sorted(own))}"
            )
        if not float(hours) > 0:
            raise CalendarError(f"GISGRID_STAGE_HOURS[{name!r}] = {hours}; give positive hours")
    return {k: float(v) for k, v in overrides.items()}
