"""Signing in: OAuth2 password form -> bearer token; a session cookie for the map pages."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm

from api.browser import LangDep, switch_url
from api.deps import ConnDep
from api.security import SESSION_COOKIE, PrincipalDep, client_address, rate_limit
from gisgrid import errors
from gisgrid.access import accounts, audit
from maps import offline, site
from maps.i18n import t

router = APIRouter(tags=["auth"])


@router.post("/api/v1/auth/token", dependencies=[Depends(rate_limit("login"))])
def token(
    conn: ConnDep, request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> dict[str, Any]:
    """Exchange a username and password for a bearer token (OAuth2 password flow)."""
    tok, expires = accounts.issue_token(conn, form.username, form.password)
    who = accounts.principal_for_token(conn, tok)
    audit.record(
        conn,
        who,
        "login",
        method="POST",
        path=request.url.path,
        client=client_address(request),
        status=200,
    )
    return {
        "access_token": tok,
        "token_type": "bearer",
        "expires_at": expires.isoformat(),
        "role": who.role,
        "scope": who.scope,
    }


@router.get("/api/v1/auth/me")
def me(who: PrincipalDep) -> dict[str, Any]:
    """Who the server thinks you are: username, role and scope (public when anonymous)."""
    return {
        "username": who.username,
        "role": who.role,
        "scope": who.scope if not who.is_public else None,
        "authenticated": not who.is_public,
    }


def _safe_next(next_url: str) -> str:
    # Only local paths: never redirect a signed-in user to another site.
    return next_url if next_url.startswith("/") and not next_url.startswith("//") else "/"


def _login_page(request: Request, lang: str, next_url: str, problem: str | None = None) -> str:
    # Whoever signs in next on this phone must not find the last person's grid data offline.
    return site.login_page(
        lang,
        _safe_next(next_url),
        problem=problem,
        switch_url=switch_url(request, lang),
        forget_script=offline.forget_script(),
    )


@router.get("/login", include_in_schema=False)
def login_page(request: Request, lang: LangDep, next: str = "/") -> HTMLResponse:
    """The staff sign-in form for the map pages (no external assets)."""
    return HTMLResponse(_login_page(request, lang, next), headers={"Cache-Control": "no-store"})


@router.post("/login", include_in_schema=False, dependencies=[Depends(rate_limit("login"))])
def login(
    conn: ConnDep,
    request: Request,
    lang: LangDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Sign in from the form and set an HttpOnly session cookie; a failure shows the form again."""
    try:
        tok, expires = accounts.issue_token(conn, username, password)
    except errors.NotAuthenticated:
        page = _login_page(request, lang, next, t(lang, "login.failed"))
        return HTMLResponse(page, status_code=401, headers={"Cache-Control": "no-store"})
    who = accounts.principal_for_token(conn, tok)
    audit.record(
        conn, who, "login", method="POST", path="/login", client=client_address(request), status=303
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, tok, httponly=True, samesite="strict", expires=expires)
    return response


@router.post("/logout", include_in_schema=False)
def logout(conn: ConnDep, request: Request) -> RedirectResponse:
    """Revoke the session, clear the cookie and the browser's stored copies of personal data."""
    tok = request.cookies.get(SESSION_COOKIE)
    if tok:
        accounts.revoke_token(conn, tok)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    # The offline worker map keeps households in the Cache API; "storage" drops those caches
    # and the service worker, "cache" any HTTP-cached tiles. The sign-in page clears them too.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response
