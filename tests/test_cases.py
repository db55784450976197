"""The closed loop over real HTTP: accept, feed back, verify and close, escalate, reassign, cancel.

Accounts are made once in the module's template; each test has its own copy and server.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine, text

from bench.common import one, scalar
from gisgrid.reports import intake
from gisgrid.reports.intake import ReportIn
from tests.conftest import seed_item
from tests.databases import sign_up

PASSWORD = "case-loop-password"


@dataclass(frozen=True)
class Home:
    """A grid with two on-duty workers, and a grid in another town."""

    grid: str
    x: float
    y: float
    staff: tuple[int, int]
    off_duty: int | None
    away_grid: str


def _home(engine: Engine) -> Home:
    """A grid of the demo county where two staff are on duty (for reassigning)."""
    with engine.connect() as conn:
        grid, x, y = one(
            conn,
            "SELECT g.code, ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)) "
            "FROM grid g JOIN staff_assignment a ON a.grid_id = g.id AND a.valid_to IS NULL "
            "JOIN staff s ON s.id = a.staff_id AND s.on_duty "
            "WHERE g.valid_to IS NULL AND a.role IN ('full_time', 'grid_chief', 'part_time') "
            "GROUP BY g.id HAVING count(*) >= 2 ORDER BY g.code DESC LIMIT 1",
        )
        staff = conn.execute(
            text(
                "SELECT s.id FROM staff s JOIN staff_assignment a ON a.staff_id = s.id "
                "JOIN grid g ON g.id = a.grid_id WHERE g.code = :g AND a.valid_to IS NULL "
                "AND s.on_duty AND a.role IN ('full_time', 'grid_chief', 'part_time') "
                "ORDER BY s.id LIMIT 2"
            ),
            {"g": grid},
        ).scalars()
        off = conn.execute(
            text(
                "SELECT s.id FROM staff s JOIN staff_assignment a ON a.staff_id = s.id "
                "JOIN grid g ON g.id = a.grid_id WHERE left(g.code, 9) = left(:g, 9) "
                "AND a.valid_to IS NULL AND NOT s.on_duty "
                "AND a.role IN ('full_time', 'grid_chief', 'part_time') ORDER BY s.id LIMIT 1"
            ),
            {"g": grid},
        ).scalar()
        away = conn.execute(
            text(
                "SELECT code FROM grid WHERE valid_to IS NULL AND left(code, 9) <> left(:g, 9) "
                "ORDER BY code LIMIT 1"
            ),
            {"g": grid},
        ).scalar_one()
    a, b = staff
    return Home(grid, float(x), float(y), (a, b), off, away)


def seed_template(engine: Engine) -> tuple[Home, dict[str, str]]:
    """The home grid; bearer tokens of its worker and chief, operators, and outsiders."""
    home = _home(engine)
    plan = {
        "worker": ("grid_worker", home.grid),
        "village": ("village_operator", home.grid[:12]),
        "town": ("town_operator", home.grid[:9]),
        "county": ("county_operator", home.grid[:6]),
        "county2": ("county_operator", home.grid[:6]),
        "planner": ("planner", home.grid[:6]),
        "away_worker": ("grid_worker", home.away_grid),
        "leader": ("household_leader", home.grid),
    }
    return home, sign_up(engine, plan, PASSWORD, "t-case")


home = seed_item(0)
accounts = seed_item(1)


@pytest.fixture
def new_report(own_engine: Engine, home: Home) -> int:
    """A fresh dispatched report in the home grid (a neighbour dispute a patrol found: 自家事,
    registered and dispatched to the grid's worker at once; disputes never duplicate)."""
    with own_engine.begin() as conn:
        stored = intake.submit_report(
            conn,
            ReportIn(
                "ZZ07",
                lon=home.x,
                lat=home.y,
                description=f"case {uuid.uuid4().hex}",
                source="patrol",
            ),
        )
    return int(stored["id"])


def _step(http: httpx.Client, token: str | None, rid: int, **body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.post(f"/api/v1/reports/{rid}/steps", json=body, headers=headers)


def test_the_whole_loop_is_recorded_and_the_reporter_sees_the_feedback(
    own_http: httpx.Client, accounts: dict[str, str], new_report: int
) -> None:
    rid = new_report
    r = _step(own_http, accounts["worker"], rid, action="accept")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_progress"
    r = _step(own_http, accounts["worker"], rid, action="resolve", note="已清理并消毒")
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    # The worker fed it back; only a center operator verifies and closes.
    r = _step(own_http, accounts["worker"], rid, action="close")
    assert r.status_code == 403 and "核查结案" in r.json()["detail"]
    r = _step(own_http, accounts["village"], rid, action="close")
    assert r.status_code == 400 and "outcome" in r.json()["detail"]  # how did it end?
    r = _step(
        own_http, accounts["village"], rid, action="close", note="现场核查属实", outcome="resolved"
    )
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    r = _step(own_http, accounts["village"], rid, action="evaluate", satisfied=True)
    assert r.status_code == 200 and r.json()["satisfied"] is True
    steps = [(s["action"], s["label"], s["to_status"]) for s in r.json()["history"]]
    assert steps == [
        ("dispatch", "派遣", "dispatched"),
        ("accept", "受理", "in_progress"),
        ("resolve", "处置反馈", "resolved"),
        ("close", "核查结案", "closed"),
        ("evaluate", "回访", "closed"),
    ]
    # The resident's view (Open311, anonymous): closed, with the feedback written for them.
    public = own_http.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert public["status"] == "closed"
    assert "feedback: 已清理并消毒" in public["status_notes"]
    assert "现场核查属实" not in public["status_notes"]  # the operator's own note stays inside


def test_steps_out_of_order_or_without_what_they_need_are_refused(
    own_http: httpx.Client, accounts: dict[str, str], new_report: int
) -> None:
    rid = new_report
    r = _step(own_http, accounts["worker"], rid, action="close")
    assert r.status_code == 403
    r = _step(own_http, accounts["village"], rid, action="close")
    assert r.status_code == 409 and "is dispatched" in r.json()["detail"]
    r = _step(own_http, accounts["worker"], rid, action="resolve")
    assert r.status_code == 400 and "needs a note" in r.json()["detail"]
    r = _step(own_http, accounts["worker"], rid, action="fly")
    assert r.status_code == 400 and "fly" in r.json()["detail"]
    r = _step(own_http, None, rid, action="accept")
    assert r.status_code == 401
    r = _step(own_http, accounts["planner"], rid, action="accept")
    assert r.status_code == 403 and "当前账号是规划员" in r.json()["detail"]
    r = _step(own_http, accounts["away_worker"], rid, action="accept")
    assert r.status_code == 403 and "管辖范围" in r.json()["detail"]
    assert _step(own_http, accounts["worker"], 10**12, action="accept").status_code == 404
    # Cancel (不予立案) only before work starts, and with a reason.
    assert _step(own_http, accounts["town"], rid, action="cancel").status_code == 400
    assert _step(own_http, accounts["worker"], rid, action="accept").status_code == 200
    r = _step(own_http, accounts["town"], rid, action="cancel", note="重复上报")
    assert r.status_code == 409 and "in_progress" in r.json()["detail"]


def test_who_fed_back_does_not_verify_and_a_failed_check_goes_back(
    own_http: httpx.Client, accounts: dict[str, str], new_report: int
) -> None:
    rid = new_report
    assert (
        _step(own_http, accounts["county"], rid, action="resolve", note="done").status_code == 200
    )
    r = _step(own_http, accounts["county"], rid, action="close")
    assert r.status_code == 403 and "另一名操作员" in r.json()["detail"]
    r = _step(own_http, accounts["county2"], rid, action="return", note="垃圾仍在")
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    assert (
        _step(own_http, accounts["worker"], rid, action="resolve", note="再次清理").status_code
        == 200
    )
    assert (
        _step(own_http, accounts["county"], rid, action="close", outcome="resolved").status_code
        == 200
    )


def test_escalation_goes_up_a_level_each_time_and_the_clock_keeps_running(
    own_http: httpx.Client, accounts: dict[str, str], new_report: int, own_engine: Engine
) -> None:
    rid = new_report
    with own_engine.connect() as conn:
        due = conn.execute(text("SELECT due_at FROM report WHERE id = :r"), {"r": rid}).scalar()
    levels = []
    for _ in range(3):
        r = _step(own_http, accounts["village"], rid, action="escalate", note="本级无法解决")
        assert r.status_code == 200, r.text
        levels.append(r.json()["handler"]["level"])
        assert r.json()["handler"]["staff"] is None and r.json()["status"] == "dispatched"
    assert levels == ["village", "town", "county"]
    r = _step(own_http, accounts["village"], rid, action="escalate", note="again")
    assert r.status_code == 409 and "county" in r.json()["detail"]
    with own_engine.connect() as conn:
        row = conn.execute(
            text("SELECT due_at, escalations FROM report WHERE id = :r"), {"r": rid}
        ).one()
    assert row.due_at == due and row.escalations == 3


def test_the_center_chases_a_case_and_the_map_shows_it(
    own_http: httpx.Client,
    own_admin_http: httpx.Client,
    accounts: dict[str, str],
    new_report: int,
    home: Home,
) -> None:
    """督办: operators only, with a note; status and clock stay; the maps count it."""
    rid = new_report
    r = _step(own_http, accounts["worker"], rid, action="supervise", note="快办")
    assert r.status_code == 403
    r = _step(own_http, accounts["town"], rid, action="supervise")
    assert r.status_code == 400 and "note" in r.json()["detail"]
    for _ in range(2):
        r = _step(own_http, accounts["town"], rid, action="supervise", note="今天下班前办结")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "dispatched" and r.json()["escalations"] == 0
    assert [s["action"] for s in r.json()["history"]][-2:] == ["supervise", "supervise"]
    fc = own_admin_http.get("/maps/data/reports", params={"unit": home.grid[:12]}).json()
    shown = {f["properties"]["id"]: f["properties"] for f in fc["features"]}
    assert shown[rid]["supervised"] == 2
    # The reporter sees that it was chased, not what the center wrote.
    public = own_http.get(f"/api/v1/public/reports/{rid}").json()
    assert [s["note"] for s in public["steps"] if s["action"] == "supervise"] == [None, None]


def test_due_soon_is_the_last_quarter_before_the_limit(
    own_admin_http: httpx.Client, own_engine: Engine, home: Home
) -> None:
    spans = {
        "soon": ("10 hours", "1 hour"),
        "early": ("1 hour", "10 hours"),
        "late": ("10 hours", "-1 hour"),
    }
    made = {}
    with own_engine.begin() as conn:
        for name, (since, left) in spans.items():
            made[name] = conn.execute(
                text(
                    "INSERT INTO report (category, description, source, status, grid_id, "
                    "reported_at, dispatched_at, due_at, generated, geom) "
                    "SELECT 'ZZ01', 'due soon test', 'resident', 'dispatched', g.id, now() - "
                    "CAST(:since AS interval), now() - CAST(:since AS interval), now() + "
                    "CAST(:left AS interval), false, ST_PointOnSurface(g.geom) FROM grid g "
                    "WHERE g.code = :g AND g.valid_to IS NULL RETURNING id"
                ),
                {"since": since, "left": left, "g": home.grid},
            ).scalar_one()
    fc = own_admin_http.get("/maps/data/reports", params={"unit": home.grid[:12]}).json()
    shown = {f["properties"]["id"]: f["properties"] for f in fc["features"]}
    flags = {k: (shown[i]["due_soon"], shown[i]["overdue"]) for k, i in made.items()}
    assert flags == {"soon": (True, False), "early": (False, False), "late": (False, True)}


def test_reassign_to_an_on_duty_worker_in_scope_only(
    own_http: httpx.Client,
    accounts: dict[str, str],
    new_report: int,
    home: Home,
    own_engine: Engine,
) -> None:
    rid = new_report
    current = scalar(own_engine, "SELECT assignee_id FROM report WHERE id = :r", r=rid)
    target = home.staff[1] if current == home.staff[0] else home.staff[0]
    r = _step(own_http, accounts["village"], rid, action="reassign", staff_id=target)
    assert r.status_code == 200, r.text
    assert r.json()["handler"]["staff"]["id"] == target
    assert _step(own_http, accounts["village"], rid, action="reassign").status_code == 400
    if home.off_duty is not None:
        r = _step(own_http, accounts["town"], rid, action="reassign", staff_id=home.off_duty)
        assert r.status_code == 400 and "off duty" in r.json()["detail"]
    stranger = scalar(
        own_engine,
        "SELECT a.staff_id FROM staff_assignment a JOIN grid g ON g.id = a.grid_id "
        "WHERE g.code = :g AND a.role = 'full_time' LIMIT 1",
        g=home.away_grid,
    )
    r = _step(own_http, accounts["village"], rid, action="reassign", staff_id=stranger)
    assert r.status_code == 400 and "scope" in r.json()["detail"]


def test_two_operators_closing_at_once_close_it_once(
    own_server: str,
    own_http: httpx.Client,
    accounts: dict[str, str],
    new_report: int,
    own_engine: Engine,
) -> None:
    rid = new_report
    assert _step(own_http, accounts["worker"], rid, action="resolve", note="ok").status_code == 200
    codes: list[int] = []

    def close(token: str) -> None:
        with httpx.Client(base_url=own_server, timeout=30) as c:
            codes.append(_step(c, token, rid, action="close", outcome="resolved").status_code)

    threads = [threading.Thread(target=close, args=(accounts[k],)) for k in ("town", "county2")]
    # Hold the row while both requests arrive, so they really meet at the same state.
    with own_engine.begin() as conn:
        conn.execute(text("SELECT 1 FROM report WHERE id = :r FOR UPDATE"), {"r": rid})
        for t in threads:
            t.start()
        time.sleep(1.0)
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409]
    with own_engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM report_event WHERE report_id = :r AND action = 'close'"),
            {"r": rid},
        ).scalar_one()
    assert n == 1


