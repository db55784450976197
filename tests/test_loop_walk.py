"""One case through the whole loop over real HTTP (issue 17, "What it must show").

A resident reports a damaged green space from the residents' form; the grid worker checks it on
site (核查); it is registered as 公家事 (the category says 大家事: the reason is given); the town
whistles to the county's 住建 department (吹哨); the department reports for duty (报到), feeds back;
the town sends it back at verification, the department feeds back again, the town closes it; the
resident rates it unsatisfied, which reopens it; it is resolved and closed again and the resident
is satisfied. A handler of another department sees none of it (404), and may not look into ZJ's
inbox (403). The scores by department count it, reopening included.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine, text

from gisgrid.demo.departments import write_demo_departments
from tests.conftest import seed_item
from tests.databases import DEMO_COUNTY, sign_up

PASSWORD = "walk-the-loop-1"
URL = "/api/v1/public/reports"


@dataclass(frozen=True)
class Spot:
    """Where the walk happens: a grid, a point in it, its town and county."""

    grid: str
    lon: float
    lat: float

    @property
    def town(self) -> str:
        return self.grid[:9]


def _spot(engine: Engine) -> Spot:
    """A grid of the demo county with an on-duty worker, far from other tests' grids."""
    with engine.begin() as conn:
        write_demo_departments(conn, DEMO_COUNTY + "000000", "德庆县")
        # A household's door: not the grid's public point, so who sees the spot can be told.
        grid, lon, lat = conn.execute(
            text(
                "SELECT g.code, ST_X(h.geom), ST_Y(h.geom) FROM grid g "
                "JOIN staff_assignment a ON a.grid_id = g.id AND a.valid_to IS NULL "
                "AND a.role = 'full_time' JOIN staff s ON s.id = a.staff_id AND s.on_duty "
                "JOIN LATERAL (SELECT geom FROM household WHERE grid_id = g.id ORDER BY id "
                "LIMIT 1) h ON true "
                "WHERE g.valid_to IS NULL ORDER BY g.code OFFSET 333 LIMIT 1"
            )
        ).one()
    return Spot(grid, float(lon), float(lat))


def seed_template(engine: Engine) -> tuple[Spot, dict[str, str]]:
    """The spot; tokens of the grid's worker, the town center, 住建 (ZJ) and 城管 (CG) handlers."""
    spot = _spot(engine)
    plan = {
        "worker": ("grid_worker", spot.grid),
        "town": ("town_operator", spot.town),
        "zj": ("department_handler", spot.grid[:6], "ZJ"),
        "cg": ("department_handler", spot.grid[:6], "CG"),
    }
    return spot, sign_up(engine, plan, PASSWORD, "t-walk")


