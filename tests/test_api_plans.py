"""Redraw plans over real HTTP on a tiny GENERATED county: draft in the background, read,
edit (refusals name why), preview the impact, publish through the boundaries checks, and two
drafts published at once (one wins, the other gets 409)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import shapely
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from gisgrid.boundaries.check import plan_import
from gisgrid.boundaries.read import RawBoundaries
from gisgrid.errors import NotFound
from tests import redraw_fixtures as fx
from tests.databases import Databases

BAND = [100, 200]


@pytest.fixture(scope="module")
def county_template(databases: Databases) -> Iterator[tuple[str, dict[str, Any]]]:
    """The worker's template with the tiny test county: made once, copied for every test."""
    with databases.derived(fx.make_county, "county") as made:
        yield made


@pytest.fixture(scope="module")
def template(county_template: tuple[str, dict[str, Any]]) -> str:
    """Each test's own database is a copy of the template with the tiny county."""
    return county_template[0]


@pytest.fixture
def county(county_template: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """The tiny test county, as it was made (each test has a fresh copy of it)."""
    return county_template[1]


# Each test drafts and publishes on the tiny county: it does so in a database of its own.
@pytest.fixture
def engine(own_engine: Engine) -> Engine:
    return own_engine


def wait_ready(http: httpx.Client, plan_id: int, timeout: float = 120) -> dict[str, Any]:
    """Poll GET /api/v1/plans/{id} until the background work is done."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        r = http.get(f"/api/v1/plans/{plan_id}")
        assert r.status_code == 200, r.text
        body = r.json()
        seen.append((body["status"], body["progress"]))
        if body["status"] in ("ready", "failed"):
            assert body["status"] == "ready", body["error"]
            return body
        time.sleep(0.2)
    raise AssertionError(f"plan {plan_id} not ready after {timeout} s: {seen[-5:]}")


def draft(http: httpx.Client, unit: str, mode: str = "balance", seed: int = 0) -> dict[str, Any]:
    r = http.post("/api/v1/plans", json={"unit": unit, "band": BAND, "mode": mode, "seed": seed})
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/api/v1/plans/{r.json()['id']}"
    return wait_ready(http, r.json()["id"])


def test_balance_draft_over_http(own_admin_http: httpx.Client, county: dict[str, Any]) -> None:
    plan = draft(own_admin_http, fx.TOWN)
    grids = plan["grids"]
    assert grids["type"] == "FeatureCollection"
    props = [f["properties"] for f in grids["features"]]
    assert {"code", "village", "households", "in_band", "polsby_popper"} <= set(props[0])
    assert all(p["in_band"] for p in props), props
    assert sum(p["households"] for p in props) == sum(fx.HOUSEHOLDS.values())
    # Codes: 15 digits in their village; kept or continued above the village's old numbers.
    for p in props:
        assert p["code"].startswith(p["village"]) and len(p["code"]) == 15
    v1 = sorted(p["code"] for p in props if p["village"] == fx.V1)
    assert len(v1) >= 2
    t = plan["summary"]["totals"]
    assert t["share_in_band"] == 1.0 and t["worst_deviation"] == 0
    assert 0 < t["mean_polsby_popper"] <= 1
    listed = own_admin_http.get("/api/v1/plans").json()
    assert plan["id"] in [p["id"] for p in listed]
    r = own_admin_http.delete(f"/api/v1/plans/{plan['id']}")
    assert r.status_code == 200 and r.json()["discarded"]
    assert own_admin_http.get(f"/api/v1/plans/{plan['id']}").status_code == 404


def test_new_codes_read_west_to_east_north_to_south(
    own_admin_http: httpx.Client, county: dict[str, Any]
) -> None:
    plan = draft(own_admin_http, fx.V1)
    fresh = [
        f
        for f in plan["grids"]["features"]
        if int(f["properties"]["code"][-3:]) > 2  # above the village's old 001-002
    ]
    pts = [shapely.from_geojson(json.dumps(f["geometry"])) for f in fresh]
    rows = [(shapely.point_on_surface(g).y, shapely.point_on_surface(g).x) for g in pts]
    codes = [f["properties"]["code"] for f in fresh]
    height = 2 * fx.KM / 2  # rows about one grid high
    order = sorted(range(len(codes)), key=lambda i: (-(rows[i][0] // height), rows[i][1]))
    assert [codes[i] for i in order] == sorted(codes)


def test_edits_recheck_the_rules(own_admin_http: httpx.Client, county: dict[str, Any]) -> None:
    plan = draft(own_admin_http, fx.TOWN)
    pid = plan["id"]
    feats = plan["grids"]["features"]
    v1 = [f["properties"]["code"] for f in feats if f["properties"]["village"] == fx.V1]
    v2 = [f["properties"]["code"] for f in feats if f["properties"]["village"] == fx.V2]
    url = f"/api/v1/plans/{pid}/edits"
    # Across the village boundary: refused, naming why.
    r = own_admin_http.post(url, json={"op": "merge", "grids": [v1[0], v2[0]]})
    assert r.status_code == 409 and r.json()["detail"] == (
        f"网格 {v1[0]} 与 {v2[0]} 分属不同的村（社区）（{'、'.join(sorted([fx.V1, fx.V2]))}）："
        "网格不能跨越村界"
    )
    # Split into two balanced parts: figures updated, codes continue the village's numbers.
    r = own_admin_http.post(url, json={"op": "split", "grid": v1[0], "parts": 2})
    assert r.status_code == 200, r.text
    after = [f["properties"] for f in r.json()["grids"]["features"]]
    assert len(after) == len(v1) + 1
    assert sum(p["households"] for p in after) == sum(
        f["properties"]["households"] for f in feats if f["properties"]["village"] == fx.V1
    )
    # Merge them back: two neighbours become one grid again.
    new = sorted(set(p["code"] for p in after) - set(v1))
    r = own_admin_http.post(url, json={"op": "merge", "grids": [v1[0], new[0]]})
    assert r.status_code == 200, r.text
    # Moving a block that does not touch the target grid breaks contiguity: refused.
    blocks = own_admin_http.get(f"/api/v1/plans/{pid}/blocks", params={"village": fx.V1}).json()
    geoms = {
        f["properties"]["block"]: shapely.from_geojson(json.dumps(f["geometry"]))
        for f in blocks["features"]
    }
    grid_of = {f["properties"]["block"]: f["properties"]["grid"] for f in blocks["features"]}
    target = v1[1]
    target_geom = shapely.union_all([g for b, g in geoms.items() if grid_of[b] == target])
    far = max(
        (b for b in geoms if grid_of[b] != target),
        key=lambda b: shapely.distance(geoms[b], target_geom),
    )
    r = own_admin_http.post(url, json={"op": "move", "block": far, "to": target})
    assert r.status_code == 409 and r.json()["detail"] == (
        f"地块 {far} 与网格 {target} 不相邻：移入后该网格将分成两块，请移动网格边缘的地块"
    )
    # A line that misses the grid is refused; bad input is a 422 naming it.
    r = own_admin_http.post(
        url,
        json={
            "op": "split",
            "grid": v1[0],
            "line": {"type": "LineString", "coordinates": [[100.0, 29.0], [100.1, 29.0]]},
        },
    )
    assert r.status_code == 409 and r.json()["detail"] == (
        f"分割线没有从一边到另一边穿过网格 {v1[0]}：请画线穿过该网格"
    )
    # A line across the grid's middle splits it: the larger side keeps the code.
    mine = shapely.union_all([g for b, g in geoms.items() if grid_of[b] == v1[0]])
    x0, _, x1, _ = mine.bounds
    y = mine.centroid.y
    across = {"type": "LineString", "coordinates": [[x0 - 0.001, y], [x1 + 0.001, y]]}
    r = own_admin_http.post(url, json={"op": "split", "grid": v1[0], "line": across})
    assert r.status_code == 200, r.text
    assert r.json()["edit"] == {
        "op": "split",
        "grid": v1[0],
        "by": "line",
        "kept": v1[0],
        "parts": 2,
    }
    r = own_admin_http.post(url, json={"op": "rotate", "grid": v1[0]})
    assert r.status_code == 422 and r.json()["detail"] == (
        "编辑方式 rotate 无效：须为 split（拆分）、merge（合并）或 move（移动地块）"
    )
    r = own_admin_http.post(url, json={"op": "split", "grid": v1[0], "line": {"type": "Point"}})
    assert r.status_code == 422 and r.json()["detail"].startswith("分割线")
    # The planner page shows these words as they come: Chinese, for the request's checks too.
    r = own_admin_http.post("/api/v1/plans", json={"unit": fx.V1, "band": [200]})
    assert r.status_code == 422
    assert r.json()["detail"] == "户数区间：项数太少（至少 2 项）（收到 [200]）", r.text
    r = own_admin_http.post("/api/v1/plans", json={"unit": fx.V1, "band": [300, 100]})
    assert r.status_code == 422 and r.json()["detail"] == (
        "户数区间 [300, 100] 无效：须为两个正整数且最少不大于最多，例如 [150, 300]"
    )
    r = own_admin_http.post("/api/v1/plans", json={"unit": "12345", "band": [100, 200]})
    assert r.status_code == 422 and r.json()["detail"].startswith("区划编码 12345 无效")


def _raw_current(engine: Engine) -> RawBoundaries:
    """The county's current grids as an import would read them."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT code, name, ST_AsBinary(geom) AS wkb FROM grid "
                "WHERE valid_to IS NULL AND code LIKE :p ORDER BY code"
            ),
            {"p": fx.COUNTY + "%"},
        ).all()
    import pyproj

    return RawBoundaries(
        source_name="current",
        sha256="",
        format="db",
        crs=pyproj.CRS.from_epsg(4326),
        codes=np.array([r.code for r in rows], dtype=object),
        names=np.array([r.name for r in rows], dtype=object),
        parents=None,
        geoms=shapely.from_wkb([r.wkb for r in rows]),
    )