def test_a_supporter_is_handled_with_its_original(
    own_http: httpx.Client, accounts: dict[str, str], own_engine: Engine, home: Home
) -> None:
    now = dt.datetime.now(dt.UTC)
    with own_engine.begin() as conn:
        first = intake.submit_report(
            conn, ReportIn("SJ05", lon=home.x, lat=home.y, source="patrol"), now=now
        )
        second = intake.submit_report(
            conn, ReportIn("SJ05", lon=home.x, lat=home.y + 0.0001, source="patrol"), now=now
        )
    assert second["duplicate_of"] == first["id"]
    r = _step(own_http, accounts["worker"], second["id"], action="accept")
    assert r.status_code == 409 and f"act on report {first['id']}" in r.json()["detail"]
    assert (
        _step(
            own_http, accounts["worker"], first["id"], action="resolve", note="已修复"
        ).status_code
        == 200
    )
    public = own_http.get(f"/open311/v2/requests/{second['id']}.json").json()[0]
    assert "feedback: 已修复" in public["status_notes"]
    case = own_http.get(
        f"/api/v1/reports/{first['id']}",
        headers={"Authorization": f"Bearer {accounts['worker']}"},
    )
    assert case.status_code == 200 and case.json()["supporters"] == 1
    away = own_http.get(
        f"/api/v1/reports/{first['id']}",
        headers={"Authorization": f"Bearer {accounts['away_worker']}"},
    )
    assert away.status_code == 403


