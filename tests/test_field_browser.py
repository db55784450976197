"""The grid worker's phone map in Chromium at 390x844 (issue 16, issue 14 item 5): every action
made offline is kept, shown as waiting and sent in order once online, exactly once; a forced
resend stores nothing twice; a conflict is shown plainly; a HEIC photo goes round; a visit
shows in the household's history and coverage; nothing is recorded outside the grid; the page
is Chinese, thumb-sized and readable, with a case card to act from."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route
from sqlalchemy import Engine, text

from bench.common import one, scalar
from tests.browser import small_controls, until, visible_latin_words
from tests.field_fixtures import (
    MARK,
    PASSWORD,
    Field,
    dispatched_report,
    make_field,
    photo_bytes,
)

PHONE = {"width": 390, "height": 844}
SHOTS = Path("/tmp/gisgrid-field")


seed_template = make_field


@pytest.fixture(scope="module")
def fld(seed: Field) -> Field:
    return seed


def _context(browser: Browser, fld: Field, lon: float | None = None, lat: float | None = None,
             service_workers: str = "allow"):  # fmt: skip
    return browser.new_context(
        service_workers=service_workers,  # type: ignore[arg-type]
        viewport=PHONE,
        geolocation={"latitude": lat or fld.lat, "longitude": lon or fld.lon, "accuracy": 25},
        permissions=["geolocation"],
        locale="zh-CN",
    )


def _click_taken(page: Page, selector: str, taken: Callable[[], bool], tries: int = 3) -> None:
    """Click until the page shows it acted (a click on a list drawn again meanwhile does not)."""
    for _ in range(tries):
        page.click(selector)
        end = time.monotonic() + 5
        while time.monotonic() < end:
            if taken():
                return
            page.wait_for_timeout(100)
    raise AssertionError(f"{tries} clicks on {selector} and the page did nothing")


def _open(
    context: BrowserContext,
    server: str,
    fld: Field,
    errors: list[str],
    sw_blocked: bool = False,
) -> Page:
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/login?next=/maps/worker?grid={fld.grid}")
    page.fill("input[name=username]", fld.worker)
    page.fill("input[name=password]", PASSWORD)
    page.click("button")
    page.wait_for_url(f"**/maps/worker?grid={fld.grid}")
    try:
        page.wait_for_function("document.body.getAttribute('data-gisgrid-ready') === '1'")
        if not sw_blocked:
            page.wait_for_function("document.body.getAttribute('data-offline-ready') === '1'")
    except Exception:
        state = page.evaluate(
            "() => [location.href, {...document.body.dataset}, "
            "document.body.innerText.slice(0, 300), navigator.onLine]"
        )
        try:
            state.append(httpx.get(f"{server}/healthz", timeout=10).status_code)
        except Exception as exc:
            state.append(repr(exc))
        state.append(
            page.evaluate(
                "() => performance.getEntriesByType('resource').map(e => [e.name, e.duration])"
            )
        )
        raise AssertionError(f"worker map not ready: {errors} {state}") from None
    return page


@contextmanager
def _phone(
    browser: Browser, server: str, fld: Field, **where: float | None
) -> Iterator[tuple[BrowserContext, Page, list[str]]]:
    """The worker signed in on a phone, the map ready; the page's errors as they come (none by
    the end of the session, or the test fails)."""
    context = _context(browser, fld, **where)  # type: ignore[arg-type]
    errors: list[str] = []
    try:
        yield context, _open(context, server, fld, errors), errors
        assert not errors, errors  # every session on the phone ends with none
    finally:
        context.close()


def _latin(page: Page, fld: Field) -> list[str]:
    """Latin words on screen, besides account names (codes) and the Leaflet scale's units."""
    names = set(re.findall(r"[A-Za-z]{2,}", f"{fld.worker} {fld.operator}"))
    return [w for w in visible_latin_words(page) if w not in names]


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _wait_queue_empty(page: Page, timeout: float = 20.0) -> None:
    page.evaluate("() => window.gisgrid.flush()")
    page.wait_for_function(
        "() => document.body.getAttribute('data-queue') === '0'", timeout=timeout * 1000
    )


