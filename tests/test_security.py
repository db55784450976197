"""Cross-site writes, headers, proxies, revocable short-lived tokens, sign-in backoff and fair
limits (issue 13, items 5 and 6), over real HTTP against real PostGIS."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine, text

from gisgrid.access import accounts
from gisgrid.settings import Settings
from tests.browser import signed_in_context
from tests.conftest import serve
from tests.databases import DEMO_COUNTY

PASSWORD = "a good password 1"


def seed_template(engine: Engine) -> str:
    """A county operator account."""
    with engine.begin() as conn:
        accounts.create_account(conn, "t-sec-operator", PASSWORD, "county_operator", DEMO_COUNTY)
    return "t-sec-operator"


@pytest.fixture(scope="module")
def operator(seed: str) -> str:
    return seed


@pytest.fixture
def proxied(own_database_url: str, demo_county: str) -> Iterator[str]:
    """A server behind a trusted proxy on 127.0.0.1 (X-Forwarded-* believed), tight limits."""
    settings = Settings(
        database_url=own_database_url,
        trusted_proxies=["127.0.0.1"],
        rate_limit_login=1_000,
        rate_limit_intake=2,
        rate_limit_intake_key=3,
        rate_limit_intake_address=5,
    )
    with serve(settings) as url:
        yield url


@contextmanager
def _signed_in(base: str, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.post("/login", data={"username": username, "password": PASSWORD})
        assert r.status_code == 303, r.text
        yield client


def test_a_cookie_signed_write_from_another_origin_is_refused(
    own_server: str, operator: str
) -> None:
    port = int(own_server.rsplit(":", 1)[1])
    with _signed_in(own_server, operator) as browser:
        path = "/api/v1/reports/999999999/steps"
        body = {"action": "accept"}
        other = f"http://127.0.0.1:{port + 1}"  # same host, another port: same site, not origin
        r = browser.post(path, json=body, headers={"Origin": other})
        assert r.status_code == 403 and r.json()["error"] == "CrossOrigin", r.text
        r = browser.post(path, json=body, headers={"Referer": f"{other}/evil.html"})
        assert r.status_code == 403
        r = browser.post(path, json=body)  # neither header: no browser page sent this
        assert r.status_code == 403
        # From the service's own pages the write goes through to the route (404: no report).
        assert browser.post(path, json=body, headers={"Origin": own_server}).status_code == 404
        r = browser.post(path, json=body, headers={"Referer": f"{own_server}/maps/center?unit=x"})
        assert r.status_code == 404
    # Signing in from another origin (login CSRF) is refused too.
    r = httpx.post(
        f"{own_server}/login",
        data={"username": operator, "password": PASSWORD},
        headers={"Origin": "http://127.0.0.1:1"},
    )
    assert r.status_code == 403


def test_pages_carry_security_headers(own_http: httpx.Client) -> None:
    page = own_http.get("/login")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    # Nothing from another host: every source is 'self', data: or blob:.
    sources = {s for part in csp.split(";") for s in part.split()[1:]}
    assert sources <= {
        "'self'",
        "'unsafe-inline'",
        "'none'",
        "data:",
        "blob:",
    }, sources
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    api = own_http.get("/api/v1/auth/me")
    assert api.headers["X-Content-Type-Options"] == "nosniff"


def test_forwarded_headers_are_believed_only_from_trusted_proxies(
    own_server: str, proxied: str, operator: str
) -> None:
    # Behind a trusted proxy saying https: the session cookie is Secure.
    r = httpx.post(
        f"{proxied}/login",
        data={"username": operator, "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https", "Origin": proxied.replace("http:", "https:")},
    )
    assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()
    # Directly over own_http: not Secure, and an X-Forwarded-Proto from a client changes nothing.
    r = httpx.post(
        f"{own_server}/login",
        data={"username": operator, "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert r.status_code == 303 and "secure" not in r.headers["set-cookie"].lower()
    # Behind the trusted proxy each forwarded address has its own limit (2 a minute here)...
    for addr in ("203.0.113.1", "203.0.113.2"):
        for _ in range(2):
            r = httpx.post(
                f"{proxied}/api/v1/public/reports",
                json={"service_code": "XX", "lon": 112, "lat": 23, "description": "x"},
                headers={"X-Forwarded-For": f"198.51.100.7, {addr}"},
            )
            assert r.status_code != 429, r.text


def test_tokens_are_short_lived_refreshable_and_revocable(
    own_http: httpx.Client, admin_token: str, operator: str
) -> None:
    def token() -> dict:
        r = own_http.post("/api/v1/auth/token", data={"username": operator, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return r.json()

    def me(tok: str) -> int:
        return own_http.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {tok}"}
        ).status_code

    first = token()
    import datetime as dt

    left = dt.datetime.fromisoformat(first["expires_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=55) < left <= dt.timedelta(hours=1)
    # Refresh: a new token, the old one refused at once.
    bearer = {"Authorization": f"Bearer {first['access_token']}"}
    fresh = own_http.post("/api/v1/auth/refresh", headers=bearer).json()["access_token"]
    assert me(first["access_token"]) == 401 and me(fresh) == 200
    # Revoke the token you hold.
    r = own_http.post("/api/v1/auth/revoke", headers={"Authorization": f"Bearer {fresh}"})
    assert r.json() == {"revoked": 1} and me(fresh) == 401
    # /logout revokes a bearer token it is given.
    third = token()["access_token"]
    own_http.post("/logout", headers={"Authorization": f"Bearer {third}"})
    assert me(third) == 401
    # An admin revokes every token of an account.
    a, b = token()["access_token"], token()["access_token"]
    assert me(a) == me(b) == 200
    r = own_http.post(
        f"/api/v1/accounts/{operator}/tokens/revoke",
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert r.status_code == 200 and r.json()["revoked"] >= 2
    assert me(a) == me(b) == 401
    # ...and nobody else may.
    c = token()["access_token"]
    r = own_http.post(
        f"/api/v1/accounts/{operator}/tokens/revoke", headers={"Authorization": f"Bearer {c}"}
    )
    assert r.status_code == 403


@pytest.mark.parametrize("known", [True, False])
def test_failed_sign_ins_back_off_per_username_whatever_the_address(
    proxied: str, operator: str, own_engine: Engine, known: bool
) -> None:
    username = operator if known else "t-sec-nobody"
    codes = []
    for i in range(6):  # six addresses, one wrong guess each
        r = httpx.post(
            f"{proxied}/api/v1/auth/token",
            data={"username": username, "password": f"wrong {i}"},
            headers={"X-Forwarded-For": f"203.0.113.{10 + i}"},
        )
        codes.append(r.status_code)
    # Four plain refusals, the fifth starts the wait, the sixth is not even checked.
    assert codes == [401, 401, 401, 401, 429, 429], codes
    assert int(r.headers["Retry-After"]) > 0 and "failed sign-ins in a row" in r.json()["detail"]
    # Even the right password waits (only for a known account would it have worked).
    r = httpx.post(
        f"{proxied}/api/v1/auth/token", data={"username": username, "password": PASSWORD}
    )
    assert r.status_code == 429 and r.headers["Retry-After"].isdigit()
    with own_engine.begin() as conn:  # the wait is over, as if its seconds had passed
        conn.execute(
            text("UPDATE signin_failure SET blocked_until = now() WHERE username = :u"),
            {"u": username},
        )
    if known:
        r = httpx.post(
            f"{proxied}/api/v1/auth/token", data={"username": username, "password": PASSWORD}
        )
        assert r.status_code == 200


def test_limits_count_phones_and_keys_and_say_when_to_retry(proxied: str) -> None:
    # One village address: each phone (device token) has its own limit (2), the address 5.
    bad = {"service_code": "XX", "lon": 112, "lat": 23, "description": "x"}  # refused: 400
    where = {"X-Forwarded-For": "192.0.2.50"}

    def post(device: str) -> httpx.Response:
        return httpx.post(
            f"{proxied}/api/v1/public/reports",
            json=bad,
            headers=where | {"X-Device-Token": f"phone-{device}-" + "x" * 16},
        )

    assert [post("a").status_code for _ in range(3)] == [400, 400, 429]
    limited = post("a")
    assert limited.headers["Retry-After"].isdigit() and "device" in limited.json()["detail"]
    assert [post("b").status_code for _ in range(2)] == [400, 400]  # another phone: its own
    # The address's ceiling (5; refused ones not counted) is reached by a third phone.
    assert post("c").status_code == 400
    r = post("c")
    assert r.status_code == 429 and "192.0.2.50" in r.json()["detail"]
    # Open311: per API key, answered in the spec's error list with Retry-After.
    form = {"api_key": "gg_not_a_real_key_" + uuid.uuid4().hex, "service_code": "SJ01"}
    answers = [
        httpx.post(
            f"{proxied}/open311/v2/requests.json",
            data=form,
            headers={"X-Forwarded-For": f"192.0.2.{60 + i}"},
        )
        for i in range(4)
    ]
    assert [a.status_code for a in answers][-1] == 429, [a.text for a in answers]
    last = answers[-1]
    assert last.headers["Retry-After"].isdigit()
    assert last.json()[0]["code"] == 429 and "API key" in last.json()[0]["description"]


PAYLOAD = '<img src=x onerror="window.__pwned=1">'


def test_grid_names_in_tooltips_are_text_not_markup(browser: Browser) -> None:
    from maps import pages
    from maps.assets import read_static

    square = [[[112.0, 23.0], [112.1, 23.0], [112.1, 23.1], [112.0, 23.1], [112.0, 23.0]]]
    props = {
        "name": PAYLOAD,
        "code": "441226101201001",
        "village_name": PAYLOAD,
        "households": 10,
        "balance": 1.0,
    }
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": square},
                "properties": props,
            }
        ],
    }
    data = pages.PageData(
        title="t", bbox=[112.0, 23.0, 112.1, 23.1], grids=fc, grid_count=1, urls={}
    )
    html = pages.inline_assets(pages.planner_page(data, pages.Basemap()), read_static)
    context = browser.new_context(viewport={"width": 800, "height": 600})
    try:
        page = context.new_page()
        page.set_content(html, wait_until="load")
        page.wait_for_selector("body[data-gisgrid-ready='1']", state="attached")
        # The grid is drawn on a canvas left of the panel: hover its middle.
        panel = page.locator(".gg-panel").bounding_box()
        assert panel is not None
        x, y = panel["x"] / 2, 300
        page.mouse.move(x, y)
        page.mouse.move(x + 5, y + 5)
        tip = page.locator(".leaflet-tooltip")
        tip.wait_for(state="visible", timeout=10_000)
        assert tip.locator("img").count() == 0
        assert PAYLOAD in tip.inner_text()
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.__pwned === undefined")
    finally:
        context.close()


def test_pages_work_under_their_content_security_policy(
    browser: Browser, own_server: str, admin_token: str, own_engine: Engine
) -> None:
    # The real CSP (no bypass): the pages' own scripts must need nothing it refuses, the worker
    # map's too (its scripts, service worker, push stream and photo previews).
    with own_engine.connect() as conn:
        grid = conn.execute(
            text("SELECT code FROM grid WHERE code LIKE '441226%' LIMIT 1")
        ).scalar()
    context = signed_in_context(
        browser, admin_token, bypass_csp=False, viewport={"width": 1000, "height": 700}
    )
    refused: list[str] = []
    try:
        for path in (
            "/report",
            "/maps/center?unit=441226",
            "/maps/planner?unit=441226",
            f"/maps/worker?grid={grid}",
            "/api/v1/units/441226/bulletin?format=html",
            "/login",
        ):
            page = context.new_page()
            page.on(
                "console",
                lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
            )
            page.goto(own_server + path, wait_until="load")
            if path.startswith(("/report", "/maps/")):
                page.wait_for_selector("body[data-gisgrid-ready='1']", state="attached")
            page.close()
    finally:
        context.close()
    assert not refused, refused
