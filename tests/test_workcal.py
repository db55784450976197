"""The working calendar on hand-made cases: lunch breaks, weekends, holidays, 调休."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from gisgrid.errors import CalendarError
from gisgrid.reports.working_calendar import WorkingCalendar, parse_periods

CN = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()


def t(day: int, hh: int, mm: int = 0) -> dt.datetime:
    # 2026-11-20 is a Friday.
    return dt.datetime(2026, 11, day, hh, mm, tzinfo=CN)


def test_friday_afternoon_runs_into_monday() -> None:
    assert t(20, 16, 30).weekday() == 4
    assert CAL.add_working_hours(t(20, 16, 30), 4) == t(23, 11, 30)


def test_lunch_break_does_not_count() -> None:
    assert CAL.add_working_hours(t(24, 11), 2) == t(24, 15)
    # Dispatched during lunch: the clock starts at 14:00.
    assert CAL.add_working_hours(t(24, 12, 30), 1) == t(24, 15)


def test_weekend_and_evening_starts_wait_for_the_next_period() -> None:
    assert CAL.add_working_hours(t(21, 10), 1) == t(23, 9, 30)  # Saturday
    assert CAL.add_working_hours(t(24, 19), 2) == t(25, 10, 30)  # Tuesday evening
    assert CAL.add_working_hours(t(24, 17, 30), 0) == t(25, 8, 30)


def test_utc_input_is_read_in_china_time() -> None:
    # 08:00 UTC is 16:00 in Beijing, Friday.
    start = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
    assert CAL.add_working_hours(start, 2) == t(23, 9)


def test_working_days_skip_holidays_and_count_extra_workdays() -> None:
    assert CAL.add_working_days(t(25, 10), 5) == dt.datetime(2026, 12, 2, 10, tzinfo=CN)
    cal = WorkingCalendar(
        holidays=frozenset({dt.date(2026, 11, 26)}),
        extra_workdays=frozenset({dt.date(2026, 11, 28)}),
    )
    # Thursday off, Saturday worked: Wed +2 working days = Saturday.
    assert cal.add_working_days(t(25, 10), 2) == t(28, 10)
    assert cal.add_working_hours(t(25, 17), 1) == t(27, 9)


def test_due_counts_whole_days_as_days_and_the_rest_as_hours() -> None:
    assert CAL.due(t(24, 10), 16, 8) == t(26, 10)  # 2 working days
    assert CAL.due(t(24, 10), 4, 8) == t(24, 16)  # 10-12 and 14-16: across lunch


def test_bad_settings_are_named() -> None:
    with pytest.raises(CalendarError, match="8-12"):
        parse_periods("8-12")
    with pytest.raises(CalendarError, match="ordered"):
        parse_periods("14:00-17:30,08:30-12:00")
    with pytest.raises(CalendarError, match="timezone"):
        CAL.add_working_hours(dt.datetime(2026, 11, 24, 10), 1)