def test_impact_then_publish_then_locate(
    own_admin_http: httpx.Client, county: dict[str, Any], engine: Engine
) -> None:
    plan = draft(own_admin_http, fx.TOWN, mode="minimal_change")
    pid = plan["id"]
    totals = plan["summary"]["totals"]
    assert totals["share_in_band"] == 1.0
    assert totals["households_moved"] > 0
    imp = own_admin_http.get(f"/api/v1/plans/{pid}/impact").json()
    assert imp["households_changing_grid"] == totals["households_moved"]
    before = {g["code"]: g for g in imp["grids"]}
    assert before[fx.V1 + "001"]["households_before"] == fx.HOUSEHOLDS[fx.V1 + "001"]
    assert imp["diff"]["features"] and imp["lineage"]
    assert all(g["staff_after"] for g in imp["grids"] if g["households_after"])
    r = own_admin_http.post(f"/api/v1/plans/{pid}/publish", json={})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["checks"]["errors"] == 0
    # What publishing recorded is what the preview said.
    assert out["commit"]["lineage"] == imp["lineage_counts"]
    # Every published plan passes the boundaries checks, re-read from the database.
    with engine.connect() as conn:
        assert plan_import(conn, _raw_current(engine), "grid").errors == 0
    # locate answers with the new generation's grid.
    moved = [m for m in imp["moves"] if m["households"]][0]
    with engine.connect() as conn:
        x, y = conn.execute(
            text(
                "SELECT ST_X(h.geom), ST_Y(h.geom) FROM household h JOIN grid g "
                "ON g.id = h.grid_id WHERE g.valid_to IS NULL AND g.code = :c "
                "ORDER BY h.id LIMIT 1"
            ),
            {"c": moved["to"]},
        ).one()
    loc = own_admin_http.get("/api/v1/locate", params={"lon": x, "lat": y}).json()
    assert loc["grid"]["code"] == moved["to"]
    assert loc["grid"].get("generation", out["generation"]["name"]) == out["generation"]["name"]
    # The plan now says published; a second publish is refused.
    assert own_admin_http.get(f"/api/v1/plans/{pid}").json()["status"] == "published"
    assert own_admin_http.post(f"/api/v1/plans/{pid}/publish", json={}).status_code == 409


