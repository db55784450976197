"""A grid worker takes a case's steps from the phone map, in Chromium: accept (受理), feed back
(处置反馈) with a note, a refusal shown plainly, and a step made offline kept until the network
is back."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, ViewportSize
from sqlalchemy import Engine, text

from bench.common import rows, scalar
from gisgrid.access import accounts
from tests.browser import sign_in, until

PHONE: ViewportSize = {"width": 390, "height": 844}
MARK = "browser step test"


@dataclass(frozen=True)
class Desk:
    """A grid, a worker account scoped to it, and three dispatched reports in it."""

    grid: str
    username: str
    password: str
    reports: tuple[int, int, int]


def seed_template(engine: Engine) -> Desk:
    """A grid worker's account and three of their grid's reports, in the module's template."""
    name, password = "t-steps-worker", "steps password 1"
    with engine.begin() as conn:
        grid_id, grid = conn.execute(
            text(
                "SELECT g.id, g.code FROM grid g WHERE g.valid_to IS NULL "
                "AND g.code LIKE '441226%' "
                "AND NOT EXISTS (SELECT 1 FROM report r WHERE r.grid_id = g.id "
                "AND r.status IN ('submitted', 'registered', 'dispatched', 'in_progress')) "
                "ORDER BY g.code LIMIT 1"
            )
        ).one()
        ids = conn.execute(
            text(
                "INSERT INTO report (category, description, source, status, grid_id, reported_at, "
                "dispatched_at, due_at, generated, geom) "
                "SELECT 'SJ01', :d, 'resident', 'dispatched', g.id, now() - interval '1 hour', "
                "now() - interval '50 minutes', now() + interval '1 day', false, "
                "ST_PointOnSurface(g.geom) FROM grid g, generate_series(1, 3) WHERE g.id = :g "
                "RETURNING id"
            ),
            {"g": grid_id, "d": MARK},
        ).scalars()
        reports = tuple(sorted(ids))
        accounts.create_account(conn, name, password, "grid_worker", grid)
    return Desk(grid, name, password, reports)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def desk(seed: Desk) -> Desk:
    return seed


def _status(engine: Engine, rid: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(text("SELECT status FROM report WHERE id = :r"), {"r": rid}).scalar()
        )


def _item(page: Page, rid: int, inner: str = ""):  # type: ignore[no-untyped-def]
    return page.locator(f'#gg-cases li[data-id="{rid}"] {inner}'.strip())


def test_worker_accepts_and_feeds_back_from_the_map(
    browser: Browser, own_server: str, own_engine: Engine, desk: Desk
) -> None:
    first, refused, offline = desk.reports
    context = browser.new_context(viewport=PHONE)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(page, own_server, desk.username, desk.password, f"/maps/worker?grid={desk.grid}")
        assert page.locator("#gg-cases li").count() == 3
        # A dispatched case offers accept, feedback and escalation; nothing for the center.
        steps = _item(page, first, "button[data-step]").evaluate_all(
            "bs => bs.map(b => b.dataset.step)"
        )
        assert steps == ["accept", "resolve", "escalate"]

        _item(page, first, 'button[data-step="accept"]').click()
        until(lambda: _status(own_engine, first) == "in_progress", "accepted in the database")
        page.wait_for_function(
            f"""() => {{ const li = document.querySelector('#gg-cases li[data-id="{first}"]');
                return li && !li.querySelector('button[data-step="accept"]'); }}"""
        )
        assert "受理 ✓" in (page.text_content("#gg-step-msg") or "")

        note = "已清理垃圾，现场已恢复 (browser test)"
        _item(page, first, 'button[data-step="resolve"]').click()
        _item(page, first, "textarea").fill(note)
        _item(page, first, "form button").click()
        until(lambda: _status(own_engine, first) == "resolved", "fed back in the database")
        # Fed back: off the worker's open list, waiting for the center's verification.
        _item(page, first).wait_for(state="detached")
        logged = scalar(
            own_engine,
            "SELECT note FROM report_event WHERE report_id = :r AND action = 'resolve'",
            r=first,
        )
        assert logged == note

        # Someone else moved the case meanwhile: the refusal is shown plainly, in Chinese.
        with own_engine.begin() as conn:
            conn.execute(
                text("UPDATE report SET status = 'resolved' WHERE id = :r"), {"r": refused}
            )
        _item(page, refused, 'button[data-step="accept"]').click()
        page.wait_for_function("() => document.body.getAttribute('data-refused') === '1'")
        assert "状态已变化" in (page.text_content("#gg-step-msg") or "")

        # No network: the step is kept on the phone, shown as waiting, a poll does not lose
        # it, and it goes once the network is back (the full offline story: test_field_browser).
        context.set_offline(True)
        _item(page, offline, 'button[data-step="resolve"]').click()
        _item(page, offline, "textarea").fill("路灯已报修 (typed offline)")
        _item(page, offline, "form button").click()
        page.wait_for_function("() => document.body.getAttribute('data-queue') === '1'")
        assert _status(own_engine, offline) == "dispatched"
        page.evaluate("() => window.gisgrid.refresh()")
        assert "等待发送" in (page.text_content(f'#gg-cases li[data-id="{offline}"]') or "")
        context.set_offline(False)
        page.evaluate("() => window.gisgrid.flush()")
        until(lambda: _status(own_engine, offline) == "resolved", "sent once back online")
        assert not errors, errors
    finally:
        context.close()


def test_center_chases_a_late_case_from_the_wall(
    browser: Browser, own_server: str, own_engine: Engine, desk: Desk
) -> None:
    """督办 from the overdue list's case drawer: the note survives the 3 s polls, the case
    shows 督办×1."""
    name, password = "t-center", "center password 1"
    town = desk.grid[:9]
    with own_engine.begin() as conn:
        late = conn.execute(
            text(
                "INSERT INTO report (category, description, source, status, grid_id, reported_at, "
                "dispatched_at, due_at, generated, geom) SELECT 'SJ01', :d, 'resident', "
                "'in_progress', g.id, now() - interval '30 hours', now() - interval '29 hours', "
                "now() - interval '500 hours', false, ST_PointOnSurface(g.geom) FROM grid g "
                "WHERE g.code = :g AND g.valid_to IS NULL RETURNING id"
            ),
            {"g": desk.grid, "d": MARK},
        ).scalar_one()
        accounts.create_account(conn, name, password, "town_operator", town)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(page, own_server, name, password, f"/maps/center?unit={town}")
        page.locator(f'#gg-overdue button[data-id="{late}"]').click()
        page.wait_for_function(f"document.body.getAttribute('data-drawer-loaded') === '{late}'")
        page.click('#gg-drawer button[data-step="supervise"]')
        note = page.locator("#gg-drawer textarea")
        note.fill("请今天下班前办结并反馈")
        page.wait_for_timeout(4000)  # a poll or more: the typed note must still be there
        assert note.input_value() == "请今天下班前办结并反馈"
        page.click("#gg-drawer button[type=submit]")
        page.wait_for_function(
            f"""() => /督办×1/.test((document.querySelector(
                '#gg-overdue button[data-id="{late}"]') || {{}}).textContent || '')"""
        )
        got = rows(
            own_engine,
            "SELECT note, username FROM report_event WHERE report_id = :r AND action = 'supervise'",
            r=late,
        )
        assert [tuple(g) for g in got] == [("请今天下班前办结并反馈", name)]
        assert not errors, errors
    finally:
        context.close()