# --- Issue 17: 三事分流 routes, the council deliberates, leaders take part, stages, reopening --


def _filed(engine: Engine, home: Home, code: str, source: str = "patrol") -> int:
    with engine.begin() as conn:
        return int(
            intake.submit_report(
                conn,
                ReportIn(code, lon=home.x, lat=home.y, source=source,
                         description=f"issue17 {uuid.uuid4().hex}"),
                config=intake.IntakeConfig(duplicate_rules={code: (0.0, 0.0)}),
            )["id"]
        )  # fmt: skip


def test_a_collective_affair_is_deliberated_before_it_is_fed_back(
    own_http: httpx.Client, accounts: dict[str, str], own_engine: Engine, home: Home
) -> None:
    rid = _filed(own_engine, home, "SJ01")  # exposed garbage: 大家事, the village council's
    r = _step(own_http, accounts["worker"], rid, action="resolve", note="已清理")
    assert r.status_code == 409 and "村民议事" in r.json()["detail"]
    r = _step(own_http, accounts["worker"], rid, action="deliberate", note="议定由保洁员清运")
    assert r.status_code == 403  # the council is convened by its chief or the village
    r = _step(own_http, accounts["village"], rid, action="deliberate", note="议定由保洁员清运")
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    r = _step(
        own_http, accounts["worker"], rid, action="resolve", note="已清理", outcome="resolved"
    )
    assert r.status_code == 200 and r.json()["stage"]["label"] == "反馈"
    # Public affairs are not the council's to deliberate.
    other = _filed(own_engine, home, "SJ05")
    r = _step(own_http, accounts["village"], other, action="deliberate", note="?")
    assert r.status_code == 409 and "大家事" in r.json()["detail"]


