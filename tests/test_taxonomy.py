"""Time limits by category: office hours for most, a 24-hour clock for emergencies and safety."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from gisgrid.access.accounts import Principal, Role
from gisgrid.reports import WorkingCalendar, cases, intake
from gisgrid.reports.intake import ReportIn
from gisgrid.reports.taxonomy import ALARM_CODES, CATEGORIES, category

CN = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()
# Friday 2026-11-20, 23:10 China time: the office closed hours ago and opens on Monday.
FRIDAY_NIGHT = dt.datetime(2026, 11, 20, 23, 10, tzinfo=CN)


def test_an_emergency_at_night_is_due_within_the_hour_not_on_monday() -> None:
    emergency = category("SJ09")  # 突发事件
    assert emergency.round_the_clock and emergency.alarm
    assert emergency.due(FRIDAY_NIGHT, CAL) == FRIDAY_NIGHT + dt.timedelta(hours=1)
    # The same dispatch of an office-hours category waits for Monday morning.
    garbage = category("SJ01")
    assert not garbage.round_the_clock and not garbage.alarm
    # 4 working hours from Monday 08:30: 3.5 before lunch, the last half hour after it.
    assert garbage.due(FRIDAY_NIGHT, CAL) == dt.datetime(2026, 11, 23, 14, 30, tzinfo=CN)


def test_emergencies_and_safety_run_round_the_clock_with_short_limits() -> None:
    assert {"SJ09", "ZZ13", "ZZ12", "ZZ06", "ZZ10"} == ALARM_CODES
    for c in CATEGORIES:
        if c.round_the_clock:
            assert c.limit_hours <= 2, c.code  # an immediate response, not a working day
            assert "day and night" in c.limit_label
        else:
            assert "working" in c.limit_label


def test_intake_counts_an_emergency_on_the_24_hour_clock(
    conn: Connection, demo_county: str
) -> None:
    home = conn.execute(
        text(
            "SELECT ST_X(h.geom) AS x, ST_Y(h.geom) AS y FROM household h "
            "JOIN grid g ON g.id = h.grid_id WHERE g.valid_to IS NULL ORDER BY h.id LIMIT 1"
        )
    ).one()
    night = FRIDAY_NIGHT.astimezone(dt.UTC)
    # Found on patrol: registered and dispatched at once, the clock starts now. Far-apart
    # categories: an emergency is never a duplicate of a garbage report.
    fire = intake.submit_report(
        conn, ReportIn("ZZ12", lon=home.x, lat=home.y, source="patrol"), now=night
    )
    assert fire["due_at"] == night + dt.timedelta(hours=1)
    bin_ = intake.submit_report(
        conn, ReportIn("BJ06", lon=home.x, lat=home.y, source="patrol"), now=night
    )
    assert bin_["due_at"].astimezone(CN).date() == dt.date(2026, 11, 23)
    # A resident's report is checked on site first (核查, issue 17); registered (立案) at
    # night, an emergency's clock still runs day and night from then.
    flood = intake.submit_report(
        conn, ReportIn("SJ09", lon=home.x + 0.01, lat=home.y, source="resident"), now=night
    )
    assert flood["status"] == "submitted" and flood["due_at"] is None
    worker = Principal(account_id=-931, username="t-tax-w", role=Role.grid_worker, scope="")
    later = night + dt.timedelta(minutes=20)
    cases.act(conn, worker, flood["id"], cases.CaseAction("check"), now=later)
    registered = cases.act(conn, worker, flood["id"], cases.CaseAction("register"), now=later)
    assert registered["due_at"] == later + dt.timedelta(hours=1)
