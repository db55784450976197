"""Every visitor has a home: `/` by role, sign-in failures and errors as pages, Chinese first."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine

from bench.common import one
from gisgrid.access import accounts
from tests.browser import small_controls, visible_latin_words

PASSWORD = "a long test password"
HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture(scope="module")
def place(engine: Engine, demo_county: str) -> dict[str, str]:
    """A village of the demo county with more than one grid, and one of its grids."""
    with engine.connect() as conn:
        row = one(
            conn,
            "SELECT village_code, min(code) AS grid FROM grid WHERE valid_to IS NULL "
            "GROUP BY village_code HAVING count(*) > 1 ORDER BY village_code LIMIT 1",
        )
    return {"village": row.village_code, "grid": row.grid, "town": row.village_code[:9]}


@pytest.fixture
def account(own_engine: Engine) -> Iterator[object]:
    """Make accounts of a role and scope in the test's own database; returns the username."""

    def make(role: str, scope: str) -> str:
        name = f"t-home-{role}"
        with own_engine.begin() as conn:
            accounts.create_account(conn, name, PASSWORD, role, scope)
        return name

    yield make


@contextmanager
def _signed_in(server: str, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30, headers=HTML) as client:
        r = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/"})
        assert r.status_code == 303, r.text
        yield client


def test_the_public_lands_on_the_report_page(http: httpx.Client) -> None:
    r = http.get("/", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/report"


@pytest.mark.parametrize(
    ("role", "scope_of", "lands"),
    [
        ("grid_worker", "grid", "/maps/worker?grid={grid}"),
        ("county_operator", "county", "/maps/center?unit={county}"),
        ("town_operator", "town", "/maps/center?unit={town}"),
        ("planner", "county", "/maps/planner?unit={county}"),
    ],
)
def test_an_account_lands_on_its_own_map(
    own_server: str, account, place: dict[str, str], role: str, scope_of: str, lands: str
) -> None:
    codes = place | {"county": place["grid"][:6]}
    name = account(role, codes[scope_of])
    with _signed_in(own_server, name) as client:
        r = client.get("/", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == lands.format(**codes)
        assert client.get(r.headers["location"]).status_code == 200


def test_a_chief_of_several_grids_picks_one(
    own_server: str, account, place: dict[str, str]
) -> None:
    name = account("grid_chief", place["village"])
    with _signed_in(own_server, name) as client:
        r = client.get("/")
        assert r.status_code == 200 and "选择网格" in r.text
        links = re.findall(r'href="/maps/worker\?grid=(\d{15})"', r.text)
        assert len(links) > 1 and place["grid"] in links
        assert all(code.startswith(place["village"]) for code in links)


def test_a_wrong_password_shows_the_form_again_in_chinese(own_http: httpx.Client) -> None:
    # A failed sign-in is written down (the per-account backoff): on the test's own database.
    r = own_http.post(
        "/login",
        data={"username": "nobody-here", "password": "wrong", "next": "/maps/center"},
        headers=HTML,
    )
    assert r.status_code == 401 and r.headers["content-type"].startswith("text/html")
    assert "用户名或密码不正确" in r.text and 'value="/maps/center"' in r.text
    assert "{" not in r.text.split("<style>")[0]  # no unfilled template


def test_a_missing_page_is_a_page_with_a_way_back(http: httpx.Client) -> None:
    r = http.get("/no/such/page", headers=HTML)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "找不到该页面或记录" in r.text and 'href="/"' in r.text
    # Programs keep JSON, whatever they accept.
    r = http.get("/api/v1/no/such/thing", headers=HTML)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    r = http.get("/report/999999999")
    assert r.status_code == 404


def test_a_forbidden_map_is_a_page_naming_the_scope(
    own_server: str, account, place: dict[str, str]
) -> None:
    name = account("grid_worker", place["grid"])
    other = place["grid"][:12] + "999"
    with _signed_in(own_server, name) as client:
        r = client.get(f"/maps/worker?grid={other}")
        assert r.status_code in (403, 404) and r.headers["content-type"].startswith("text/html")
        assert "没有权限" in r.text or "找不到" in r.text


def test_english_on_request_and_remembered(http: httpx.Client) -> None:
    with httpx.Client(base_url=str(http.base_url), headers=HTML) as client:
        r = client.get("/login?lang=en")
        assert "Staff sign-in" in r.text and "gisgrid_lang=en" in r.headers["set-cookie"]
        assert "Staff sign-in" in client.get("/login").text  # the cookie remembers
        assert "工作人员登录" in client.get("/login?lang=zh").text


def test_sign_in_on_a_phone_lands_on_the_worker_map(
    browser: Browser, own_server: str, account, place: dict[str, str], tmp_path
) -> None:
    """390x844: the sign-in page is Chinese, thumb-sized, and ends on the worker's map."""
    name = account("grid_worker", place["grid"])
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda req: (
            outside.append(req.url)
            if not req.url.startswith((own_server, "data:", "blob:"))
            else None
        ),
    )
    page.goto(f"{own_server}/")  # the public lands on the report page
    assert page.url.endswith("/report")
    page.goto(f"{own_server}/login")
    assert not visible_latin_words(page), visible_latin_words(page)
    assert not small_controls(page), small_controls(page)
    page.screenshot(path=str(tmp_path / "login-phone.png"))
    page.fill("input[name=username]", f"nobody-{uuid.uuid4().hex[:8]}")  # its own backoff
    page.fill("input[name=password]", "wrong")
    page.click("button")
    assert "用户名或密码不正确" in page.content()
    assert not visible_latin_words(page), visible_latin_words(page)
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button")
    page.wait_for_url(re.compile(r"/maps/worker\?grid=" + place["grid"]))
    page.goto(f"{own_server}/no/such/page")
    assert "找不到该页面或记录" in page.content()
    assert not visible_latin_words(page), visible_latin_words(page)
    page.screenshot(path=str(tmp_path / "notfound-phone.png"))
    assert not outside, outside
    context.close()
