"""Who is calling: bearer token, session cookie, or the anonymous public; rate limits; audit."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Annotated

import psycopg
import sqlalchemy.exc
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gisgrid.access import accounts, audit
from gisgrid.errors import GisGridError, RateLimited

log = logging.getLogger(__name__)
SESSION_COOKIE = "gisgrid_session"
# auto_error=False: anonymous callers are allowed through as the public and refused per route.
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def _principal_for(request: Request, token: str | None) -> accounts.Principal:
    token = token or request.cookies.get(SESSION_COOKIE)
    if not token:
        return accounts.PUBLIC
    with request.app.state.engine.begin() as conn:
        return accounts.principal_for_token(conn, token)


async def get_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2)]
) -> accounts.Principal:
    """The account behind the bearer token or session cookie, else the public."""
    if token or request.cookies.get(SESSION_COOKIE):
        principal = await run_in_threadpool(_principal_for, request, token)
    else:
        principal = accounts.PUBLIC  # no database, no thread hop: anonymous reads stay cheap
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
                    f"try again in {wait} s"
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
                    await run_in_threadpool(_record_write, Request(scope), code)
                except (sqlalchemy.exc.OperationalError, psycopg.OperationalError):
                    if code < 400:
                        raise  # a write that happened must not go unrecorded
                    # A refused or failed request wrote nothing; with the database down its
                    # entry cannot be written either, and the client still needs the answer.
                    log.warning(
                        "audit entry for a %s %s (%d) not written: database down",
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


# Uploads that take big bodies check their own, larger limits (files of tracks, boundaries).
OWN_BODY_LIMITS = ("/api/v1/patrols/", "/api/v1/roads", "/api/v1/boundaries/")
BODY_LIMIT = 1024 * 1024
# Writes that may carry a photo (issue 16: a HEIC straight from a phone is a few MB; each photo
# is held to gisgrid.media.MAX_PHOTO_BYTES by the route) get this larger limit instead.
PHOTO_BODY_LIMIT = 24 * 1024 * 1024


def _carries_photo(path: str, content_type: bytes) -> bool:
    """A multipart upload to a path that takes photos (other bodies keep the 1 MiB limit)."""
    return content_type.startswith(b"multipart/form-data") and (
        path.endswith(("/photos", "/visits")) or path.startswith("/open311/v2/requests")
    )


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: a write whose body is over BODY_LIMIT gets 413 before anything reads it.

    Reports, steps and sign-ins are a few kilobytes; a megabyte is a client bug or an attack,
    and must neither fill memory nor come back echoed in a validation error.
    """

    def __init__(self, app: ASGIApp, limit: int = BODY_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in WRITE_METHODS
            or scope["path"].startswith(OWN_BODY_LIMITS)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        photo = _carries_photo(scope["path"], headers.get(b"content-type", b""))
        limit = PHOTO_BODY_LIMIT if photo else self.limit
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(send, int(declared), scope["path"], limit)
            return
        seen, started, over = 0, False, False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:  # a chunked body that never said its length
                over = True
                raise _BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if over:
                # The framework answered the interrupted read with its own 400; say why instead.
                if not started:
                    started = True
                    await self._refuse(send, seen, scope["path"], limit)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _BodyTooLarge:
            if not started:
                await self._refuse(send, seen, scope["path"], limit)

    async def _refuse(self, send: Send, size: int, path: str = "", limit: int = 0) -> None:
        limit = limit or self.limit
        said = (
            f"request body of {size:,}+ bytes is over the {limit:,}-byte limit for this "
            "endpoint; nothing was stored"
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


def _record_write(request: Request, status: int) -> None:
    principal = request.scope.get("state", {}).get("principal")
    if principal is None:
        try:
            principal = _principal_for(request, _bearer(request))
        except GisGridError:
            principal = accounts.PUBLIC
    with request.app.state.engine.begin() as conn:
        audit.record(
            conn,
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