def test_two_drafts_published_at_once(own_admin_http: httpx.Client, county: dict[str, Any]) -> None:
    a = draft(own_admin_http, fx.TOWN, seed=1)
    b = draft(own_admin_http, fx.V1, mode="minimal_change")
    results: dict[int, httpx.Response] = {}
    go = threading.Barrier(2)

    def publish(pid: int) -> None:
        with httpx.Client(
            base_url=str(own_admin_http.base_url), headers=own_admin_http.headers, timeout=120
        ) as c:
            go.wait()
            results[pid] = c.post(f"/api/v1/plans/{pid}/publish", json={})

    threads = [threading.Thread(target=publish, args=(p["id"],)) for p in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results.values())
    assert codes == [200, 409], {k: (v.status_code, v.text[:300]) for k, v in results.items()}
    loser = next(r for r in results.values() if r.status_code == 409).json()
    assert loser["error"] == "StalePlan"
    assert "已不是现行版本" in loser["detail"] and "test-990300-1" in loser["detail"]


# --- What a planner reads: Chinese, with the values that matter ------------------------------

PASSWORD = "planner words password"
# Latin a planner may meet in Chinese text: the sign-in endpoint, and a crash's kind.
_LATIN_OK = {"POST", "api", "v1", "auth", "token", "Authorization", "Bearer", "ProgrammingError"}


