"""Who is calling: bearer token, session cookie, or the anonymous public; rate limits; audit."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.capacity import ASYNC_POOL_ERRORS, pool_errors
from gisgrid.access import accounts, audit
from gisgrid.errors import (
    DatabaseUnavailable,
    NotAuthenticated,
    Overloaded,
    RateLimited,
    UnknownToken,
)

log = logging.getLogger(__name__)
SESSION_COOKIE = "gisgrid_session"
# auto_error=False: anonymous callers are allowed through as the public and refused per route.
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


class TokenCache:
    """What recently seen tokens stand for, kept `ttl_s` seconds (never past a token's expiry).

    A page polling every few seconds costs one lookup per `ttl_s`, not one per request.
    Revoking a token here evicts it at once; another worker process sees it within `ttl_s`.
    Unknown and revoked tokens are kept too (a guessed token is no cheaper to try twice).
    """

    def __init__(self, ttl_s: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._entries: dict[str, tuple[float, accounts.Principal | NotAuthenticated]] = {}

    def get(self, token_hash: str) -> accounts.Principal | NotAuthenticated | None:
        """The cached principal (or refusal) of a token hash, None if unknown or stale."""
        hit = self._entries.get(token_hash)
        if hit is None or hit[0] <= time.monotonic():
            return None
        return hit[1]

    def put(
        self,
        token_hash: str,
        value: accounts.Principal | NotAuthenticated,
        expires_at: dt.datetime | None = None,
    ) -> None:
        """Keep a principal (or refusal) for ttl_s, or until the token expires if sooner."""
        until = time.monotonic() + self.ttl_s
        if expires_at is not None:
            left = (expires_at - dt.datetime.now(dt.UTC)).total_seconds()
            until = min(until, time.monotonic() + left)
        if len(self._entries) >= self.max_entries:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[token_hash] = (until, value)

    def evict(self, token_hash: str) -> None:
        """Forget one token (it was revoked)."""
        self._entries.pop(token_hash, None)

    def evict_account(self, account_id: int) -> None:
        """Forget every token of an account (its tokens were revoked or it was disabled)."""
        self._entries = {
            k: v
            for k, v in self._entries.items()
            if not (isinstance(v[1], accounts.Principal) and v[1].account_id == account_id)
        }


def request_token(request: Request, bearer: str | None = None) -> str | None:
    """The bearer token of a request, else its session cookie, else None."""
    return bearer or _bearer(request) or request.cookies.get(SESSION_COOKIE) or None


async def principal_of(request: Request, token: str | None) -> accounts.Principal:
    """The principal behind a token: from the cache, else one statement on the async pool."""
    if not token:
        return accounts.PUBLIC  # no database at all: anonymous reads stay cheap
    cache: TokenCache = request.app.state.token_cache
    h = accounts.token_hash(token)
    found = cache.get(h)
    if found is None:
        try:
            found, expires = await accounts.principal_for_token_async(
                request.app.state.intake_pool, token
            )
            cache.put(h, found, expires)
        except UnknownToken as exc:
            cache.put(h, exc)  # never valid again; an expired or disabled one might be
            raise
        except ASYNC_POOL_ERRORS as exc:
            raise pool_errors(exc) from None
    if isinstance(found, NotAuthenticated):
        raise NotAuthenticated(str(found))
    return found


async def get_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2)]
) -> accounts.Principal:
    """The account behind the bearer token or session cookie, else the public."""
    principal = await principal_of(request, request_token(request, token))
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[accounts.Principal, Depends(get_principal)]


def client_address(request: Request) -> str:
    """The caller's address as the server saw it."""
    return request.client.host if request.client else "unknown"


class RateLimiter:
    """A sliding one-minute window per client and bucket, in memory (one process)."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, bucket: str, client: str, per_minute: int) -> None:
        """Count one request; raise RateLimited when the window is full."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits[(bucket, client)]
            while hits and now - hits[0] > 60:
                hits.popleft()
            if len(hits) >= per_minute:
                wait = int(60 - (now - hits[0])) + 1
                raise RateLimited(
                    f"too many {bucket} requests from {client}: at most {per_minute} a minute; "
                    f"try again in {wait} s",
                    retry_after=wait,
                )
            hits.append(now)


def rate_limit(bucket: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency limiting one bucket (its per-minute figure comes from settings)."""

    # async: a plain def would be run in the thread pool, a hop per request for a dict lookup.
    async def check(request: Request) -> None:
        limit = int(getattr(request.app.state.settings, f"rate_limit_{bucket}"))
        request.app.state.rate_limiter.hit(bucket, client_address(request), limit)

    return check


WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class AuditWrites:
    """ASGI middleware: an audit entry for every write request, whoever made it and however it
    ended. Plain ASGI (not BaseHTTPMiddleware) so reads, the hot path for tiles, pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        done = False

        async def record(code: int) -> None:
            nonlocal done
            done = True
            # A route that wrote its own entry in its own transaction says so in the state.
            if not scope.get("state", {}).get("audited"):
                try:
                    await _record_write(Request(scope), code)
                except (*ASYNC_POOL_ERRORS, DatabaseUnavailable, Overloaded):
                    if code < 400:
                        raise  # a write that happened must not go unrecorded
                    # A refused or failed request wrote nothing; with the database down its
                    # entry cannot be written either, and the client still needs the answer.
                    log.warning(
                        "audit entry for a %s %s (%d) not written: database down or busy",
                        scope["method"],
                        scope["path"],
                        code,
                    )

        async def record_then_send(message: Message) -> None:
            # Written before the response leaves: a client that sees the answer can find the entry.
            if message["type"] == "http.response.start" and not done:
                await record(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_then_send)
        finally:
            if not done:
                await record(500)  # failed before answering


# Bodies are counted as they arrive, declared or chunked: 1 MiB for every write except the
# uploads of tracks, roads and boundary files, which have larger limits of their own.
BODY_LIMIT = 1024 * 1024
UPLOAD_LIMITS = (
    # A day of 1 Hz fixes as GPX is ~10 MB; anything far beyond that is a mistake or an attack.
    ("/api/v1/patrols/", 64 * 1024 * 1024),
    ("/api/v1/roads", 64 * 1024 * 1024),
    ("/api/v1/boundaries/", 200 * 1024 * 1024),
)


def body_limit(path: str) -> int:
    """The largest body a write to `path` may have."""
    return next((n for prefix, n in UPLOAD_LIMITS if path.startswith(prefix)), BODY_LIMIT)


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: a write whose body is over its limit (`body_limit`) gets 413, refused
    on the declared length before anything is read, or on the bytes counted as they arrive
    (a chunked body never says its length).

    Reports, steps and sign-ins are a few kilobytes; a megabyte is a client bug or an attack,
    and must neither fill memory nor come back echoed in a validation error.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(send, int(declared), limit, scope["path"])
            return
        seen, started, over = 0, False, False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:  # a chunked body that never said its length, or lied about it
                over = True
                raise _BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if over:
                # The framework answered the interrupted read with its own 400; say why instead.
                if not started:
                    started = True
                    await self._refuse(send, seen, limit, scope["path"])
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _BodyTooLarge:
            if not started:
                await self._refuse(send, seen, limit, scope["path"])

    async def _refuse(self, send: Send, size: int, limit: int, path: str = "") -> None:
        said = (
            f"request body of {size:,}+ bytes is over the {limit:,}-byte limit for this "
            "endpoint; nothing was stored (split a big upload into several)"
        )
        # Open311 clients read errors as the spec's list of {code, description}.
        shaped: object = (
            [{"code": 413, "description": said}]
            if path.startswith("/open311/")
            else {"detail": said, "error": "PayloadTooLarge"}
        )
        body = json.dumps(shaped).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _record_write(request: Request, status: int) -> None:
    principal = request.scope.get("state", {}).get("principal")
    if principal is None:
        try:
            principal = await principal_of(request, request_token(request))
        except (NotAuthenticated, Overloaded, DatabaseUnavailable):
            principal = accounts.PUBLIC
    await audit.record_async(
        request.app.state.intake_pool,
        principal,
        "write",
        method=request.method,
        path=request.url.path,
        client=client_address(request),
        status=status,
    )


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:] if header.lower().startswith("bearer ") else None