def test_the_case_card_in_chinese_with_thumb_sized_controls(
    browser: Browser, own_server: str, own_engine: Engine, fld: Field, own_http: httpx.Client
) -> None:
    """Open a case from the list, read everything about it, take a step, see the true status."""
    rid = dispatched_report(own_engine, fld.grid, f"井盖松动，路人易绊倒 {MARK}")
    with own_engine.begin() as conn:
        conn.execute(text("UPDATE report SET address = '城东路口北侧' WHERE id = :r"), {"r": rid})
    r = own_http.post(
        f"/api/v1/reports/{rid}/steps",
        json={"action": "supervise", "note": "请今天下班前办结"},
        headers=fld.auth("operator"),
    )
    assert r.status_code == 200, r.text
    with _phone(browser, own_server, fld) as (context, page, errors):
        assert not _latin(page, fld), _latin(page, fld)
        assert not small_controls(page), small_controls(page)
        _shot(page, "worker-390-home")
        page.click("#gg-locate")
        page.wait_for_function("() => !!window.gisgrid.located")
        # "me" is its own marker with an accuracy circle, not a household dot.
        assert page.locator(".wk-me").count() == 1
        assert page.evaluate("() => window[window.gisgrid.cfg.me].getLayers().length") == 2
        page.click(f'#gg-cases li[data-id="{rid}"] button.wk-item')
        card = page.locator("#gg-card")
        card.wait_for(state="visible")
        page.wait_for_function(
            "() => /井盖松动/.test(document.getElementById('gg-card').textContent)"
        )
        text_of = card.text_content() or ""
        for expected in ("暴露垃圾", "井盖松动", "城东路口北侧", "米", "剩", "请今天下班前办结",
                         "回访电话 13800138000", "派遣", "督办"):  # fmt: skip
            assert expected in text_of, (expected, text_of)
        assert card.locator("a.wk-tel").get_attribute("href") == "tel:13800138000"
        assert not _latin(page, fld), _latin(page, fld)
        assert not small_controls(page), small_controls(page)
        _shot(page, "worker-390-card")
        # Take me there: a way along the roads (or a straight line where none is near).
        card.locator("button[data-way]").click()
        page.wait_for_function("() => !!window.gisgrid.way")
        assert page.evaluate("() => window[window.gisgrid.cfg.way].getLayers().length") == 1
        assert "米" in (page.text_content("#gg-way-note") or "")
        _shot(page, "worker-390-way")
        # A step from the card: the status shown is the server's answer.
        card.locator('button[data-step="accept"]').click()
        page.wait_for_function(
            "() => (document.getElementById('gg-card-status') || {}).dataset?.status === "
            "'in_progress'"
        )
        assert scalar(own_engine, "SELECT status FROM report WHERE id = :r", r=rid) == "in_progress"
        assert "处理中" in (page.text_content("#gg-card-status") or "")
        assert "受理 ✓" in (page.text_content("#gg-step-msg") or "")
        # A photo before the work, from the card: on the card with how far from the spot.
        before = photo_bytes("JPEG", lon=fld.lon + 0.0003, lat=fld.lat, colour=(70, 70, 200))
        _set_photo(page, "#gg-card input[data-stage=before]", "before.jpg", before, "image/jpeg")
        page.wait_for_selector('#gg-card .wk-photos img[alt="处置前"]')
        assert "拍摄点距事发点约 3" in (page.text_content("#gg-card .wk-photos") or "")
        # A step from the map pop-up: escalate needs a reason, typed in the card.
        page.click("#gg-card button[data-close]")
        page.evaluate(
            f"""() => {{ const g = window[window.gisgrid.cfg.cases];
                 g.eachLayer(l => {{ if (l.feature.properties.id === {rid}) l.openPopup(); }});
               }}"""
        )
        pop = page.locator(f'.wk-pop[data-id="{rid}"]')
        pop.wait_for(state="visible")
        assert pop.locator('button[data-step="accept"]').count() == 0  # in progress now
        pop.locator('button[data-step="escalate"]').click()
        card.locator("textarea").fill("需村里协调施工单位")
        card.locator("form button[type=submit]").click()
        page.wait_for_function(
            "() => /已上报至村/.test(document.getElementById('gg-card-status')?.textContent || '')"
        )
        assert card.locator("button[data-step]").count() == 0  # the village's now


def _set_photo(page: Page, selector: str, name: str, data: bytes, mime: str) -> None:
    page.set_input_files(selector, files=[{"name": name, "mimeType": mime, "buffer": data}])


