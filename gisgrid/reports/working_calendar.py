"""Working calendar (工作时间): when a time limit counted in working hours or days runs out.

The clock starts at dispatch (派遣). Limits given in working hours run only inside the working
periods of working days (default Mon-Fri 08:30-12:00 and 14:00-17:30, China time); limits given in
whole working days land at the same working moment N working days later, so "5 working days" means
five working days whatever the length of a working day. Public holidays and the weekend days that
are worked instead (调休) are configurable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from gisgrid.errors import CalendarError

DEFAULT_PERIODS = "08:30-12:00,14:00-17:30"
DEFAULT_TZ = "Asia/Shanghai"


def parse_periods(spec: str) -> tuple[tuple[dt.time, dt.time], ...]:
    """'08:30-12:00,14:00-17:30' -> ((08:30, 12:00), (14:00, 17:30)), checked for order."""
    periods = []
    try:
        for part in spec.split(","):
            a, b = part.strip().split("-")
            periods.append((dt.time.fromisoformat(a.strip()), dt.time.fromisoformat(b.strip())))
    except ValueError:
        raise CalendarError(
            f"working periods {spec!r} are not like '08:30-12:00,14:00-17:30'"
        ) from None
    flat = [t for p in periods for t in p]
    if not periods or flat != sorted(flat) or any(a == b for a, b in periods):
        raise CalendarError(f"working periods {spec!r} must be non-empty, ordered and not overlap")
    return tuple(periods)


@dataclass(frozen=True)
class WorkingCalendar:
    """Working periods per day, working weekdays, holidays and worked weekend days."""

    periods: tuple[tuple[dt.time, dt.time], ...] = field(
        default_factory=lambda: parse_periods(DEFAULT_PERIODS)
    )
    weekdays: frozenset[int] = frozenset(range(5))  # Monday = 0
    holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()  # 调休: weekends worked
    tz: str = DEFAULT_TZ

    @classmethod
    def from_settings(
        cls,
        periods: str = DEFAULT_PERIODS,
        holidays: Iterable[dt.date] = (),
        extra_workdays: Iterable[dt.date] = (),
        tz: str = DEFAULT_TZ,
    ) -> WorkingCalendar:
        """A calendar from the GISGRID_WORK_* settings."""
        return cls(
            parse_periods(periods),
            frozenset(range(5)),
            frozenset(holidays),
            frozenset(extra_workdays),
            tz,
        )

    def is_workday(self, day: dt.date) -> bool:
        """True if people work on this date."""
        if day in self.extra_workdays:
            return True
        return day.weekday() in self.weekdays and day not in self.holidays

    def _spans(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        zone = ZoneInfo(self.tz)
        if not self.is_workday(day):
            return []
        return [
            (dt.datetime.combine(day, a, zone), dt.datetime.combine(day, b, zone))
            for a, b in self.periods
        ]

    def add_working_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The moment `hours` working hours after `start` (timezone-aware), in the calendar's tz."""
        if start.tzinfo is None:
            raise CalendarError(f"start={start.isoformat()} has no timezone")
        if hours < 0:
            raise CalendarError(f"hours={hours} is negative")
        left = dt.timedelta(hours=hours)
        now = start.astimezone(ZoneInfo(self.tz))
        day = now.date()
        # A year without a single working period means the calendar is misconfigured.
        for _ in range(366 + int(hours) * 2):
            for a, b in self._spans(day):
                if now >= b:
                    continue
                begin = max(now, a)
                if begin + left <= b:
                    return begin + left
                left -= b - begin
                now = b
            day += dt.timedelta(days=1)
        raise CalendarError("the working calendar has no working time within a year")

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """The same working moment `days` working days later (start moved into working time)."""
        begin = self.add_working_hours(start, 0)
        day = begin.date()
        for _ in range(days):
            day += dt.timedelta(days=1)
            while not self.is_workday(day):
                day += dt.timedelta(days=1)
        return dt.datetime.combine(day, begin.timetz())

    def due(self, dispatched_at: dt.datetime, limit_hours: int, hours_per_day: int) -> dt.datetime:
        """Due time of a limit counted from dispatch: whole days as days, the rest as hours."""
        if limit_hours >= hours_per_day and limit_hours % hours_per_day == 0:
            return self.add_working_days(dispatched_at, limit_hours // hours_per_day)
        return self.add_working_hours(dispatched_at, limit_hours)
