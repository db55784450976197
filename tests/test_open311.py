"""Open311 query parameters: the spec's 90-day window (no database needed)."""

from __future__ import annotations

import datetime as dt

import pytest

from gisgrid.errors import InvalidReport
from gisgrid.reports.open311 import parse_query

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
CST = dt.timezone(dt.timedelta(hours=8))


def test_no_dates_means_the_last_90_days() -> None:
    q = parse_query({}, now=NOW)
    assert q["start"] == NOW - dt.timedelta(days=90) and q["end"] is None


def test_a_start_alone_opens_a_90_day_window_and_an_end_alone_closes_one() -> None:
    q = parse_query({"start_date": "2026-01-01T00:00:00+08:00"}, now=NOW)
    assert q["start"] == dt.datetime(2026, 1, 1, tzinfo=CST)
    assert q["end"] == dt.datetime(2026, 4, 1, tzinfo=CST)
    q = parse_query({"end_date": "2026-04-01T00:00:00+08:00"}, now=NOW)
    assert q["start"] == dt.datetime(2026, 1, 1, tzinfo=CST)


def test_a_span_over_90_days_is_refused_naming_the_span() -> None:
    ok = parse_query(
        {"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-04-01T00:00:00+08:00"}
    )
    assert ok["end"] - ok["start"] == dt.timedelta(days=90)
    with pytest.raises(InvalidReport, match="spans 91 days; at most 90"):
        parse_query(
            {"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-04-02T00:00:00+08:00"}
        )
