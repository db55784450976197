"""The planner's drafting table in real Chromium (1920x1080): run balance on a tiny GENERATED
county, make one edit, read the impact, publish; `locate` then answers with the new grid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import shapely
from playwright.sync_api import Browser
from sqlalchemy import Engine, text

from tests import redraw_fixtures as fx
from tests.browser import signed_in_context, small_controls, visible_latin_words

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCREEN = {"width": 1920, "height": 1080}
# Latin a Chinese planner page may show: names in the fixture's data, its generation
# (test-990300-1) and its county's label on the basemap ("测试县(redraw, generated)").
DATA_WORDS = frozenset({"test", "redraw", "generated"})


def _english_on(page) -> list[str]:  # type: ignore[no-untyped-def]
    """English words on the page, with every draft and current grid's tooltip open."""
    page.evaluate(
        """() => { const g = window.gisgrid, cur = window[g.cfg.grids];
          // The current grids share one tooltip (folium binds it to the layer group).
          if (cur && cur.getTooltip && cur.getTooltip())
            cur.openTooltip(cur.getLayers()[0].getBounds().getCenter());
          if (g.redraw && g.redraw.layer) g.redraw.layer.eachLayer(
            l => l.openTooltip(l.getBounds().getCenter())); }"""
    )
    words = visible_latin_words(page, DATA_WORDS)
    page.evaluate(
        """() => { const g = window.gisgrid, cur = window[g.cfg.grids];
          if (cur && cur.closeTooltip) cur.closeTooltip();
          if (g.redraw && g.redraw.layer) g.redraw.layer.eachLayer(l => l.closeTooltip()); }"""
    )
    return words


seed_template = fx.make_county  # the tiny test county (the page publishes a generation of it)


@pytest.fixture(scope="module")
def county(seed: dict[str, Any]) -> dict[str, Any]:
    return seed


def test_planner_runs_balance_edits_and_publishes(
    browser: Browser,
    own_server: str,
    admin_token: str,
    own_admin_http: httpx.Client,
    own_engine: Engine,
    county: dict[str, Any],
) -> None:
    context = signed_in_context(browser, admin_token, viewport=SCREEN)
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{own_server}/maps/planner?unit={fx.TOWN}", wait_until="load")
    page.wait_for_function("document.body.getAttribute('data-gisgrid-ready') === '1'")
    # Chinese first: no English word in the panel, legend, layer names or grid tooltips;
    # every control in the panel big enough for a finger.
    assert page.text_content("#gg-plan-run") == "运行"
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert not (english := _english_on(page)), english
    assert not (small := small_controls(page, ".gg-panel")), small
    page.select_option("#gg-plan-unit", fx.TOWN + "000")
    page.fill("#gg-band-min", "100")
    page.fill("#gg-band-max", "200")
    page.click("#gg-plan-run")
    page.wait_for_function("document.body.hasAttribute('data-plan-ready')", timeout=120_000)
    plan_id = int(page.get_attribute("body", "data-plan-ready") or 0)
    rows = page.locator("#gg-plan-table tbody tr")
    assert rows.count() >= 3
    assert not (english := _english_on(page)), english
    assert not (small := small_controls(page, ".gg-panel")), small
    # A refusal the page words itself: merge asks for two grids.
    page.click("#gg-edit-merge")
    assert page.text_content("#gg-plan-msg") == "请先选两个相邻的网格再合并。"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "redraw-planner-draft.png"))
    # One edit: split the first grid of 一村 in two.
    first = page.locator(f"#gg-plan-table tbody tr[data-code^='{fx.V1}']").first
    code = first.get_attribute("data-code")
    first.click()
    page.click("#gg-edit-split")
    page.wait_for_function("document.body.getAttribute('data-plan-edits') === '1'")
    assert "未执行" not in (page.text_content("#gg-plan-msg") or "")
    assert page.locator("#gg-plan-table tbody tr").count() == rows.count()
    page.click("#gg-plan-impact")
    page.wait_for_function("document.body.getAttribute('data-plan-impact') === '1'")
    assert "变更网格的住户" in (page.text_content("#gg-plan-impact-out") or "")
    assert "版本谱系" in (page.text_content("#gg-plan-impact-out") or "")
    assert not (english := _english_on(page)), english
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "redraw-planner-1920.png"))
    page.click("#gg-plan-publish")
    page.wait_for_function("document.body.hasAttribute('data-published')", timeout=120_000)
    generation = page.get_attribute("body", "data-published")
    assert generation and generation.startswith(fx.COUNTY)
    assert (page.text_content("#gg-plan-published") or "").startswith("已发布为 ")
    assert not (english := _english_on(page)), english
    assert not errors, errors
    assert not [u for u in requests if urlparse(u).hostname not in ("127.0.0.1", None)]
    context.close()
    # locate answers with the new grid: a household of the split grid lands in the published
    # grid that holds it in the draft.
    plan = own_admin_http.get(f"/api/v1/plans/{plan_id}").json()
    assert plan["status"] == "published"
    grids = {
        f["properties"]["code"]: shapely.from_geojson(json.dumps(f["geometry"]))
        for f in plan["grids"]["features"]
    }
    with own_engine.connect() as conn:
        pts = conn.execute(
            text(
                "SELECT ST_X(h.geom), ST_Y(h.geom) FROM household h JOIN grid g "
                "ON g.id = h.grid_id WHERE g.valid_to IS NULL AND g.village_code = :v "
                "ORDER BY h.id LIMIT 40"
            ),
            {"v": fx.V1},
        ).all()
    checked = 0
    for x, y in pts:
        want = [c for c, g in grids.items() if g.contains(shapely.Point(x, y))]
        if len(want) != 1:
            continue  # on an edge
        loc = own_admin_http.get("/api/v1/locate", params={"lon": x, "lat": y})
        assert loc.status_code == 200, loc.text
        assert loc.json()["grid"]["code"] == want[0]
        checked += 1
    assert checked >= 20
    assert code  # the edited grid existed in the draft


def test_planner_in_english_on_request(
    own_admin_http: httpx.Client, county: dict[str, Any]
) -> None:
    """?lang=en: the same page from the English catalogue, with a switch back to Chinese."""
    r = own_admin_http.get("/maps/planner", params={"unit": fx.TOWN, "lang": "en"})
    assert r.status_code == 200, r.text
    assert '<html lang="en">' in r.text
    for words in ("grid planning", "Grid generation", "Redraw grids", ">Run</button>", "中文"):
        assert words in r.text, words
    assert "运行" not in r.text and "重新划分网格" not in r.text
    assert '"planner.run": "Run"' in r.text  # the script's words come in the page's language
    zh = own_admin_http.get("/maps/planner", params={"unit": fx.TOWN, "lang": "zh"}).text
    assert ">运行</button>" in zh and '"planner.run": "运行"' in zh and ">English</a>" in zh