spot = seed_item(0)
tokens = seed_item(1)


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_one_case_through_the_whole_loop(
    own_http: httpx.Client, own_engine: Engine, spot: Spot, tokens: dict[str, str]
) -> None:
    def step(who: str, **body: object) -> httpx.Response:
        return own_http.post(f"/api/v1/reports/{rid}/steps", json=body, headers=_as(tokens[who]))

    # 收集: a resident reports from the residents' form; the receipt stays on the phone.
    receipt = f"walk-{uuid.uuid4()}"
    filed = own_http.post(
        URL,
        json={
            "service_code": "BJ05",  # damaged green space: 大家事 by default, owned by 住建
            "lon": spot.lon,
            "lat": spot.lat,
            "description": "街心绿地被车辆碾坏 " + receipt,
        },
        headers={"Idempotency-Key": receipt},
    )
    assert filed.status_code == 201, filed.text
    rid = filed.json()["id"]
    assert (filed.json()["status"], filed.json()["stage"]) == ("submitted", "collected")
    assert filed.json()["due_at"] is None  # the clock starts when it is registered

    # 核查: the grid worker checks it on site.
    r = step("worker", action="register")
    assert r.status_code == 409 and "核查" in r.json()["detail"]
    r = step("worker", action="check", note="现场核实，绿地约20平方米损毁")
    assert r.status_code == 200, r.text
    assert r.json()["stage"]["name"] == "checked"

    # 分析立案: classed 公家事 against its category's 大家事, so a reason is needed.
    r = step("worker", action="register", triage="public")
    assert r.status_code == 400 and "needs a reason" in r.json()["detail"]
    r = step("worker", action="register", triage="public", note="市政绿地，属住建部门管护")
    assert r.status_code == 200, r.text
    case = r.json()
    assert case["status"] == "dispatched" and case["due_at"] is not None
    assert case["triage"] == {
        "class": "public",
        "label": "公家事",
        "reason": "市政绿地，属住建部门管护",
    }
    assert case["handler"]["level"] == "town"  # 公家事 goes up the government ladder

    # The case file suggests the department owning the category, for the town to whistle to.
    town_view = own_http.get(f"/api/v1/reports/{rid}", headers=_as(tokens["town"])).json()
    assert town_view["suggested_department"] == {
        "code": "ZJ",
        "name": "德庆县住房和城乡建设局",
    }
    # Not yet sent to any department: a department handler does not see it.
    assert own_http.get(f"/api/v1/reports/{rid}", headers=_as(tokens["zj"])).status_code == 404

    # 吹哨: only a town or county whistles; the department's own clock starts.
    r = step("worker", action="escalate", department="ZJ", note="请住建处理")
    assert r.status_code == 403
    r = step("town", action="escalate", department="XX", note="?")
    assert r.status_code == 404 and "ZJ" in r.json()["detail"]  # names the real ones
    r = step("town", action="escalate", department="ZJ", note="绿地修复需住建局报到办理")
    assert r.status_code == 200, r.text
    case = r.json()
    assert case["handler"]["level"] == "department" and case["stage"]["name"] == "escalated"
    dept = case["department"]
    assert dept["code"] == "ZJ" and dept["name"] == "德庆县住房和城乡建设局"
    sent = dt.datetime.fromisoformat(dept["sent_at"])
    assert sent < dt.datetime.fromisoformat(dept["respond_by"])
    assert dt.datetime.fromisoformat(dept["respond_by"]) <= dt.datetime.fromisoformat(
        dept["due_at"]
    )
    assert case["stage"]["due_at"] == dept["respond_by"]  # 报到 by

    # Another department sees and does nothing of it, and cannot read ZJ's inbox.
    assert own_http.get(f"/api/v1/reports/{rid}", headers=_as(tokens["cg"])).status_code == 404
    r = step("cg", action="accept")
    assert r.status_code == 404 and "department CG" in r.json()["detail"]
    inbox = {"county": spot.grid[:6]}
    r = own_http.get("/api/v1/departments/ZJ/cases", params=inbox, headers=_as(tokens["cg"]))
    assert r.status_code == 403
    r = own_http.get("/api/v1/departments/CG/cases", params=inbox, headers=_as(tokens["cg"]))
    assert r.status_code == 200 and rid not in [c["id"] for c in r.json()["cases"]]
    r = own_http.get("/api/v1/departments/ZJ/cases", params=inbox, headers=_as(tokens["zj"]))
    assert r.status_code == 200 and rid in [c["id"] for c in r.json()["cases"]]

    # Open311 gives ZJ the exact spot of its case; CG sees it at its grid like the public.
    seen = {
        who: own_http.get(f"/open311/v2/requests/{rid}.json", headers=_as(tokens[who])).json()[0]
        for who in ("zj", "cg")
    }
    assert (seen["zj"]["long"], seen["zj"]["lat"]) == pytest.approx((spot.lon, spot.lat))
    assert (seen["cg"]["long"], seen["cg"]["lat"]) != (seen["zj"]["long"], seen["zj"]["lat"])

    # 报到, 处置, 反馈 to the town.
    r = step("zj", action="accept")
    assert r.status_code == 200, r.text
    assert r.json()["department"]["accepted_at"] and r.json()["stage"]["name"] == "handled"
    r = step("zj", action="close", outcome="resolved")
    assert r.status_code == 403  # a department feeds back; the town verifies
    r = step("zj", action="resolve", note="已清理损毁苗木", outcome="resolved")
    assert r.status_code == 200 and r.json()["stage"]["name"] == "fed_back"

    # 核查: sent back at verification; fed back again; closed with a closing code.
    r = step("town", action="return", note="现场仍未补种")
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    r = step("zj", action="resolve", note="已补种草皮并设置围挡")
    assert r.status_code == 200
    r = step("town", action="close", outcome="resolved")
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert r.json()["outcome"]["label"] == "已解决"

    # 反馈: the resident is not satisfied: the case goes back to the department.
    verdict = f"{URL}/{rid}/verdict"
    r = own_http.post(verdict, json={"receipt": receipt, "satisfied": False, "note": "草皮已枯"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_progress" and r.json()["reopens"] == 1
    assert r.json()["department"] == {"name": "德庆县住房和城乡建设局"}
    with own_engine.connect() as conn:
        assert conn.execute(
            text("SELECT department_id IS NOT NULL FROM report WHERE id = :r"), {"r": rid}
        ).scalar()
    r = step("zj", action="resolve", note="重新补种并安排养护", outcome="resolved")
    assert r.status_code == 200
    r = step("town", action="close")  # the closing code the feedback stated
    assert r.status_code == 200 and r.json()["outcome"]["code"] == "resolved"
    r = own_http.post(verdict, json={"receipt": receipt, "satisfied": True})
    assert r.status_code == 200 and r.json()["status"] == "closed"

    # The whole history, in order.
    case = own_http.get(f"/api/v1/reports/{rid}", headers=_as(tokens["zj"])).json()
    assert [s["action"] for s in case["history"]] == [
        "collect",
        "check",
        "register",
        "escalate",
        "accept",
        "resolve",
        "return",
        "resolve",
        "close",
        "evaluate",
        "reopen",
        "resolve",
        "close",
        "evaluate",
    ]
    assert case["satisfied"] is True and case["reopens"] == 1
    escalate = case["history"][3]
    assert escalate["label"] == "上报" and escalate["detail"]["department"] == "ZJ"

    # The scores count it for the department: closed on time, solved, reopened once.
    due = dt.datetime.fromisoformat(case["due_at"])
    period = {
        "start": (due - dt.timedelta(seconds=1)).isoformat(),
        "end": (due + dt.timedelta(seconds=1)).isoformat(),
        "by": "departments",
    }
    r = own_http.get(f"/api/v1/units/{spot.town}/scores", params=period)
    assert r.status_code == 200, r.text
    zj = {d["code"]: d for d in r.json()["children"]}["ZJ"]
    assert (zj["due"], zj["closed"], zj["on_time"], zj["solved"]) == (1, 1, 1, 1)
    assert (zj["reopened"], zj["reopen_rate"], zj["satisfaction"]) == (1, 1.0, 1.0)
    assert zj["responded_on_time_rate"] == 1.0


def test_department_list_names_the_handlers_to_staff_only(
    own_http: httpx.Client, spot: Spot, tokens: dict[str, str]
) -> None:
    public = own_http.get("/api/v1/departments", params={"county": spot.grid[:6]})
    assert public.status_code == 200, public.text
    body = public.json()
    assert body["county"]["name"] == "德庆县" and body["generated"] is True
    by_code = {d["code"]: d for d in body["departments"]}
    assert {"ZJ", "CG", "GA", "SC", "ZR", "SL", "WJ", "MZ", "SF"} <= set(by_code)
    assert "BJ05" in [c["code"] for c in by_code["ZJ"]["categories"]]
    assert by_code["ZJ"]["response_limit"] == "4 个工作小时"
    assert by_code["ZJ"]["feedback_limit"] == "5 个工作日"
    assert by_code["ZJ"]["handler_count"] >= 1 and "handlers" not in by_code["ZJ"]
    staff = own_http.get(
        "/api/v1/departments", params={"county": spot.grid[:6]}, headers=_as(tokens["town"])
    ).json()
    names = [h["username"] for h in {d["code"]: d for d in staff["departments"]}["ZJ"]["handlers"]]
    assert "t-walk-zj" in names
    assert own_http.get("/api/v1/departments", params={"county": "441226101"}).status_code == 422
    assert own_http.get("/api/v1/departments", params={"county": "999999"}).status_code == 404
