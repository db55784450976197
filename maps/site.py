"""Plain pages in the site's style: sign-in, choosing a grid, errors with a way back.

No map and no script beyond what a page names: they must work on any phone. Every word comes
from the catalogue (maps/i18n.py); text is 16 px or larger and every control at least 44 px.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from maps.i18n import HTML_LANG, LANGS, t

STYLE = """
body{font:16px/1.5 system-ui,-apple-system,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;
max-width:32rem;margin:0 auto;padding:0 1rem 2rem;color:#1f2328}
header{display:flex;align-items:center;justify-content:space-between;gap:1rem;
border-bottom:1px solid #d0d7de;margin-bottom:1rem}
header b{font-size:1.1rem}
a.btn,button,input,select{font:inherit;min-height:44px;box-sizing:border-box}
a.lang{display:inline-flex;align-items:center;min-height:44px;min-width:44px;padding:0 .5rem}
label{display:block;margin:.8rem 0}
input{display:block;width:100%;padding:.5rem;border:1px solid #8c959f;border-radius:6px}
button,a.btn{display:inline-flex;align-items:center;justify-content:center;padding:0 1.2rem;
border-radius:6px;border:1px solid #1864ab;background:#1c7ed6;color:#fff;text-decoration:none}
a.btn.plain{background:#f6f8fa;color:#1f2328;border-color:#8c959f}
.err{background:#ffe3e3;color:#a61e1e;padding:.6rem .8rem;border-radius:6px}
.note{color:#57606a}
ul.pick{list-style:none;padding:0}
ul.pick a{display:flex;justify-content:space-between;min-height:44px;align-items:center;
padding:.2rem .8rem;margin:.4rem 0;border:1px solid #d0d7de;border-radius:6px;
text-decoration:none;color:#1f2328}
h1{font-size:1.4rem}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def lang_switch_url(path: str, query: dict[str, str], lang: str) -> str:
    """The same page in the other language (the choice is remembered by a cookie)."""
    other = next(x for x in LANGS if x != lang)
    return path + "?" + urlencode({**query, "lang": other})


def page(lang: str, title: str, body: str, *, switch_url: str | None = None) -> str:
    """A plain page: the site's name, a language switch, the body."""
    switch = (
        f'<a class="lang" href="{_esc(switch_url)}">{_esc(t(lang, "common.lang_switch"))}</a>'
        if switch_url
        else ""
    )
    return (
        f'<!doctype html><html lang="{HTML_LANG[lang]}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{_esc(title)}</title>'
        f"<style>{STYLE}</style></head><body><header><b>{_esc(t(lang, 'common.site'))}</b>"
        f"{switch}</header>{body}</body></html>"
    )


def login_page(
    lang: str,
    next_url: str,
    *,
    problem: str | None = None,
    switch_url: str | None = None,
    forget_script: str = "",
) -> str:
    """The staff sign-in form; `problem` says why the last try failed."""
    err = f'<p class="err" role="alert">{_esc(problem)}</p>' if problem else ""
    body = (
        f"<h1>{_esc(t(lang, 'login.title'))}</h1>{err}"
        '<form method="post" action="/login">'
        f"<label>{_esc(t(lang, 'login.username'))}"
        '<input name="username" autocomplete="username" required autofocus></label>'
        f"<label>{_esc(t(lang, 'login.password'))}"
        '<input name="password" type="password" autocomplete="current-password" required></label>'
        f'<input type="hidden" name="next" value="{_esc(next_url)}">'
        f"<button>{_esc(t(lang, 'login.submit'))}</button></form>"
        f'<p class="note">{_esc(t(lang, "login.resident_hint"))}</p>'
        f'<p><a class="btn plain" href="/report">{_esc(t(lang, "common.report_problem"))}</a></p>'
        f"{forget_script}"
    )
    return page(lang, t(lang, "login.title"), body, switch_url=switch_url)


def grid_picker(
    lang: str, grids: Sequence[dict[str, Any]], *, switch_url: str | None = None
) -> str:
    """A worker with several grids picks one (name, code, households)."""
    if not grids:
        body = f"<h1>{_esc(t(lang, 'home.pick_grid'))}</h1><p>{_esc(t(lang, 'home.no_grids'))}</p>"
    else:
        items = "".join(
            f'<li><a href="/maps/worker?grid={_esc(g["code"])}"><span>{_esc(g["name"])}'
            f' <small class="note">{_esc(g["code"])}</small></span>'
            f"<span>{_esc(t(lang, 'home.households', n=g.get('households') or 0))}</span></a></li>"
            for g in grids
        )
        body = (
            f"<h1>{_esc(t(lang, 'home.pick_grid'))}</h1>"
            f"<p>{_esc(t(lang, 'home.pick_grid_intro', n=len(grids)))}</p>"
            f'<ul class="pick">{items}</ul>'
        )
    body += (
        '<form method="post" action="/logout">'
        f'<button class="plain">{_esc(t(lang, "common.sign_out"))}</button></form>'
    )
    return page(lang, t(lang, "home.pick_grid"), body, switch_url=switch_url)


def error_page(
    lang: str,
    status: int,
    detail: str | None,
    *,
    signed_in: bool = False,
    switch_url: str | None = None,
) -> str:
    """An error a person reads: what happened in their language, the detail, ways on."""
    try:
        headline = t(lang, f"errors.{status}")
    except KeyError:
        headline = t(lang, "errors.other")
    detail_html = (
        f"<details><summary>{_esc(t(lang, 'errors.detail'))}</summary>"
        f'<p class="note">{_esc(detail)}</p></details>'
        if detail
        else ""
    )
    ways = [f'<a class="btn" href="/">{_esc(t(lang, "common.back_home"))}</a>']
    if status in (401, 403):
        label = "errors.sign_in_as_other" if signed_in else "common.sign_in"
        ways.append(f'<a class="btn plain" href="/login">{_esc(t(lang, label))}</a>')
    body = (
        f'<h1>{_esc(headline)}</h1><p class="note">{status}</p>{detail_html}'
        f'<p style="display:flex;gap:.6rem;flex-wrap:wrap">{"".join(ways)}</p>'
    )
    return page(lang, headline, body, switch_url=switch_url)