def test_offline_actions_are_sent_once_in_order_when_online(
    browser: Browser, own_server: str, own_engine: Engine, fld: Field
) -> None:
    a = dispatched_report(own_engine, fld.grid, f"A {MARK}")
    b = dispatched_report(own_engine, fld.grid, f"B {MARK}")
    hid = fld.households[3]
    with _phone(browser, own_server, fld) as (context, page, errors):
        page.click("#gg-locate")
        page.wait_for_function("() => !!window.gisgrid.located")
        context.set_offline(True)
        page.wait_for_function("() => !navigator.onLine")
        # 1. accept A
        page.click(f'#gg-cases li[data-id="{a}"] button[data-step="accept"]')
        # 2. feed back on B with an after photo (a large JPEG with EXIF, shrunk on the phone)
        page.click(f'#gg-cases li[data-id="{b}"] button[data-step="resolve"]')
        item = page.locator(f'#gg-cases li[data-id="{b}"]')
        item.locator("textarea").fill("已清理完毕")
        big = photo_bytes("JPEG", lon=fld.lon, lat=fld.lat, size=(3200, 2400))
        _set_photo(
            page, f'#gg-cases li[data-id="{b}"] input[type=file]', "b.jpg", big, "image/jpeg"
        )
        item.locator("form button[type=submit]").click()
        # 3. a household visit with a HEIC photo
        page.click('[data-tab="visits"]')
        page.click(f'#gg-households button[data-household="{hid}"]')
        form = page.locator("#gg-household form.gg-visit")
        form.locator("select[name=kind]").select_option("care")
        form.locator("textarea[name=note]").fill("老人身体尚好 " + MARK)
        heic = photo_bytes("HEIF", lon=fld.lon, lat=fld.lat, colour=(30, 160, 60))
        _set_photo(page, "#gg-household input[type=file]", "IMG_0002.HEIC", heic, "image/heic")
        form.locator("button[type=submit]").click()
        # 4. a patrol report closed on the spot
        page.click('[data-tab="report"]')
        patrol = page.locator("#gg-patrol")
        patrol.locator("select[name=service_code]").select_option("SJ02")
        patrol.locator("textarea[name=description]").fill("路边堆放杂物 " + MARK)
        _set_photo(page, "#gg-patrol input[name=photo]", "p.jpg", photo_bytes(), "image/jpeg")
        patrol.locator("input[name=fixed]").check()
        patrol.locator("textarea[name=fixed_note]").fill("已当场清理")
        _set_photo(
            page,
            "#gg-patrol input[name=after_photo]",
            "a.jpg",
            photo_bytes(colour=(5, 5, 90)),
            "image/jpeg",
        )
        patrol.locator("button[type=submit]").click()
        page.wait_for_function("() => document.body.getAttribute('data-queue') === '5'")
        kinds = page.evaluate("() => window.gisgridQueue.all().then(a => a.map(i => i.kind))")
        assert kinds == ["step", "photo", "step", "visit", "report"]
        keys = page.evaluate("() => window.gisgridQueue.all().then(a => a.map(i => i.key))")
        assert len(set(keys)) == 5  # each action its own Idempotency-Key
        assert "等待发送 5" in (page.text_content("#gg-queue") or "")
        assert not _latin(page, fld), _latin(page, fld)
        assert not small_controls(page), small_controls(page)
        _shot(page, "worker-390-offline-queue")
        page.click("#gg-queue")
        _shot(page, "worker-390-queue-list")
        # Nothing reached the own_server.
        assert scalar(own_engine, "SELECT status FROM report WHERE id = :r", r=a) == "dispatched"
        assert (
            scalar(
                own_engine, "SELECT count(*) FROM household_visit WHERE household_id = :h", h=hid
            )
            == 0
        )

        context.set_offline(False)
        _wait_queue_empty(page)
        # Exactly what was done, once each.
        assert scalar(own_engine, "SELECT status FROM report WHERE id = :r", r=a) == "in_progress"
        assert scalar(own_engine, "SELECT status FROM report WHERE id = :r", r=b) == "resolved"
        assert (
            scalar(
                own_engine,
                "SELECT count(*) FROM report_event WHERE report_id IN (:a, :b)",
                a=a,
                b=b,
            )
            == 2
        )
        assert (
            scalar(own_engine, "SELECT note FROM report_event WHERE report_id = :b", b=b)
            == "已清理完毕"
        )
        with own_engine.connect() as conn:
            w, h, dist = one(
                conn,
                "SELECT p.width, p.height, ST_Distance(r.geom::geography, ST_SetSRID("
                "ST_MakePoint(p.taken_lon, p.taken_lat), 4326)::geography) "
                "FROM report_photo rp JOIN photo p ON p.id = rp.photo_id "
                "JOIN report r ON r.id = rp.report_id "
                "WHERE rp.report_id = :b AND rp.stage = 'after'",
                b=b,
            )
            bytes_in = conn.execute(
                text(
                    "SELECT p.bytes_in FROM report_photo rp JOIN photo p ON p.id = rp.photo_id "
                    "WHERE rp.report_id = :b"
                ),
                {"b": b},
            ).scalar_one()
        # Shrunk on the phone to 1600 px before it left, its EXIF position kept for staff.
        assert (w, h) == (1600, 1200) and bytes_in < len(big) and dist < 200
        visits = scalar(
            own_engine,
            "SELECT count(*) FROM household_visit WHERE household_id = :h AND kind = 'care' "
            "AND photo_id IS NOT NULL",
            h=hid,
        )
        assert visits == 1
        with own_engine.connect() as conn:
            patrol_rows = conn.execute(
                text(
                    "SELECT id, status::text, source FROM report WHERE reporter->>'account' = :u "
                    "AND description LIKE '路边堆放杂物%'"
                ),
                {"u": fld.worker},
            ).all()
        assert [(s, src) for _, s, src in patrol_rows] == [("closed", "patrol")]


