"""The residents' pages as residents use them, in Chromium: a phone finds its village by name
and files a report on the basemap; Chinese only; thumb-sized; nothing fetched from outside; a
desktop places a report with a click; the follow-up pages are friendly about wrong numbers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine, text

from bench.common import one
from tests.browser import clean_page, small_controls, visible_latin_words

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE = {"width": 390, "height": 844}
MARK = "resident page test "
# Latin words the map may show: the basemap's licence line names OpenStreetMap (ODbL).
MAP_WORDS = {"OpenStreetMap", "ODbL"}


@pytest.fixture(scope="module")
def village(engine: Engine, demo_county: str) -> dict[str, str]:
    """A demo village with a name of its own (no other unit's name contains it)."""
    with engine.connect() as conn:
        row = one(
            conn,
            "SELECT a.code, a.name FROM admin_unit a WHERE a.level = 'village' "
            "AND a.code LIKE '441226%' AND a.name LIKE '%村委会' AND NOT EXISTS ("
            "SELECT 1 FROM admin_unit b WHERE b.code <> a.code "
            "AND b.name LIKE '%' || replace(a.name, '委会', '') || '%') "
            "ORDER BY a.code LIMIT 1",
        )
    return {"code": row.code, "name": row.name, "short": row.name.replace("委会", "")}


def _small_text(page: Page) -> list[str]:
    """Visible text in the form set smaller than 16 px."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.gg-sheet *, .gg-search *')]
        .filter(e => e.childNodes.length && [...e.childNodes].some(n => n.nodeType === 3 &&
          n.textContent.trim()) && e.getBoundingClientRect().height > 0 &&
          parseFloat(getComputedStyle(e).fontSize) < 16)
        .map(e => `${e.tagName} ${e.textContent.trim().slice(0, 20)}
          ${getComputedStyle(e).fontSize}`)"""
    )


def _latin(page: Page) -> list[str]:
    return [w for w in visible_latin_words(page) if w not in MAP_WORDS]


def test_a_resident_finds_the_village_and_files_on_the_basemap(
    browser: Browser, server: str, engine: Engine, village: dict[str, str]
) -> None:
    with clean_page(browser, server, viewport=PHONE) as page:
        page.goto(f"{server}/report")
        page.wait_for_function("document.body.getAttribute('data-gisgrid-ready') === '1'")
        # The basemap draws: its tiles are asked for and place names are on the map.
        page.wait_for_function("Number(document.body.getAttribute('data-labels')) > 0")
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert not _latin(page), _latin(page)
        assert not small_controls(page), small_controls(page)
        assert not _small_text(page), _small_text(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "resident-phone.png"))

        # Search the village by the name people use ("古杏村" for "古杏村委会").
        page.fill(".gg-search input", village["short"])
        page.wait_for_selector(".gg-search-results button")
        first = page.locator(".gg-search-results button").first
        assert village["name"] in (first.text_content() or "")
        assert not small_controls(page), small_controls(page)
        first.click()
        page.wait_for_function(
            f"document.body.getAttribute('data-found') === 'village:{village['code']}'"
        )
        page.wait_for_timeout(900)  # the fly to the village
        assert page.evaluate("window.gisgridBase.map.getZoom()") >= 13
        tiles = page.evaluate(
            "performance.getEntriesByType('resource').map(e => e.name)"
            ".filter(n => n.includes('/tiles/basemap/'))"
        )
        assert tiles and all("v=" in t for t in tiles)
        # Tap the middle of the map above the form (the village). At village zoom a finger is
        # too coarse: the first tap zooms in there, the second places the problem, named by
        # its grid.
        sheet = page.locator(".gg-sheet").bounding_box()
        assert sheet is not None
        middle = (PHONE["width"] / 2, (20 + sheet["y"]) / 2)
        page.mouse.click(*middle)
        assert "再点一次" in (page.text_content("#gg-where") or "")
        page.wait_for_timeout(500)
        page.mouse.click(*middle)
        page.wait_for_function("document.body.getAttribute('data-picked') === '1'")
        page.wait_for_function("(document.body.getAttribute('data-picked-grid') || '').length")
        grid = page.get_attribute("body", "data-picked-grid") or ""
        assert grid.startswith(village["code"]), (grid, village)
        assert "已选位置" in (page.text_content("#gg-where") or "")
        page.select_option("select[name=service_code]", "SJ01")
        page.fill("textarea[name=description]", MARK + "垃圾堆在路口")
        page.click("#gg-send")
        page.wait_for_function("document.body.getAttribute('data-filed')")
        filed = int(page.get_attribute("body", "data-filed") or 0)
        result = page.text_content("#gg-result") or ""
        # A resident's report is checked on site first (核查, issue 17): the answer names the
        # check's limit; the case's own limit starts once it is registered.
        assert f"编号 {filed}" in result and "前到现场核查" in result
        assert not _latin(page), _latin(page)
        page.screenshot(path=str(ARTIFACTS / "resident-phone-filed.png"))
        stored = one(
            engine,
            "SELECT g.code FROM report r JOIN grid g ON g.id = r.grid_id WHERE r.id = :i",
            i=filed,
        )
        assert stored.code == grid
        # The follow-up page, in Chinese, from the link the phone keeps.
        page.click("#gg-track")
        page.wait_for_url(lambda u: f"/report/{filed}" in u)
        assert "已提交，待现场核查" in (page.text_content("#status") or "")
        assert "现场核查时限" in (page.text_content("body") or "")
        assert not _latin(page), _latin(page)
        assert not small_controls(page), small_controls(page)
        page.screenshot(path=str(ARTIFACTS / "progress-phone.png"))


