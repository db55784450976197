"""Signing in: OAuth2 password form -> bearer token; a session cookie for the map pages."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm

from api.browser import LangDep, switch_url
from api.deps import DbDep
from api.security import (
    SESSION_COOKIE,
    PrincipalDep,
    bearer_token,
    client_address,
    forget_account,
    forget_token,
    rate_limit,
    request_token,
)
from gisgrid import errors
from gisgrid.access import accounts, signin
from maps import offline, site
from maps.i18n import t

router = APIRouter(tags=["auth"])


@router.post("/api/v1/auth/token", dependencies=[Depends(rate_limit("login"))])
async def token(
    db: DbDep, request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> dict[str, Any]:
    """Exchange a username and password for a bearer token (OAuth2 password flow), valid an
    hour; refresh it before then. After 5 wrong passwords in a row for a username, each next
    attempt waits (429 with Retry-After), whichever address it comes from."""
    done = await db.run(
        signin.sign_in,
        form.username,
        form.password,
        accounts.TOKEN_TTL,
        request.url.path,
        client_address(request),
        200,
    )
    return _issued(done)


def _issued(done: signin.SignIn) -> dict[str, Any]:
    if done.refused is not None:
        raise done.refused
    assert done.principal is not None and done.expires is not None
    return {
        "access_token": done.token,
        "token_type": "bearer",
        "expires_at": done.expires.isoformat(),
        "role": done.principal.role,
        "scope": done.principal.scope,
    }


@router.post("/api/v1/auth/refresh")
async def refresh(request: Request, response: Response, db: DbDep) -> dict[str, Any]:
    """A fresh token for the one you send (bearer, or the session cookie, which is renewed);
    the old one is revoked."""
    tok = request_token(request)
    if not tok:
        raise errors.NotAuthenticated("send the token to refresh: Authorization: Bearer <token>")
    from_cookie = tok == request.cookies.get(SESSION_COOKIE) and not bearer_token(request)
    ttl = accounts.SESSION_TTL if from_cookie else accounts.TOKEN_TTL
    done = await db.run(signin.refresh, tok, ttl)
    forget_token(request, tok)
    issued = _issued(done)
    if from_cookie:
        _set_session(request, response, issued["access_token"], done.expires)
    return issued


@router.post("/api/v1/auth/revoke")
async def revoke(request: Request, response: Response, db: DbDep) -> dict[str, Any]:
    """Revoke the token you send (bearer or session cookie): it is refused from now on."""
    tok = request_token(request)
    if not tok:
        raise errors.NotAuthenticated("send the token to revoke: Authorization: Bearer <token>")
    revoked = await db.run(accounts.revoke_token, tok)
    forget_token(request, tok)
    if tok == request.cookies.get(SESSION_COOKIE):
        response.delete_cookie(SESSION_COOKIE)
    return {"revoked": revoked}


@router.post("/api/v1/accounts/{username}/tokens/revoke")
async def revoke_account_tokens(
    request: Request, db: DbDep, who: PrincipalDep, username: Annotated[str, Path(max_length=64)]
) -> dict[str, Any]:
    """Admins: revoke every live token of an account (a lost phone, someone who left)."""
    account_id, revoked = await db.run(accounts.revoke_tokens_of, who, username)
    forget_account(request, account_id)
    return {"username": username, "revoked": revoked}


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
async def login(
    db: DbDep,
    request: Request,
    lang: LangDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Sign in from the form and set an HttpOnly session cookie; a failure shows the form again."""
    done = await db.run(
        signin.sign_in,
        username,
        password,
        accounts.SESSION_TTL,
        "/login",
        client_address(request),
        303,
    )
    if done.refused is not None:
        wait = done.refused.retry_after if isinstance(done.refused, errors.RateLimited) else None
        problem = t(lang, "login.too_many", seconds=wait) if wait else t(lang, "login.failed")
        page = _login_page(request, lang, next, problem)
        headers = {"Cache-Control": "no-store"} | ({"Retry-After": str(wait)} if wait else {})
        return HTMLResponse(page, status_code=429 if wait else 401, headers=headers)
    response = RedirectResponse(_safe_next(next), status_code=303)
    _set_session(request, response, done.token, done.expires)
    return response


def _set_session(
    request: Request, response: Response, tok: str | None, expires: dt.datetime | None
) -> None:
    # Secure whenever the browser reached us over TLS (directly, or through a trusted proxy
    # that said so): the cookie then never travels in clear.
    response.set_cookie(
        SESSION_COOKIE,
        tok or "",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        expires=expires,
    )


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, db: DbDep) -> RedirectResponse:
    """Revoke the session (and a bearer token sent along), clear the cookie and the browser's
    stored copies of personal data."""
    for tok in {request.cookies.get(SESSION_COOKIE), bearer_token(request)} - {None, ""}:
        assert tok is not None
        await db.run(accounts.revoke_token, tok)
        forget_token(request, tok)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    # The offline worker map keeps households in the Cache API; "storage" drops those caches
    # and the service worker, "cache" any HTTP-cached tiles. The sign-in page clears them too.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response
