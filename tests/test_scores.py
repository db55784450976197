"""Closure and on-time closure rates (结案率, 按期结案率) per unit, and the demo's closed month."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import Connection, text

from bench.common import one
from gisgrid.errors import InvalidPeriod, InvalidReport
from gisgrid.mapdata import layers
from gisgrid.reports import scores

UTC = dt.UTC
# A period long before any demo report, so only this test's reports are in it.
START = dt.datetime(2020, 1, 1, tzinfo=UTC)
END = dt.datetime(2020, 2, 1, tzinfo=UTC)


def _report(conn: Connection, grid_id: int, status: str, due: str, closed: str | None, **extra):  # type: ignore[no-untyped-def]
    """Insert one report of the test period; returns its id."""
    return conn.execute(
        text(
            "INSERT INTO report (category, source, status, grid_id, reported_at, dispatched_at, "
            "due_at, closed_at, duplicate_of, satisfied, generated, geom) "
            "SELECT 'SJ01', 'resident', CAST(:s AS report_status), g.id, CAST(:due AS timestamptz) "
            "- interval '3 days', CAST(:due AS timestamptz) - interval '2 days', :due, :closed, "
            ":dup, :sat, false, ST_PointOnSurface(g.geom) FROM grid g WHERE g.id = :g RETURNING id"
        ),
        {
            "s": status,
            "due": due,
            "closed": closed,
            "g": grid_id,
            "dup": extra.get("duplicate_of"),
            "sat": extra.get("satisfied"),
        },
    ).scalar_one()


@pytest.fixture
def village(conn: Connection, demo_county: str) -> tuple[str, int, int]:
    """A demo village with at least two grids: (village code, first grid id, second grid id)."""
    code, first, second = conn.execute(
        text(
            "SELECT village_code, min(id), max(id) FROM grid WHERE valid_to IS NULL "
            "GROUP BY village_code HAVING count(*) >= 2 ORDER BY village_code LIMIT 1"
        )
    ).one()
    return code, first, second


def test_rates_count_what_fell_due_in_the_period(
    conn: Connection, village: tuple[str, int, int]
) -> None:
    code, grid_a, grid_b = village
    on_time = _report(
        conn, grid_a, "closed", "2020-01-10T08:00Z", "2020-01-09T08:00Z", satisfied=True
    )
    _report(conn, grid_a, "closed", "2020-01-11T08:00Z", "2020-01-12T08:00Z", satisfied=False)
    _report(conn, grid_a, "resolved", "2020-01-12T08:00Z", None)  # handled, not verified
    _report(conn, grid_a, "closed", "2020-01-30T08:00Z", "2020-02-03T08:00Z")  # after the end
    _report(conn, grid_b, "closed", "2020-01-15T08:00Z", "2020-01-15T07:00Z")
    # Not cases of their own: cancelled, a duplicate, and one due outside the period.
    _report(conn, grid_a, "cancelled", "2020-01-13T08:00Z", None)
    _report(conn, grid_a, "closed", "2020-01-13T08:00Z", "2020-01-13T07:00Z", duplicate_of=on_time)
    _report(conn, grid_b, "closed", "2020-02-01T00:00Z", "2020-01-31T07:00Z")

    got = scores.unit_scores(conn, code, START, END)
    unit = got["unit"]
    assert (unit["due"], unit["closed"], unit["on_time"]) == (5, 3, 2)
    assert unit["closure_rate"] == 0.6 and unit["on_time_rate"] == 0.4
    assert (unit["evaluated"], unit["satisfaction"]) == (2, 0.5)
    kids = {k["code"]: k for k in got["children"]}
    code_a, code_b = (
        conn.execute(text("SELECT code FROM grid WHERE id = :g"), {"g": g}).scalar_one()
        for g in (grid_a, grid_b)
    )
    assert (kids[code_a]["due"], kids[code_a]["on_time"]) == (4, 1)
    assert (kids[code_b]["due"], kids[code_b]["on_time_rate"]) == (1, 1.0)
    # Ranked by on-time rate: grid b (100%) before grid a (25%); grids with nothing due last.
    ranked = [k["code"] for k in got["children"]]
    assert ranked.index(code_b) == 0 and ranked.index(code_a) == 1
    assert all(k["on_time_rate"] is None for k in got["children"][2:])
    assert [k["rank"] for k in got["children"]] == list(range(1, len(ranked) + 1))


def test_odd_periods_are_refused() -> None:
    with pytest.raises(InvalidPeriod, match="not before"):
        scores.period(END, START)
    with pytest.raises(InvalidPeriod, match="at most 366"):
        scores.period(START, START + dt.timedelta(days=400))
    start, end = scores.period(None, END)
    assert end - start == dt.timedelta(days=30)


def test_scores_endpoint_adds_up(http: httpx.Client) -> None:
    r = http.get("/api/v1/units/441226/scores")
    assert r.status_code == 200, r.text
    body = r.json()
    towns = body["children"]
    assert len(towns) == 13
    # Every report of the county sits in one town: the towns' counts add up to the county's.
    for field in ("due", "closed", "on_time", "evaluated"):
        assert sum(t[field] for t in towns) == body["unit"][field], field
    assert body["unit"]["due"] > 500  # the demo's GENERATED month: about one report per grid
    # Ranked best on-time rate first.
    rates = [t["on_time_rate"] for t in towns]
    assert rates == sorted(rates, reverse=True)


def test_scores_endpoint_names_a_bad_period(http: httpx.Client) -> None:
    r = http.get("/api/v1/units/441226/scores", params={"start": "2024-03-01", "end": "2024-01-01"})
    assert r.status_code == 422
    assert "not before" in r.text
    r = http.get("/api/v1/units/999999/scores")
    assert r.status_code == 404


def test_ranking_carries_the_month(conn: Connection, demo_county: str) -> None:
    rows = layers.ranking(conn, "441226")
    month = {t["code"]: t for t in scores.unit_scores(conn, "441226")["children"]}
    assert len(rows) == 13
    for r in rows:
        assert r["due_30d"] == month[r["code"]]["due"]
        assert r["on_time_rate_30d"] == month[r["code"]]["on_time_rate"]


def test_demo_month_went_round_the_loop(conn: Connection, demo_county: str) -> None:
    """The GENERATED month: realistic rates, and every step in order, none in the future."""
    unit = scores.unit_scores(conn, "441226")["unit"]
    # A published month: 93.7% closed, 75.8% on time; the generator draws around those.
    assert 0.85 <= unit["closure_rate"] <= 0.98
    assert 0.65 <= unit["on_time_rate"] <= 0.86
    assert unit["satisfaction"] >= 0.9
    bad = conn.execute(
        text("""
        WITH s AS (
            SELECT r.id, r.status, r.closed_at, r.dispatched_at, r.satisfied,
                   max(e.at) FILTER (WHERE e.action = 'accept') AS accepted,
                   max(e.at) FILTER (WHERE e.action = 'resolve') AS resolved,
                   max(e.at) FILTER (WHERE e.action = 'close') AS closed,
                   max(e.at) FILTER (WHERE e.action = 'evaluate') AS called,
                   bool_or(e.satisfied) FILTER (WHERE e.action = 'evaluate') AS verdict,
                   max(e.at) AS last
            FROM report r JOIN report_event e ON e.report_id = r.id
            WHERE r.generated AND r.description LIKE 'GENERATED%'
            GROUP BY r.id)
        SELECT count(*) FILTER (WHERE NOT (dispatched_at < accepted AND accepted <= resolved)),
               count(*) FILTER (WHERE status = 'closed'
                                AND NOT (resolved <= closed AND closed = closed_at)),
               count(*) FILTER (WHERE status <> 'closed'
                                AND (closed IS NOT NULL OR called IS NOT NULL)),
               count(*) FILTER (WHERE called IS NOT NULL AND NOT (called > closed)),
               count(*) FILTER (WHERE satisfied IS DISTINCT FROM verdict),
               count(*) FILTER (WHERE last > now()),
               count(*)
        FROM s""")
    ).one()
    assert tuple(bad[:6]) == (0,) * 6, bad
    assert bad[6] >= 800


# --- Issue 17: the published month, and every measure on cases with known answers ------------

MARCH = (dt.datetime(2020, 3, 1, tzinfo=UTC), dt.datetime(2020, 4, 1, tzinfo=UTC))


def test_the_published_month_exactly(conn: Connection, village: tuple[str, int, int]) -> None:
    """DOMAIN.md: 972 due, 911 closed (93.72%), 737 on time (75.82%)."""
    code, grid, _ = village
    # 737 closed on time, 174 closed late, 61 still open; due times spread over March 2020.
    conn.execute(
        text(
            "INSERT INTO report (category, source, status, grid_id, reported_at, dispatched_at, "
            "due_at, closed_at, outcome, generated, geom) "
            "SELECT 'SJ01', 'patrol', CAST(CASE WHEN i <= 911 THEN 'closed' ELSE 'in_progress' "
            "END AS report_status), g.id, d - interval '1 day', d - interval '1 day', d, "
            "CASE WHEN i <= 737 THEN d - interval '1 hour' "
            "WHEN i <= 911 THEN d + interval '1 hour' END, "
            "CASE WHEN i <= 911 THEN 'resolved' END, false, ST_PointOnSurface(g.geom) "
            "FROM grid g, generate_series(1, 972) i, "
            "LATERAL (SELECT timestamptz '2020-03-02 00:00Z' + (i % 28) * interval '1 day' "
            "+ interval '2 hours' AS d) t WHERE g.id = :g"
        ),
        {"g": grid},
    )
    got = scores.unit_scores(conn, code, *MARCH)["unit"]
    assert (got["due"], got["closed"], got["on_time"]) == (972, 911, 737)
    assert (got["closure_rate"], got["on_time_rate"]) == (0.9372, 0.7582)
    assert (scores.pct(got["closure_rate"]), scores.pct(got["on_time_rate"])) == (
        "93.72%",
        "75.82%",
    )
    assert (got["overdue"], got["closed_late"]) == (61, 174)
    # The ranking's own statement (the wall) agrees with the scores.
    old = scores.closure_scores(conn, [(code, code)], *MARCH)[code]
    assert (old["due"], old["closed"], old["on_time"]) == (972, 911, 737)


CN = dt.timezone(dt.timedelta(hours=8))


def _case(conn: Connection, grid: int, **f: object) -> int:
    """One case of January 2020 with the given fields (China-time datetimes)."""
    cols = {
        "category": "SJ01",
        "source": "patrol",
        "status": "closed",
        "grid_id": grid,
        "generated": False,
        "reopens": 0,
        "escalations": 0,
    } | f
    cols["reported_at"] = cols["dispatched_at"]
    names = ", ".join(cols)
    values = ", ".join("CAST(:status AS report_status)" if k == "status" else f":{k}" for k in cols)
    return conn.execute(
        text(
            f"INSERT INTO report ({names}, geom) SELECT {values}, ST_PointOnSurface(g.geom) "
            "FROM grid g WHERE g.id = :grid_id RETURNING id"
        ),
        cols,
    ).scalar_one()


def test_every_measure_on_cases_with_known_answers(
    conn: Connection, village: tuple[str, int, int]
) -> None:
    code, grid, other_grid = village
    workers = (
        conn.execute(text("SELECT id FROM staff WHERE generated ORDER BY id LIMIT 2"))
        .scalars()
        .all()
    )
    dept = one(
        conn,
        "INSERT INTO department (county_code, code, name, categories, response_hours, "
        "feedback_hours) VALUES (:c, 'TESTX', '测试局', '{}', 4, 16) RETURNING id",
        c=code[:6] + "000000",
    ).id

    def t(day: int, hh: int, mm: int = 0) -> dt.datetime:
        return dt.datetime(2020, 1, day, hh, mm, tzinfo=CN)

    # Mon 6 Jan 09:00 -> 11:00: 2 working hours; on time; resolved; satisfied; whistled,
    # reported for duty and fed back in time.
    _case(conn, grid, dispatched_at=t(6, 9), due_at=t(8, 9), closed_at=t(6, 11),
          outcome="resolved", satisfied=True, assignee_id=workers[0], department_id=dept,
          dept_sent_at=t(6, 9), dept_respond_by=t(6, 13), dept_accepted_at=t(6, 10),
          dept_due_at=t(7, 9), dept_resolved_at=t(6, 10, 30), escalations=1)  # fmt: skip
    # Mon 16:00 -> Tue 10:00: 1.5 + 1.5 = 3 working hours; late; partly resolved; unsatisfied
    # once, reopened; whistled, reported for duty late, fed back late.
    _case(conn, grid, dispatched_at=t(6, 16), due_at=t(7, 9), closed_at=t(7, 10),
          outcome="partly_resolved", satisfied=False, reopens=1, assignee_id=workers[0],
          department_id=dept, dept_sent_at=t(6, 16), dept_respond_by=t(7, 10, 30),
          dept_accepted_at=t(7, 11), dept_due_at=t(7, 9), dept_resolved_at=t(7, 9, 30),
          escalations=1)  # fmt: skip
    # Fri 10 Jan 17:00 -> Mon 13 Jan 09:00: 0.5 + 0.5 = 1 working hour; on time; not solvable.
    _case(conn, other_grid, dispatched_at=t(10, 17), due_at=t(14, 17), closed_at=t(13, 9),
          outcome="not_solvable", outcome_reason="policy", assignee_id=workers[1])  # fmt: skip
    # Still being handled; fed back but not verified; closed only after the period ended.
    _case(conn, grid, status="in_progress", dispatched_at=t(20, 9), due_at=t(22, 9),
          assignee_id=workers[1])  # fmt: skip
    _case(conn, grid, status="resolved", dispatched_at=t(20, 9), due_at=t(22, 9))
    _case(conn, other_grid, dispatched_at=t(29, 9), due_at=t(30, 9),
          closed_at=dt.datetime(2020, 2, 3, 9, tzinfo=CN), outcome="resolved")  # fmt: skip
    # Not cases of the period: cancelled, and due in February.
    _case(conn, grid, status="cancelled", dispatched_at=t(6, 9), due_at=t(7, 9))
    _case(conn, grid, dispatched_at=t(31, 9), due_at=dt.datetime(2020, 2, 3, 9, tzinfo=CN),
          closed_at=t(31, 10), outcome="resolved")  # fmt: skip

    got = scores.unit_scores(conn, code, START, END)
    unit = got["unit"]
    expected = {
        "due": 6,
        "closed": 3,
        "on_time": 2,
        "closed_late": 1,
        "solved": 1,
        "overdue": 3,
        "closure_rate": 0.5,
        "on_time_rate": 0.3333,
        "solved_rate": 0.1667,
        "evaluated": 2,
        "satisfied": 1,
        "satisfaction": 0.5,
        "reopened": 1,
        "reopen_rate": 0.25,  # 1 of the 4 ever closed
        "mean_hours": 2.0,  # (2 + 3 + 1) / 3 working hours
        "escalations": 2,
        "whistled": 2,
        "responded_on_time_rate": 0.5,
        "fed_back_on_time_rate": 0.5,
    }
    assert {k: unit[k] for k in expected} == expected
    assert set(got["definition"]) >= {"closure_rate", "solved_rate", "mean_hours", "overdue"}

    by_grid = {r["code"]: r for r in got["children"]}  # a village's children are its grids
    grid_code = conn.execute(text("SELECT code FROM grid WHERE id = :g"), {"g": grid}).scalar()
    assert (by_grid[grid_code]["due"], by_grid[grid_code]["on_time"]) == (4, 1)
    assert by_grid[grid_code]["mean_hours"] == 2.5

    from gisgrid.access import COMMAND_LINE

    by_worker = scores.unit_scores(conn, code, START, END, by="workers", who=COMMAND_LINE)
    rows = {r["staff_id"]: r for r in by_worker["children"]}
    assert (rows[workers[0]]["due"], rows[workers[0]]["on_time"]) == (2, 1)
    assert (rows[workers[1]]["due"], rows[workers[1]]["solved"]) == (2, 0)
    assert rows[workers[1]]["mean_hours"] == 1.0

    by_dept = scores.unit_scores(conn, code, START, END, by="departments")["children"]
    assert [(r["code"], r["due"], r["closed"], r["reopened"]) for r in by_dept] == [
        ("TESTX", 2, 2, 1)
    ]
    assert by_dept[0]["responded_on_time_rate"] == 0.5

    with pytest.raises(InvalidReport, match="by='nope' is not one of children"):
        scores.unit_scores(conn, code, START, END, by="nope")
