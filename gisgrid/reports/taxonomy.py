"""Report categories: comprehensive governance (GB/T 31000 "9+X") and city management.

Each category carries its triage class (三事分流: public / collective / private affairs) and a
default time limit counted from dispatch (派遣), in working hours. Limits follow the published
city-management practice where one exists (exposed garbage 4 h, dirty street 2 h, standing water
4 h, green space 5 working days, illegal structure: stop work in 4 h); the rest are defaults a
county is expected to tune.

Emergencies and safety cases (突发事件, geological and fire hazards, public-security hazards,
campus safety) do not wait for office hours: their limit is an immediate response counted on a
24-hour clock (`round_the_clock`), and the wall raises an alarm for them (`alarm`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from gisgrid.errors import NotFound

if TYPE_CHECKING:
    from gisgrid.reports.working_calendar import WorkingCalendar

WORKING_DAY_HOURS = 8


class Triage(StrEnum):
    """三事分流: who owns the problem."""

    public = "public"  # 公家事: government departments
    collective = "collective"  # 大家事: the village/community collectively
    private = "private"  # 自家事: the household itself, with help


class Family(StrEnum):
    """Which standard a category comes from."""

    governance = "governance"  # 综治, GB/T 31000-2015
    component = "component"  # 城管部件, CJ/T 214 / CJJ/T 106
    event = "event"  # 城管事件


@dataclass(frozen=True)
class Category:
    """A report category (a service, in Open311 terms)."""

    code: str
    name: str
    name_zh: str
    family: Family
    group: str
    triage: Triage
    limit_hours: int  # working hours from dispatch (clock hours when round_the_clock)
    # Emergencies and safety: an immediate response on a 24-hour clock, not office hours.
    round_the_clock: bool = False

    @property
    def alarm(self) -> bool:
        """Whether the wall sounds an alarm for a case of this category (emergency or safety)."""
        return self.round_the_clock

    @property
    def limit_label(self) -> str:
        """The time limit as people say it: '4 working hours', '5 working days', '1 hour'."""
        if self.round_the_clock:
            return f"{self.limit_hours} hour{'s' if self.limit_hours != 1 else ''}, day and night"
        if self.limit_hours % WORKING_DAY_HOURS == 0 and self.limit_hours >= WORKING_DAY_HOURS:
            return f"{self.limit_hours // WORKING_DAY_HOURS} working days"
        return f"{self.limit_hours} working hours"

    def due(self, dispatched_at: dt.datetime, calendar: WorkingCalendar) -> dt.datetime:
        """When a case of this category dispatched at `dispatched_at` falls due.

        Round-the-clock categories count plain hours from dispatch, night and weekend
        included; the rest count working time on `calendar`.
        """
        if self.round_the_clock:
            return dispatched_at + dt.timedelta(hours=self.limit_hours)
        return calendar.due(dispatched_at, self.limit_hours, WORKING_DAY_HOURS)


_D = WORKING_DAY_HOURS
G, C, E = Family.governance, Family.component, Family.event
PUB, COL, PRI = Triage.public, Triage.collective, Triage.private

CATEGORIES: tuple[Category, ...] = (
    # GB/T 31000-2015 comprehensive governance, the nine classes + local extension.
    Category(
        "ZZ01", "Grassroots organisation affairs", "基层组织建设", G, "organisations", COL, 5 * _D
    ),
    Category("ZZ02", "Actual population change", "实有人口变动", G, "population", PRI, 3 * _D),
    Category(
        "ZZ03", "Special groups follow-up", "特殊人群服务管理", G, "special groups", PUB, 2 * _D
    ),
    Category("ZZ04", "Key youth care", "重点青少年关爱", G, "key youth", PUB, 3 * _D),
    Category("ZZ05", "Non-public organisation issue", "两新组织", G, "organisations", PUB, 5 * _D),
    Category("ZZ06", "Public security hazard", "治安隐患", G, "public security", PUB, 2, True),
    Category("ZZ07", "Neighbour dispute", "邻里纠纷", G, "disputes", PRI, 2 * _D),
    Category("ZZ08", "Land or property dispute", "土地山林权属纠纷", G, "disputes", COL, 5 * _D),
    Category("ZZ09", "Labour or wage dispute", "劳资纠纷", G, "disputes", PUB, 3 * _D),
    Category("ZZ10", "Campus surroundings safety", "校园周边安全", G, "campus", PUB, 2, True),
    Category("ZZ11", "Road and line protection", "护路护线", G, "road and line", PUB, 1 * _D),
    Category("ZZ12", "Fire hazard", "消防安全隐患", G, "public security", PUB, 1, True),
    Category("ZZ13", "Geological hazard sign", "地质灾害隐患", G, "emergencies", PUB, 1, True),
    Category("ZZ14", "Care visit needed", "困难群众帮扶", G, "special groups", COL, 2 * _D),
    # City-management components (部件): owner first, then locality.
    Category("BJ01", "Damaged manhole cover", "井盖破损", C, "public facilities", PUB, 4),
    Category("BJ02", "Broken street light", "路灯损坏", C, "public facilities", PUB, 1 * _D),
    Category("BJ03", "Damaged road surface", "道路破损", C, "roads and traffic", PUB, 3 * _D),
    Category("BJ04", "Damaged traffic sign", "交通标志损坏", C, "roads and traffic", PUB, 2 * _D),
    Category("BJ05", "Damaged green space", "绿地损坏", C, "green space", COL, 5 * _D),
    Category("BJ06", "Full or broken bin", "垃圾箱满溢破损", C, "city appearance", COL, 4),
    # City-management events (事件): locality first, then owner.
    Category("SJ01", "Exposed garbage", "暴露垃圾", E, "city appearance", COL, 4),
    Category("SJ02", "Dirty street", "道路不洁", E, "city appearance", COL, 2),
    Category("SJ03", "Standing water", "道路积水", E, "city appearance", PUB, 4),
    Category("SJ04", "Illegal advertising", "违规广告", E, "advertising", PUB, 1 * _D),
    Category("SJ05", "Illegal construction", "违法建设", E, "construction", PUB, 4),
    Category("SJ06", "Construction noise or dust", "施工扰民", E, "construction", PUB, 1 * _D),
    Category("SJ07", "Street vending obstruction", "占道经营", E, "street order", COL, 4),
    Category("SJ08", "Illegal parking", "违规停车", E, "street order", PUB, 2),
    Category(
        "SJ09", "Emergency: collapse, leak, flood", "突发事件", E, "emergencies", PUB, 1, True
    ),
    Category("SJ99", "Other", "其他", E, "other", COL, 3 * _D),
)

_BY_CODE = {c.code: c for c in CATEGORIES}
# Categories the wall raises an alarm for (emergencies and safety, on a 24-hour clock).
ALARM_CODES = frozenset(c.code for c in CATEGORIES if c.alarm)


def category(code: str) -> Category:
    """The category with this code, or NotFound listing a few valid ones."""
    try:
        return _BY_CODE[code]
    except KeyError:
        raise NotFound(
            f"category {code!r} does not exist; valid codes include "
            f"{', '.join(sorted(_BY_CODE)[:6])} ... (see /open311/v2/services.json)"
        ) from None


# Duplicate rules (radius in metres, window in hours) by group: a broken fixed thing is reported
# by many passers-by for days; a passing event for hours; a dispute or a household's affair is
# never "the same report" as a neighbour's, so those are off (radius 0). Settings override per code.
_DUPLICATE_BY_GROUP: dict[str, tuple[float, float]] = {
    "public facilities": (30.0, 7 * 24.0),
    "roads and traffic": (50.0, 7 * 24.0),
    "green space": (50.0, 7 * 24.0),
    "city appearance": (50.0, 24.0),
    "advertising": (50.0, 72.0),
    "construction": (100.0, 72.0),
    "street order": (50.0, 12.0),
    "emergencies": (200.0, 24.0),
    "public security": (100.0, 24.0),
    "campus": (200.0, 24.0),
    "road and line": (200.0, 72.0),
}


def duplicate_rule(
    code: str, overrides: dict[str, tuple[float, float]] | None = None
) -> tuple[float, float]:
    """(radius_m, window_hours) within which a report of this category duplicates an earlier one."""
    if overrides and code in overrides:
        radius, window = overrides[code]
        return float(radius), float(window)
    return _DUPLICATE_BY_GROUP.get(category(code).group, (0.0, 0.0))
