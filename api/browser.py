"""What a person's browser gets: the language they chose (?lang= is remembered in a cookie by
api/front.py), and errors as pages, not JSON.

API clients (JSON, Open311, OGC, tiles) keep machine-readable errors; a browser that asks for
HTML on a page gets the site's error page in its language, with a way back.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from maps import i18n, site

LANG_COOKIE = "gisgrid_lang"
# Paths whose answers are for programs, whatever their Accept header says.
API_PREFIXES = (
    "/api/",
    "/open311/",
    "/ogc",
    "/tiles/",
    "/maps/data/",
    "/maps/export",
    "/maps/sw.js",
    "/static/",
    "/assets/",
    "/openapi.json",
    "/docs",
    "/healthz",
    "/readyz",
)


def request_lang(request: Request) -> str:
    """?lang= if given, else the remembered choice, else Chinese."""
    return i18n.pick_lang(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


async def get_lang(request: Request) -> str:
    """The page language (a dependency)."""
    return request_lang(request)


LangDep = Annotated[str, Depends(get_lang)]


def switch_url(request: Request, lang: str) -> str:
    """This page in the other language."""
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    return site.lang_switch_url(request.url.path, query, lang)


def wants_page(request: Request) -> bool:
    """Whether a person's browser is looking at this answer (a page path, HTML accepted)."""
    path = request.url.path
    if path.startswith(API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, detail: str | None) -> HTMLResponse:
    """The site's error page for this request, in its language."""
    lang = request_lang(request)
    who = getattr(request.state, "principal", None)
    signed_in = bool(who is not None and not who.is_public)
    body = site.error_page(
        lang, status, detail, signed_in=signed_in, switch_url=switch_url(request, lang)
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