def test_a_forced_resend_stores_nothing_twice(
    browser: Browser, own_server: str, own_engine: Engine, fld: Field
) -> None:
    """The request arrives but its answer is lost: the phone sends again, the server replays."""
    c = dispatched_report(own_engine, fld.grid, f"C {MARK}")
    hid = fld.households[4]
    context = _context(browser, fld, service_workers="block")
    errors: list[str] = []
    lost: list[str] = []

    def lose_answer(route: Route) -> None:
        if route.request.method == "POST" and not lost.count(route.request.url):
            lost.append(route.request.url)
            route.fetch()  # reaches the own_server, which stores it...
            route.abort("connectionreset")  # ...but the phone never hears back
        else:
            route.continue_()

    try:
        # Requests a service worker passes on are not the page's to intercept: none here.
        page = _open(context, own_server, fld, errors, sw_blocked=True)
        page.route("**/api/v1/reports/*/steps", lose_answer)
        page.route("**/api/v1/households/*/visits", lose_answer)
        # Under load the list can be drawn again just as the button is clicked (the click then
        # lands on the old one): a click is taken when the step is queued or already sent.
        _click_taken(
            page,
            f'#gg-cases li[data-id="{c}"] button[data-step="accept"]',
            lambda: bool(lost) or page.get_attribute("body", "data-queue") not in (None, "0"),
        )
        page.click('[data-tab="visits"]')
        page.click(f'#gg-households button[data-household="{hid}"]')
        page.locator("#gg-household textarea[name=note]").fill("复访 " + MARK)
        page.locator("#gg-household form button[type=submit]").click()
        # The route handler runs only while Playwright is called: wait in the page, not asleep.
        until(lambda: page.wait_for_timeout(50) is None and bool(lost), "the step's answer lost")
        # The step stays waiting (no answer heard); the visit waits behind it.
        page.wait_for_function("() => Number(document.body.getAttribute('data-queue')) >= 1")
        _wait_queue_empty(page)
        assert len(lost) == 2  # both first answers were lost, both were sent again
        assert (
            scalar(own_engine, "SELECT count(*) FROM report_event WHERE report_id = :r", r=c) == 1
        )
        assert scalar(own_engine, "SELECT status FROM report WHERE id = :r", r=c) == "in_progress"
        assert (
            scalar(
                own_engine, "SELECT count(*) FROM household_visit WHERE household_id = :h", h=hid
            )
            == 1
        )
        assert page.get_attribute("body", "data-refused") == "0"  # a replay is no conflict
        assert not errors, errors
    finally:
        context.close()


