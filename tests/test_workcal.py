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


# --- Calendars per county (issue 17): data/calendars/<county>.json, settings on top ----------

import json  # noqa: E402
from pathlib import Path  # noqa: E402

from gisgrid.reports.working_calendar import (  # noqa: E402
    CALENDAR_DIR,
    Calendars,
    read_county_file,
)

SEEDS = ("441226", "522730", "610729", "330182")


def test_each_seed_county_has_its_calendar_file() -> None:
    cals = Calendars.load()
    assert set(SEEDS) <= set(cals.counties)
    for code in SEEDS:
        f = read_county_file(CALENDAR_DIR / f"{code}.json")
        assert f.years == (2024, 2025, 2026)
        # Every worked day is a weekend day (checked on reading), inside the years it claims.
        assert all(d.weekday() >= 5 and d.year in f.years for d in f.workdays)
        assert all(d.year in f.years for d in f.holidays)
        # The State Council's headline days, one per notice.
        assert {date(2024, 2, 12), date(2025, 1, 28), date(2026, 2, 23)} <= f.holidays
        assert {date(2024, 2, 4), date(2025, 1, 26), date(2026, 1, 4)} <= f.workdays


def date(y: int, m: int, d: int) -> dt.date:
    return dt.date(y, m, d)


def test_spring_festival_and_its_worked_sunday() -> None:
    cal = Calendars.load().for_code("441226101201001")  # any code of the county
    # 2024: off 10-17 Feb, Sunday 4 Feb and Sunday 18 Feb worked (国办发明电〔2023〕7号).
    assert cal.is_workday(date(2024, 2, 4)) and cal.is_workday(date(2024, 2, 18))
    assert not cal.is_workday(date(2024, 2, 14)) and cal.is_workday(date(2024, 2, 9))
    # Friday 9 Feb 16:00 + 4 working hours: 1.5 h that Friday, the rest on Sunday 18 Feb.
    start = dt.datetime(2024, 2, 9, 16, tzinfo=CN)
    assert cal.add_working_hours(start, 4) == dt.datetime(2024, 2, 18, 11, tzinfo=CN)
    # 2026 National Day: off 1-7 Oct, Saturday 10 Oct worked; 30 Sep + 1 working day = 8 Oct.
    assert cal.add_working_days(dt.datetime(2026, 9, 30, 10, tzinfo=CN), 1) == dt.datetime(
        2026, 10, 8, 10, tzinfo=CN
    )


def test_settings_override_the_files_and_bad_files_are_named(tmp_path: Path) -> None:
    extra_off, extra_on = date(2025, 3, 12), date(2025, 10, 1)
    cals = Calendars.load(CALENDAR_DIR, holidays=[extra_off], extra_workdays=[extra_on])
    cal = cals.for_code("522730")
    assert not cal.is_workday(extra_off) and cal.is_workday(extra_on)
    assert cals.for_code("110101") is cals.default  # a county with no file: plain week + settings
    assert not cals.default.is_workday(extra_off)
    bad = tmp_path / "441226.json"
    bad.write_text(
        json.dumps(
            {"county": "441226", "years": [2025], "holidays": [], "workdays": ["2025-03-12"]}
        )
    )
    with pytest.raises(CalendarError, match="2025-03-12, a weekday"):
        read_county_file(bad)
    bad.write_text("{}")
    with pytest.raises(CalendarError, match="not a calendar file"):
        read_county_file(bad)


def test_working_hours_between_is_the_inverse_of_adding_them() -> None:
    import numpy as np

    cal = Calendars.load().for_code("441226")
    starts = [dt.datetime(2024, 2, 8, 9, tzinfo=CN), dt.datetime(2025, 9, 30, 15, tzinfo=CN)]
    hours = [13.0, 9.5]
    ends = [cal.add_working_hours(s, h) for s, h in zip(starts, hours, strict=True)]
    got = cal.working_hours_between(
        np.array([s.timestamp() for s in starts] + [np.nan]),
        np.array([e.timestamp() for e in ends] + [1.0]),
    )
    assert got[:2].tolist() == pytest.approx(hours) and np.isnan(got[2])


def test_remembered_due_times_equal_the_calendar_walk_at_every_start() -> None:
    """DueMemo answers from its last walk while that holds: every start of three weeks around
    the 2026 National Day holiday and its worked weekend days, in steps that land inside
    periods, on their edges, at lunch, at night and on holidays, gives the walk's own answer."""
    from gisgrid.reports.taxonomy import CATEGORIES, WORKING_DAY_HOURS
    from gisgrid.reports.working_calendar import Calendars, DueMemo

    cal = Calendars.load().counties["330182"]
    limits = sorted({c.limit_hours for c in CATEGORIES if not c.round_the_clock}) + [1, 3.5]
    start = dt.datetime(2026, 9, 24, 0, 0, tzinfo=CN)
    steps = [dt.timedelta(minutes=m) for m in (7, 30, 13, 1, 90, 17)]
    for hours in limits:
        walk = (
            (lambda t, h=hours: cal.due(t, int(h), WORKING_DAY_HOURS))
            if float(hours).is_integer()
            else (lambda t, h=hours: cal.add_working_hours(t, h))
        )
        memo = DueMemo(cal, walk)
        t, i, remembered = start, 0, 0
        while t < start + dt.timedelta(days=21):
            last = memo._last
            assert memo(t) == walk(t), (hours, t)
            remembered += last is not None and memo._last is last
            t += steps[i % len(steps)]
            i += 1
        assert remembered > i // 2  # most answers came without a walk
