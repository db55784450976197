"""The monthly bulletin (通报) and the red and black lists (红黑榜), over real HTTP and in Chromium.

The demo county's GENERATED cases cover last month, so its bulletin has figures: they must be
the scores endpoint's for the same period, the CSV must parse to the same, the A4 page must render
in Chromium with its Chinese text and map (screenshot checked, not blank), and the PNG map too.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageStat
from playwright.sync_api import Browser
from sqlalchemy import Connection, Engine, text

from gisgrid.access import COMMAND_LINE
from gisgrid.errors import InvalidReport
from gisgrid.reports import rankings
from tests.databases import sign_up

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PASSWORD = "bulletin-password-1"


@pytest.fixture(scope="module")
def month() -> str:
    """The last complete month: the demo's generated cases cover it."""
    return rankings.month_period(None)[0]


def seed_template(engine: Engine) -> dict[str, str]:
    """A county operator of the demo county, a town operator of one town, a grid worker."""
    with engine.connect() as conn:
        grid = conn.execute(
            text("SELECT code FROM grid WHERE valid_to IS NULL ORDER BY code LIMIT 1")
        ).scalar_one()
    plan = {
        "county": ("county_operator", "441226"),
        "town": ("town_operator", grid[:9]),
        "worker": ("grid_worker", grid),
    }
    return sign_up(engine, plan, PASSWORD, "t-bul")


@pytest.fixture(scope="module")
def tokens(seed: dict[str, str]) -> dict[str, str]:
    return seed


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_bulletin_figures_are_the_scores_endpoints(
    own_http: httpx.Client, tokens: dict[str, str], month: str
) -> None:
    r = own_http.get(
        "/api/v1/units/441226/bulletin", params={"month": month}, headers=_as(tokens["county"])
    )
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["title"] == "德庆县网格化服务管理工作通报" and b["month"] == month
    assert b["complete"] is True and b["generated"] is True
    assert b["unit"]["due"] > 300  # one generated case per grid and 30 days, more or less
    scores = own_http.get(
        "/api/v1/units/441226/scores", params={"start": b["start"], "end": b["end"]}
    ).json()
    # Every figure the scores endpoint gives, the bulletin gives the same (and adds its triage).
    assert {k: b["unit"][k] for k in scores["unit"]} == scores["unit"]
    assert [(c["code"], c["rank"]) for c in b["children"]] == [
        (c["code"], c["rank"]) for c in scores["children"]
    ]
    for mine, theirs in zip(b["children"], scores["children"], strict=True):
        assert {k: mine[k] for k in theirs} == theirs
    by_dept = own_http.get(
        "/api/v1/units/441226/scores",
        params={"start": b["start"], "end": b["end"], "by": "departments"},
    ).json()["children"]
    assert [(d["code"], d["due"], d["on_time"]) for d in b["departments"]] == [
        (d["code"], d["due"], d["on_time"]) for d in by_dept
    ]
    assert b["departments"], "the generated month whistles cases to departments"
    # 三事分流 of the month's intake, and the lists of every level a county has.
    mix = b["unit"]["triage"]
    assert mix["total"] == mix["private"] + mix["collective"] + mix["public"] > 0
    assert set(b["red_black"]) == {"towns", "villages", "workers", "departments"}
    assert len(b["map"]["children"]["features"]) == 13