def test_a_desktop_click_sets_the_place(browser: Browser, server: str) -> None:
    """1280x720: the form beside the map, the view a real one (no NaN), a click places."""
    with clean_page(browser, server, viewport={"width": 1280, "height": 720}) as page:
        page.goto(f"{server}/report")
        page.wait_for_function("document.body.getAttribute('data-gisgrid-ready') === '1'")
        view = page.evaluate(
            "(() => { const m = window.gisgridBase.map, c = m.getCenter(); "
            "return [c.lat, c.lng, m.getZoom()]; })()"
        )
        assert all(v == v for v in view) and 8 <= view[2] <= 12, view  # no NaN, the county
        # Zoomed out, a click zooms in to it; zoomed in, a click places the problem.
        page.mouse.click(850, 360)
        page.wait_for_timeout(400)
        assert page.evaluate("window.gisgridBase.map.getZoom()") >= 14
        assert page.get_attribute("body", "data-picked") is None
        page.mouse.click(850, 360)
        page.wait_for_function("document.body.getAttribute('data-picked') === '1'")
        page.screenshot(path=str(ARTIFACTS / "resident-desktop.png"))


def test_following_a_report_with_a_wrong_number_is_a_friendly_page(
    http: httpx.Client, engine: Engine
) -> None:
    with engine.connect() as conn:  # a report that exists (ids change when the demo reloads)
        some = conn.execute(text("SELECT min(id) FROM report")).scalar_one()
    html = {"Accept": "text/html"}
    r = http.get("/report/track", headers=html)
    assert r.status_code == 200 and 'name="id"' in r.text and "查询办理进度" in r.text
    r = http.get("/report/track", params={"id": "abc"}, headers=html)
    assert r.status_code == 200 and "不是报告编号" in r.text and "abc" in r.text
    r = http.get("/report/track", params={"id": "<b>x</b>"}, headers=html)
    assert "<b>x</b>" not in r.text  # escaped
    r = http.get("/report/track", params={"id": " #12 "}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/report/12"
    r = http.get("/report/999999999", headers=html)
    assert r.status_code == 404 and "没有编号为 999999999 的报告" in r.text
    with httpx.Client(base_url=str(http.base_url)) as own:  # its language cookie stays here
        assert "Follow a report" in own.get("/report/track?lang=en").text
    # A link cannot put words on the page: only the site's own messages after a rating.
    r = http.get(f"/report/{some}", params={"said": "your account is blocked, call 123"})
    assert r.status_code == 200 and "id='said'" not in r.text
    assert "谢谢您的评价" in http.get(f"/report/{some}", params={"said": "thanks"}).text