def test_a_case_reassigned_meanwhile_is_a_plain_conflict(
    browser: Browser, own_server: str, own_engine: Engine, fld: Field, own_http: httpx.Client
) -> None:
    d = dispatched_report(own_engine, fld.grid, f"D {MARK}")
    with own_engine.connect() as conn:
        staff = conn.execute(
            text(
                "SELECT s.id FROM staff s JOIN staff_assignment a ON a.staff_id = s.id "
                "AND a.valid_to IS NULL JOIN grid g ON g.id = a.grid_id AND g.valid_to IS NULL "
                "WHERE s.on_duty AND left(g.code, 9) = :town "
                "AND a.role IN ('full_time', 'grid_chief', 'part_time') ORDER BY s.id LIMIT 1"
            ),
            {"town": fld.grid[:9]},
        ).scalar_one()
    with _phone(browser, own_server, fld) as (context, page, errors):
        context.set_offline(True)
        page.wait_for_function("() => !navigator.onLine")
        page.click(f'#gg-cases li[data-id="{d}"] button[data-step="accept"]')
        page.wait_for_function("() => document.body.getAttribute('data-queue') === '1'")
        time.sleep(0.05)
        r = own_http.post(
            f"/api/v1/reports/{d}/steps",
            json={"action": "reassign", "staff_id": staff},
            headers=fld.auth("operator"),
        )
        assert r.status_code == 200, r.text
        context.set_offline(False)
        page.evaluate("() => window.gisgrid.flush()")
        page.wait_for_function("() => document.body.getAttribute('data-refused') === '1'")
        page.click("#gg-queue")
        shown = page.text_content("#gg-queue-list") or ""
        assert "已被改派" in shown and "未执行" in shown
        assert "已被改派" in (page.text_content("#gg-step-msg") or "")
        assert not _latin(page, fld), _latin(page, fld)
        _shot(page, "worker-390-conflict")
        assert (
            scalar(
                own_engine,
                "SELECT count(*) FROM report_event WHERE report_id = :r AND action = 'accept'",
                r=d,
            )
            == 0
        )
        page.click("#gg-queue-list button[data-dismiss]")
        page.wait_for_function("() => document.body.getAttribute('data-refused') === '0'")


def test_a_heic_photo_from_the_phone_is_shown_on_the_card(
    browser: Browser, own_server: str, own_engine: Engine, fld: Field
) -> None:
    e = dispatched_report(own_engine, fld.grid, f"E {MARK}")
    with _phone(browser, own_server, fld) as (context, page, errors):
        page.click(f'#gg-cases li[data-id="{e}"] button[data-step="resolve"]')
        item = page.locator(f'#gg-cases li[data-id="{e}"]')
        item.locator("textarea").fill("已处理，见照片")
        heic = photo_bytes("HEIF", lon=fld.lon + 0.0005, lat=fld.lat, colour=(200, 200, 30))
        _set_photo(
            page, f'#gg-cases li[data-id="{e}"] input[type=file]', "IMG_7.HEIC", heic, "image/heic"
        )
        assert "已选照片 1 张" in (item.text_content() or "")
        item.locator("form button[type=submit]").click()
        _wait_queue_empty(page)
        # The photo went as the phone took it (Chromium cannot draw HEIC): the server shrank it.
        assert page.evaluate("() => window.gisgrid.lastPhoto.sent") == len(heic)
        kept = one(
            own_engine,
            "SELECT p.media_type FROM report_photo rp JOIN photo p ON p.id = rp.photo_id "
            "WHERE rp.report_id = :r",
            r=e,
        )
        assert kept.media_type == "image/heic"
        # The case file (resolved: off the open list) shows the photo as a thumbnail.
        page.evaluate(f"() => {{ window.gisgrid.state.card = '{e}'; }}")
        page.evaluate(
            f"""() => fetch('/api/v1/reports/{e}').then(r => r.json()).then(f => {{
                 const img = new Image(); img.src = f.photos[0].thumb_url;
                 return new Promise(ok => {{ img.onload = () => ok(img.naturalWidth); }});
               }}).then(w => {{ window.__thumb = w; }})"""
        )
        page.wait_for_function("() => window.__thumb === 320")


