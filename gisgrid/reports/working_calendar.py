"""Working calendar (工作时间): when a time limit counted in working hours or days runs out.

The clock starts at dispatch (派遣). Limits given in working hours run only inside the working
periods of working days (default Mon-Fri 08:30-12:00 and 14:00-17:30, China time); limits given in
whole working days land at the same working moment N working days later, so "5 working days" means
five working days whatever the length of a working day. Public holidays and the weekend days that
are worked instead (调休) come from one file per county (data/calendars/<county>.json, the State
Council's notices), with the GISGRID_WORK_* settings added on top as an override.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from gisgrid.errors import CalendarError
from gisgrid.settings import PROJECT_DIR

DEFAULT_PERIODS = "08:30-12:00,14:00-17:30"
DEFAULT_TZ = "Asia/Shanghai"
CALENDAR_DIR = PROJECT_DIR / "data" / "calendars"


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

    def period_end(self, at: dt.datetime, closed: bool = False) -> dt.datetime | None:
        """The end of the working period `at` lies in ([begin, end), or (begin, end] if
        `closed`), or None outside working time."""
        local = at.astimezone(ZoneInfo(self.tz))
        for a, b in self._spans(local.date()):
            if (a < local <= b) if closed else (a <= local < b):
                return b
        return None

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

    def spans(self, start: dt.datetime, end: dt.datetime) -> tuple[np.ndarray, np.ndarray]:
        """Working periods touching [start, end] as (starts, ends) in epoch seconds, in order."""
        zone = ZoneInfo(self.tz)
        day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        starts, ends = [], []
        while day <= last:
            for a, b in self._spans(day):
                starts.append(a.timestamp())
                ends.append(b.timestamp())
            day += dt.timedelta(days=1)
        return np.array(starts, dtype=float), np.array(ends, dtype=float)

    def working_hours_between(self, begin: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Working hours from each `begin` to its `end` (epoch seconds; NaN in, NaN out).

        Vectorised: the working time elapsed up to a moment is a running sum over the periods,
        found by binary search, so a year of cases costs two searchsorted calls.
        """
        begin, end = np.asarray(begin, dtype=float), np.asarray(end, dtype=float)
        known = ~(np.isnan(begin) | np.isnan(end))
        out = np.full(begin.shape, np.nan)
        if not known.any():
            return out
        lo, hi = np.nanmin(begin[known]), np.nanmax(end[known])
        starts, ends = self.spans(
            dt.datetime.fromtimestamp(lo - 86400, dt.UTC), dt.datetime.fromtimestamp(hi, dt.UTC)
        )
        if not len(starts):
            out[known] = 0.0
            return out
        before = np.concatenate([[0.0], np.cumsum(ends - starts)])

        def elapsed(t: np.ndarray) -> np.ndarray:
            i = np.searchsorted(starts, t, side="right") - 1
            j = np.clip(i, 0, len(starts) - 1)
            inside = np.clip(t - starts[j], 0.0, ends[j] - starts[j])
            return np.where(i < 0, 0.0, before[j] + inside)

        out[known] = np.maximum(elapsed(end[known]) - elapsed(begin[known]), 0.0) / 3600.0
        return out


class DueMemo:
    """A time limit's due time as a function of its start on one calendar, remembered exactly.

    `due(start)` must count working time on `calendar` (working hours, or working days at the
    same working moment). Inside a working period such a due time moves with its start, second
    for second, until the start leaves its period or the due time leaves its own; while the start
    waits outside working time the due time stays put until the next period begins. So one walk
    of the calendar answers every start until then: reports come in many a second, and the walk
    costs tens of microseconds per calendar and limit (issue 18). Answers are in UTC.
    """

    def __init__(self, calendar: WorkingCalendar, due: Callable[[dt.datetime], dt.datetime]):
        self.calendar = calendar
        self.due = due
        # (start, due at start, valid until, whether the due time moves with the start)
        self._last: tuple[dt.datetime, dt.datetime, dt.datetime, bool] | None = None

    def __call__(self, start: dt.datetime) -> dt.datetime:
        """`due(start)`, without walking the calendar when the last answer still holds."""
        last = self._last
        if last is not None and last[0] <= start < last[2]:
            return last[1] + (start - last[0]) if last[3] else last[1]
        answer = self.due(start).astimezone(dt.UTC)
        begin = self.calendar.add_working_hours(start, 0)
        if begin > start:  # off work: every start until the next period gets the same answer
            self._last = (start, answer, begin, False)
            return answer
        end = self.calendar.period_end(start)
        answer_end = self.calendar.period_end(answer, closed=True)
        if end is not None and answer_end is not None:
            self._last = (start, answer, start + min(end - start, answer_end - answer), True)
        else:
            self._last = None
        return answer


@dataclass(frozen=True)
class CountyCalendar:
    """What a county's file says: its days off and the weekend days worked (调休)."""

    county: str
    name: str
    years: tuple[int, ...]
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]


def read_county_file(path: Path) -> CountyCalendar:
    """One data/calendars/<county>.json, checked: CalendarError names the file and the day."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        holidays = frozenset(dt.date.fromisoformat(d) for d in doc["holidays"])
        workdays = frozenset(dt.date.fromisoformat(d) for d in doc["workdays"])
        county, years = str(doc["county"]), tuple(int(y) for y in doc["years"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CalendarError(
            f"{path} is not a calendar file ({type(exc).__name__}: {exc}); it needs county, "
            "years, holidays and workdays (ISO dates), see data/calendars/README.md"
        ) from None
    if len(county) != 6 or not county.isdigit() or path.stem != county:
        raise CalendarError(f"{path}: county={county!r} must be the 6-digit code in its name")
    weekday_work = sorted(d for d in workdays if d.weekday() < 5)
    if weekday_work:
        raise CalendarError(
            f"{path}: workdays lists {weekday_work[0]}, a weekday; list only weekend days worked"
        )
    both = sorted(holidays & workdays)
    if both:
        raise CalendarError(f"{path}: {both[0]} is both a holiday and a worked day")
    return CountyCalendar(county, str(doc.get("name", "")), years, holidays, workdays)


@cache
def _county_files(directory: Path) -> tuple[CountyCalendar, ...]:
    if not directory.is_dir():
        return ()
    return tuple(read_county_file(p) for p in sorted(directory.glob("[0-9]*.json")))


@dataclass(frozen=True)
class Calendars:
    """The working calendar of each county with a file, and the one for every other county."""

    default: WorkingCalendar = field(default_factory=WorkingCalendar)
    counties: Mapping[str, WorkingCalendar] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        directory: Path = CALENDAR_DIR,
        periods: str = DEFAULT_PERIODS,
        holidays: Iterable[dt.date] = (),
        extra_workdays: Iterable[dt.date] = (),
        tz: str = DEFAULT_TZ,
    ) -> Calendars:
        """Every county file in `directory`, each with the settings' days added on top."""
        extra_off, extra_on = frozenset(holidays), frozenset(extra_workdays)
        base = WorkingCalendar.from_settings(periods, extra_off, extra_on, tz)
        counties = {
            f.county: WorkingCalendar(
                base.periods,
                base.weekdays,
                (f.holidays - extra_on) | extra_off,
                (f.workdays - extra_off) | extra_on,
                tz,
            )
            for f in _county_files(Path(directory))
        }
        return cls(base, counties)

    def for_code(self, code: str) -> WorkingCalendar:
        """The calendar of the county a unit or grid code lies in."""
        return self.counties.get(code[:6], self.default)