def test_a_residents_report_is_checked_registered_and_cancelled_with_reasons(
    own_http: httpx.Client, accounts: dict[str, str], own_engine: Engine, home: Home
) -> None:
    false_one = _filed(own_engine, home, "ZZ07", source="resident")
    real = _filed(own_engine, home, "SJ01", source="hotline")
    assert _step(own_http, accounts["worker"], false_one, action="accept").status_code == 409
    r = _step(own_http, accounts["worker"], false_one, action="cancel", note="现场无此纠纷",
              reason="false_report")  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert r.json()["history"][-1]["detail"] == {"reason": "false_report"}
    r = _step(own_http, accounts["worker"], real, action="check")
    assert r.status_code == 200 and r.json()["stage"]["name"] == "checked"
    r = _step(own_http, accounts["worker"], real, action="register", triage="private")
    assert r.status_code == 400 and "needs a reason" in r.json()["detail"]
    r = _step(own_http, accounts["worker"], real, action="register", triage="public",
              note="涉及市政设施")  # fmt: skip
    assert r.status_code == 200 and r.json()["handler"]["level"] == "town"
    # Past registration, only a center cancels.
    r = _step(own_http, accounts["worker"], real, action="cancel", note="重复", reason="duplicate")
    assert r.status_code == 403
    r = _step(own_http, accounts["town"], real, action="reclass", triage="collective",
              note="属小区公共事务")  # fmt: skip
    assert r.status_code == 200
    assert (r.json()["triage"]["class"], r.json()["handler"]["level"]) == ("collective", "village")
    assert [s["action"] for s in r.json()["history"]] == ["collect", "check", "register", "reclass"]