def test_bulletin_csv_parses_to_the_same_figures(
    own_http: httpx.Client, tokens: dict[str, str], month: str
) -> None:
    headers = _as(tokens["county"])
    b = own_http.get(
        "/api/v1/units/441226/bulletin", params={"month": month}, headers=headers
    ).json()
    r = own_http.get(
        "/api/v1/units/441226/bulletin", params={"month": month, "format": "csv"}, headers=headers
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    total = [row for row in rows if row["section"] == "总体"]
    assert len(total) == 1
    for k in ("due", "closed", "on_time", "overdue"):
        assert int(total[0][k]) == b["unit"][k], k
    assert float(total[0]["on_time_rate"]) == b["unit"]["on_time_rate"]
    towns = [row for row in rows if row["section"] == "下级"]
    assert [row["name"] for row in towns] == [c["name"] for c in b["children"]]
    assert any(row["section"].startswith("红榜") for row in rows)


def _spread(png: bytes) -> float:
    img = Image.open(io.BytesIO(png)).convert("L")
    return float(ImageStat.Stat(img).stddev[0])


def test_bulletin_page_and_map_render_in_chromium(
    browser: Browser, own_server: str, own_http: httpx.Client, tokens: dict[str, str], month: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    headers = _as(tokens["county"])
    png = own_http.get(
        "/api/v1/units/441226/bulletin", params={"month": month, "format": "png"}, headers=headers
    )
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    (ARTIFACTS / "bulletin-map.png").write_bytes(png.content)
    img = Image.open(io.BytesIO(png.content))
    assert img.size == (1600, 1130) and _spread(png.content) > 10
    assert "wqy" in img.info.get("Font", "")  # a CJK font drew the labels, not boxes
    context = browser.new_context(
        viewport={"width": 794, "height": 1123}, extra_http_headers=headers
    )  # A4 at 96 dpi
    requests: list[str] = []
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("request", lambda req: requests.append(req.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(
            f"{own_server}/api/v1/units/441226/bulletin?month={month}&format=html",
            wait_until="load",
        )
        body = page.text_content("body") or ""
        for words in ("德庆县网格化服务管理工作通报", "一、总体情况", "按期结案率", "红榜", "黑榜"):
            assert words in body, words
        assert "演示数据" in body  # the GENERATED data says so, in Chinese
        # The map is embedded and drawn (its natural size is the PNG's).
        width = page.evaluate("document.querySelector('img.map').naturalWidth")
        assert width == 1600
        shot = page.screenshot(path=str(ARTIFACTS / "bulletin-a4.png"), full_page=True)
        assert _spread(shot) > 10, "the bulletin screenshot looks blank"
        # Chinese glyphs take space: a page of boxes or nothing would be far shorter.
        height = page.evaluate("document.body.scrollHeight")
        assert height > 1123
        pdf = page.pdf(format="A4", print_background=True)
        (ARTIFACTS / "bulletin-a4.pdf").write_bytes(pdf)
        assert pdf[:4] == b"%PDF" and pdf.count(b"/Type /Page") >= 2
        assert not errors, errors
        assert all(u.startswith((own_server, "data:")) for u in requests), requests  # no CDN
    finally:
        context.close()


def test_bulletin_and_lists_are_for_staff_in_scope(
    own_http: httpx.Client, tokens: dict[str, str], month: str
) -> None:
    url = "/api/v1/units/441226/bulletin"
    assert own_http.get(url, params={"month": month}).status_code == 401
    r = own_http.get(url, params={"month": month}, headers=_as(tokens["town"]))
    assert r.status_code == 403 and "管辖范围" in r.json()["detail"]
    town = own_http.get("/api/v1/auth/me", headers=_as(tokens["town"])).json()["scope"]
    r = own_http.get(f"/api/v1/units/{town}/bulletin", params={"month": month},
                 headers=_as(tokens["town"]))  # fmt: skip
    assert r.status_code == 200 and set(r.json()["red_black"]) == {
        "villages",
        "workers",
        "departments",
    }
    r = own_http.get(url, params={"month": "2025-13"}, headers=_as(tokens["county"]))
    assert r.status_code == 422 and "2025-13" in r.json()["detail"]
    r = own_http.get(url, params={"month": month, "format": "docx"}, headers=_as(tokens["county"]))
    assert r.status_code == 422 and "docx" in r.json()["detail"]
    assert own_http.get("/api/v1/units/441226/redblack").status_code == 401
    r = own_http.get(
        "/api/v1/units/441226/redblack", params={"month": month}, headers=_as(tokens["county"])
    )
    assert r.status_code == 200 and r.json()["lists"]["towns"]["red"]


def test_red_and_black_lists_follow_the_rules(
    conn: Connection, demo_county: str, month: str
) -> None:
    rules = rankings.rules_from(
        {"towns": {"top": 2, "bottom": 2, "min_cases": 1}, "villages": {"measure": "solved_rate"}}
    )
    got = rankings.red_black(conn, COMMAND_LINE, "441226", month, rules=rules)
    towns = got["lists"]["towns"]
    assert towns["rule"]["top"] == 2 and len(towns["red"]) == 2 and len(towns["black"]) == 2
    red, black = [e["code"] for e in towns["red"]], [e["code"] for e in towns["black"]]
    assert not set(red) & set(black)
    # Red is the best on-time rates, black the worst (worst first), of the towns ranked.
    values = sorted((e["value"] for e in towns["red"] + towns["black"]), reverse=True)
    assert [e["value"] for e in towns["red"]] == values[:2]
    assert towns["black"][0]["value"] == min(values)
    villages = got["lists"]["villages"]
    assert villages["rule"]["label"] == "解决率"
    assert all(e["due"] >= 5 for e in villages["red"] + villages["black"])
    with pytest.raises(InvalidReport, match="measure='speed'"):
        rankings.rules_from({"towns": {"measure": "speed"}})
    with pytest.raises(InvalidReport, match="level 'grids'"):
        rankings.rules_from({"grids": {"top": 1}})


def test_bulletin_from_the_command_line(
    own_database_url: str,
    month: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`gisgrid bulletin` (in-process: the command's own code, without a second interpreter)."""
    from gisgrid.cli import main

    monkeypatch.setenv("GISGRID_DATABASE_URL", own_database_url)
    out = tmp_path / "bulletin.csv"
    assert main(["bulletin", "--unit", "441226", "--month", month, "-o", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    assert rows[0]["section"] == "总体" and int(rows[0]["due"]) > 0
    assert "德庆县" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="x.docx"):
        main(["bulletin", "--unit", "441226", "-o", str(tmp_path / "x.docx")])