def test_a_visit_shows_in_history_and_never_outside_the_grid(
    browser: Browser, own_server: str, own_engine: Engine, fld: Field
) -> None:
    hid = fld.households[5]
    with _phone(browser, own_server, fld) as (context, page, errors):
        page.click('[data-tab="visits"]')
        first = page.locator("#gg-households li").first
        # Overdue care-tagged households first.
        assert "应走访" in (first.text_content() or "")
        assert first.locator(".wk-badge.care").count() == 1
        assert not small_controls(page), small_controls(page)
        _shot(page, "worker-390-visits")
        page.click(f'#gg-households button[data-household="{hid}"]')
        form = page.locator("#gg-household form.gg-visit")
        form.locator("select[name=kind]").select_option("info_update")
        form.locator("input[name=size]").fill("4")
        form.locator("textarea[name=note]").fill("新添一口人 " + MARK)
        assert not small_controls(page), small_controls(page)
        _shot(page, "worker-390-visit-form")
        form.locator("button[type=submit]").click()
        _wait_queue_empty(page)
        assert scalar(own_engine, "SELECT size FROM household WHERE id = :h", h=hid) == 4
        page.click(f'#gg-households button[data-household="{hid}"]')
        page.wait_for_function(
            "() => /信息更新/.test(document.getElementById('gg-visit-history')?.textContent || '')"
        )
        assert "新添一口人" in (page.text_content("#gg-visit-history") or "")
        # Another grid's household: its map is refused, and a visit sent to it is refused too.
        r = page.goto(f"{own_server}/maps/worker?grid={fld.away_grid}")
        assert r is not None and r.status == 403
        page.goto(f"{own_server}/maps/worker?grid={fld.grid}")
        page.wait_for_function("document.body.getAttribute('data-gisgrid-ready') === '1'")
        page.evaluate(
            f"""() => window.gisgridQueue.add({{ kind: 'visit', owner: window.gisgrid.cfg.username,
                 ref: 'household:{fld.away_household}', label: 'x',
                 url: '/api/v1/households/{fld.away_household}/visits',
                 json: {{ kind: 'routine' }} }})"""
        )
        page.evaluate("() => window.gisgrid.flush()")
        page.wait_for_function("() => document.body.getAttribute('data-refused') === '1'")
        assert (
            scalar(
                own_engine,
                "SELECT count(*) FROM household_visit WHERE household_id = :h",
                h=fld.away_household,
            )
            == 0
        )


def test_a_new_case_reaches_the_phone_by_push(
    browser: Browser, own_server: str, own_engine: Engine, fld: Field
) -> None:
    with _phone(browser, own_server, fld) as (context, page, errors):
        page.wait_for_function("() => document.body.getAttribute('data-push') === 'live'")
        t0 = time.monotonic()
        rid = dispatched_report(own_engine, fld.grid, f"推送测试 {MARK}")
        page.wait_for_selector(f'#gg-cases li[data-id="{rid}"]', timeout=5000)
        took = time.monotonic() - t0
        assert f"#{rid}" in (page.text_content("#gg-banner") or "")
        _shot(page, "worker-390-pushed")
        print(f"new case on the phone by push: {took * 1000:.0f} ms")


def test_signing_out_with_actions_waiting_asks_first_and_clears_the_queue(
    browser: Browser, own_server: str, own_engine: Engine, fld: Field
) -> None:
    f = dispatched_report(own_engine, fld.grid, f"F {MARK}")
    with _phone(browser, own_server, fld) as (context, page, errors):
        context.set_offline(True)
        page.wait_for_function("() => !navigator.onLine")
        page.click(f'#gg-cases li[data-id="{f}"] button[data-step="accept"]')
        page.wait_for_function("() => document.body.getAttribute('data-queue') === '1'")
        asked: list[str] = []
        page.on("dialog", lambda d: (asked.append(d.message), d.accept()))
        with page.expect_navigation(wait_until="load"):
            page.click("#gg-signout button")
        assert asked and "1" in asked[0]
        left = page.evaluate(
            "() => new Promise(ok => { const r = indexedDB.open('gisgrid-queue'); "
            "r.onsuccess = () => { const db = r.result; if (!db.objectStoreNames.length) "
            "{ ok(0); return; } const t = db.transaction('actions').objectStore('actions')"
            ".count(); t.onsuccess = () => ok(t.result); }; })"
        )
        assert left == 0
        context.set_offline(False)
        assert scalar(own_engine, "SELECT status FROM report WHERE id = :r", r=f) == "dispatched"
