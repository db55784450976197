"""Shared pieces of the browser tests: waiting for what the service does by itself, watching a
page's requests and errors, a signed-in context, and the checks every Chinese page must pass."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from playwright.sync_api import Browser, BrowserContext, Page


def until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Wait for something the service or the page does by itself (a bound, not a timing)."""
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def watch(page: Page, server: str) -> tuple[list[str], list[str]]:
    """Requests the page sends away from `server`'s host, and its errors, as they come."""
    outside: list[str] = []
    errors: list[str] = []
    host = urlparse(server).hostname
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if not r.url.startswith(("data:", "blob:")) and urlparse(r.url).hostname != host
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    return outside, errors


READY = "document.body.getAttribute('data-gisgrid-ready') === '1'"


def sign_in(
    page: Page, server: str, username: str, password: str, lands: str, follow: bool = True
) -> None:
    """Sign in at /login (sent on to `lands` if `follow`), land on `lands`, wait till ready."""
    page.goto(f"{server}/login?next={lands}" if follow else f"{server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button")
    page.wait_for_url(f"**{lands}*")
    page.wait_for_function(READY)


@contextmanager
def clean_page(browser: Browser, server: str, **options: Any) -> Iterator[Page]:
    """A page of a new context; by the end it must have asked nothing of any host but
    `server`'s and logged no error."""
    context = browser.new_context(**options)
    try:
        page = context.new_page()
        outside, errors = watch(page, server)
        yield page
        assert not outside, outside
        assert not errors, errors
    finally:
        context.close()


def signed_in_context(browser: Browser, token: str, **options: Any) -> BrowserContext:
    """A browser context carrying `token` as its session cookie."""
    context = browser.new_context(**options)
    # Cookies are per host, not per port: this one works for every test server on 127.0.0.1.
    context.add_cookies(
        [{"name": "gisgrid_session", "value": token, "domain": "127.0.0.1", "path": "/"}]
    )
    return context


# Words a Chinese page may show in Latin letters: codes, units, the product's name.
ALLOWED_LATIN = {"gisgrid", "km", "m", "GENERATED", "English"}  # the switch names itself


def visible_latin_words(page, allowed: frozenset[str] = frozenset()) -> list[str]:  # type: ignore[no-untyped-def]
    """Latin words in visible text nodes (scripts, styles and hidden elements left out), but
    for ALLOWED_LATIN and the `allowed` words of one page (names its data carries)."""
    texts = page.evaluate(
        """() => { const out = []; const w = document.createTreeWalker(document.body,
        NodeFilter.SHOW_TEXT); let n; while ((n = w.nextNode())) { const el = n.parentElement;
        if (!el || el.closest('script,style,noscript')) continue;
        const s = getComputedStyle(el); if (s.display === 'none' || s.visibility === 'hidden')
        continue; if (el.closest('details:not([open])') && !el.closest('summary')) continue;
        if (n.textContent.trim()) out.push(n.textContent); } return out; }"""
    )
    words = re.findall(r"[A-Za-z]{2,}", " ".join(texts))
    return [w for w in words if w not in ALLOWED_LATIN and w not in allowed]


def small_controls(page, within: str = "body") -> list[str]:  # type: ignore[no-untyped-def]
    """Visible links, buttons and inputs smaller than 44x44 CSS pixels (inside `within`)."""
    return page.evaluate(
        """(within) => [...document.querySelector(within).querySelectorAll(
        'a,button,input,select,textarea,summary')]
        .filter(e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
          return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' &&
                 e.type !== 'hidden' && (r.height < 44 || r.width < 44); })
        .map(e => `${e.tagName} ${e.textContent.trim() || e.name} ${Math.round(
          e.getBoundingClientRect().width)}x${Math.round(e.getBoundingClientRect().height)}`)""",
        within,
    )