def test_household_leaders_take_part_in_household_affairs_only(
    own_http: httpx.Client, accounts: dict[str, str], own_engine: Engine, home: Home
) -> None:
    private, public = _filed(own_engine, home, "ZZ07"), _filed(own_engine, home, "SJ05")
    token = accounts["leader"]
    r = _step(own_http, token, public, action="accept")
    assert r.status_code == 403 and "自家事" in r.json()["detail"]
    assert _step(own_http, token, private, action="accept").status_code == 200
    r = _step(own_http, token, private, action="resolve", note="联户长调解，双方和解")
    assert r.status_code == 200 and r.json()["status"] == "resolved"


def test_an_unsatisfied_call_back_reopens_only_within_the_window(
    own_http: httpx.Client, accounts: dict[str, str], own_engine: Engine, home: Home
) -> None:
    fresh, old = _filed(own_engine, home, "ZZ07"), _filed(own_engine, home, "ZZ07")
    for rid in (fresh, old):
        assert (
            _step(own_http, accounts["worker"], rid, action="resolve", note="ok").status_code == 200
        )
        r = _step(own_http, accounts["village"], rid, action="close", outcome="not_solvable")
        assert r.status_code == 400 and "policy" in r.json()["detail"]  # needs a reason
        r = _step(own_http, accounts["village"], rid, action="close", outcome="not_solvable",
                  outcome_reason="petition")  # fmt: skip
        assert r.status_code == 200 and r.json()["outcome"]["label"] == "无法解决"
    with own_engine.begin() as conn:  # closed 20 days ago: past GISGRID_REOPEN_DAYS (15)
        conn.execute(
            text("UPDATE report SET closed_at = now() - interval '20 days' WHERE id = :r"),
            {"r": old},
        )
    r = _step(own_http, accounts["town"], fresh, action="evaluate", satisfied=False)
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    assert r.json()["reopens"] == 1 and r.json()["outcome"] is None
    assert [s["action"] for s in r.json()["history"]][-2:] == ["evaluate", "reopen"]
    r = _step(own_http, accounts["town"], old, action="evaluate", satisfied=False)
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["reopens"] == 0