def english(text: str) -> list[str]:
    """Words of Latin letters in `text` that are not codes, endpoints or names kept as they are."""
    return sorted(set(re.findall(r"[A-Za-z]{2,}", text)) - _LATIN_OK)


def _token(http: httpx.Client, engine: Engine, role: str, scope: str) -> dict[str, str]:
    from gisgrid.access import accounts

    name = f"t-{role[:8]}-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        accounts.create_account(conn, name, PASSWORD, role, scope)
    r = http.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_sign_in_and_permission_refusals_are_said_in_chinese(
    own_http: httpx.Client, county: dict[str, Any], engine: Engine
) -> None:
    body = {"unit": fx.TOWN, "band": BAND}
    anon = own_http.post("/api/v1/plans", json=body)
    assert anon.status_code == 401 and anon.headers["www-authenticate"] == "Bearer"
    assert anon.json()["detail"].startswith("生成重划方案需要先登录")
    listing = own_http.get("/api/v1/plans")
    assert listing.status_code == 401 and listing.json()["detail"].startswith("查看重划方案列表")
    bad = own_http.get("/api/v1/plans", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401 and bad.json()["detail"] == "登录令牌无效或已注销：请重新登录"
    worker = _token(own_http, engine, "grid_worker", fx.TOWN)
    role = own_http.post("/api/v1/plans", json=body, headers=worker)
    assert role.status_code == 403
    assert role.json()["detail"] == (
        "生成重划方案需要管理员、县综治中心、规划员的账号；当前账号是网格员"
    )
    planner = _token(own_http, engine, "planner", fx.V2)
    scope = own_http.post("/api/v1/plans", json=body, headers=planner)
    assert scope.status_code == 403
    assert scope.json()["detail"].startswith("生成重划方案超出本账号的管辖范围：990300001")
    # The planner's page refuses a grid worker in Chinese too (its error page, for a browser).
    page = own_http.get(
        "/maps/planner", params={"unit": fx.TOWN}, headers=worker | {"Accept": "text/html"}
    )
    assert page.status_code == 403 and "text/html" in page.headers["content-type"]
    assert "打开网格规划图需要" in page.text and "当前账号是网格员" in page.text
    for r in (anon, listing, bad, role, scope):
        assert not english(r.json()["detail"]), r.json()["detail"]
    # Every route says them in Chinese; a caller who chose English reads English, but not here.
    other = own_http.get("/api/v1/households", params={"grid": fx.V1 + "001"})
    assert other.status_code == 401 and other.json()["detail"].startswith("查看住户登记需要先登录")
    chose = own_http.get("/api/v1/households", params={"grid": fx.V1 + "001", "lang": "en"})
    assert chose.status_code == 401 and "needs a signed-in account" in chose.json()["detail"]
    plans_en = own_http.get("/api/v1/plans", params={"lang": "en"})
    assert plans_en.status_code == 401 and not english(plans_en.json()["detail"])


def test_a_refused_publish_says_the_checks_in_chinese(
    own_admin_http: httpx.Client, county: dict[str, Any], engine: Engine
) -> None:
    plan = draft(own_admin_http, fx.V1)
    pid = plan["id"]
    with engine.begin() as conn:
        # One changed grid swells ~300 m: over its neighbours and out of its village.
        grown = conn.execute(
            text(
                "UPDATE redraw_plan_grid SET geom = ST_Multi(ST_Buffer(geom, 0.003)) "
                "WHERE plan_id = :p AND code = (SELECT min(code) FROM redraw_plan_grid "
                "WHERE plan_id = :p AND changed) RETURNING code"
            ),
            {"p": pid},
        ).scalar_one()
    r = own_admin_http.post(f"/api/v1/plans/{pid}/publish", json={})
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert r.json()["error"] == "ImportRefused"
    assert detail.startswith("草案未通过边界检查，共 ") and "未写入任何数据" in detail
    assert f"网格 {grown} 有 " in detail and f"超出所属村（社区）{fx.V1}" in detail
    assert "相互重叠" in detail and grown in detail
    assert not english(detail), detail
    # Nothing was written: the plan is still a draft.
    assert own_admin_http.get(f"/api/v1/plans/{pid}").json()["status"] == "ready"


def test_a_failed_plan_says_why_in_chinese(
    own_admin_http: httpx.Client, county: dict[str, Any], engine: Engine
) -> None:
    from gisgrid.access import COMMAND_LINE
    from gisgrid.redraw import plans

    with engine.begin() as conn:
        empty, crash, silent = (
            plans.create_plan(conn, COMMAND_LINE, fx.TOWN, BAND)["id"] for _ in range(3)
        )
        # A unit without villages (refused by the core with a reason), a worker silent for 11
        # minutes, and (below) a draft that cannot be written: an error the core has no words for.
        conn.execute(
            text("UPDATE redraw_plan SET unit_code = '990300099' WHERE id = :i"), {"i": empty}
        )
        conn.execute(
            text(
                "UPDATE redraw_plan SET status = 'running', "
                "updated_at = now() - interval '11 minutes' WHERE id = :i"
            ),
            {"i": silent},
        )
    with pytest.raises(NotFound):
        plans.run_plan(engine, empty)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE redraw_plan_block RENAME TO redraw_plan_block_away"))
    with pytest.raises(ProgrammingError):
        plans.run_plan(engine, crash)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE redraw_plan_block_away RENAME TO redraw_plan_block"))
    said = {
        pid: own_admin_http.get(f"/api/v1/plans/{pid}").json() for pid in (empty, crash, silent)
    }
    assert said[empty]["error"] == "990300099 下没有带边界的村（社区），无法重划"
    assert said[crash]["error"].startswith("计算出错（ProgrammingError），未生成草案")
    assert said[silent]["error"].startswith("计算进程已超过 10 分钟没有报告进度")
    for body in said.values():
        assert body["status"] == "failed" and body["message"] == "计算失败"
        assert not english(body["error"]), body["error"]
    # The core's words stay for whoever reads the log.
    assert "no villages with a boundary" in said[empty]["error_detail"]
    listed = {p["id"]: p for p in own_admin_http.get("/api/v1/plans").json()}
    assert listed[empty]["message"] == "计算失败"


def test_the_plan_command_speaks_chinese(own_database_url: str, county: dict[str, Any]) -> None:
    env = {**os.environ, "GISGRID_DATABASE_URL": own_database_url}
    cli = [sys.executable, "-m", "gisgrid.cli", "plan"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cli, *args], env=env, capture_output=True, text=True, timeout=300, check=False
        )

    made = run("balance", "--unit", fx.V1, "--band", "100,200")
    assert made.returncode == 0, made.stderr
    out = made.stdout
    assert re.search(r"方案 \d+：990300001001 均衡重划，基于网格版本 ", out)
    assert re.search(r"gisgrid: 95% 保存草案", out) and "第 1/1 个村（社区）：990300001001" in out
    assert re.search(r"\[已生成草案\] \d+ 个网格，可行网格在区间内 100\.0%", out)
    assert "平均紧凑度（Polsby-Popper）" in out and "变更网格" in out
    pid = re.search(r"方案 (\d+)：", out)[1]  # type: ignore[index]
    listed = run("list")
    assert listed.returncode == 0 and f"方案 {pid}：990300001001 均衡重划" in listed.stdout
    # A village the band does not fit says so, in Chinese, under its figures.
    small = run("balance", "--unit", fx.V2, "--band", "160,300")
    assert small.returncode == 0, small.stderr
    assert (
        f"  {fx.V2} " in small.stdout
        and "150 户，少于每格最少 160 户：全村一个网格" in small.stdout
    )
    gone = run("show", "999999")
    assert gone.returncode == 2 and gone.stderr.strip() == "gisgrid: 错误：没有编号为 999999 的方案"
    bad = run("balance", "--unit", "12345", "--band", "100,200")
    assert bad.returncode == 2 and "区划编码 12345 无效" in bad.stderr
    for text_ in (out, small.stdout, listed.stdout, gone.stderr, bad.stderr):
        # The generation's name (test-990300-1) and the gisgrid prefix are names, not words.
        plain = re.sub(r"test-\d+-\d+|gisgrid|Polsby-Popper", "", text_)
        assert not english(plain), text_
