"""The front door: the one ASGI middleware every request passes, doing in one pass what eleven
stacked layers did (issue 18).

Each stacked layer cost every request a coroutine frame, a send (and often a receive) wrapper
and its own scan of the headers: ~0.13 ms of the worker per report, as much as its parse.
Here the headers are read once and a write's answer passes two wrappers, a read's one. The
work and its order are the layers' own, outermost first:

1. access log (api/access_log): one line per request, the connection's own address;
2. flood limit (api/capacity.InFlight): 503 + Retry-After beyond the limit, event streams
   counted apart, a request whose client has left dropped unanswered;
3. trusted proxies: the client address and scheme a trusted proxy reports;
4. security headers on every answer, and gzip when the client asks for it (bodies >= 2 KiB);
5. warm grid tiles answered from the cache (api/routers/tiles.CachedGridTiles);
6. ?lang= remembered in a cookie;
7. for writes: the audit entry (refusals included), same origin for cookie-signed writes, the
   body limit (413);
8. input guard (api/inputs): NUL or non-UTF-8 in the path, query or a small body refused;
9. the intake's POST (a `direct` route) answered here, not through the router (issue 18).
"""

from __future__ import annotations

import dataclasses
import inspect
import ipaddress
import time
from collections.abc import Awaitable, Sequence
from typing import Any
from urllib.parse import parse_qsl

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, MutableHeaders, QueryParams, UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipResponder
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import inputs, security
from api.access_log import AccessLog
from api.browser import LANG_COOKIE
from api.capacity import ARRIVED, CLIENT, ClientWatch, InFlight
from api.errors import send_refusal
from api.routers.tiles import CachedGridTiles
from maps import i18n

# Compressed from this size up (smaller answers gain nothing on a weak link), at level 5.
GZIP_MINIMUM = 2048
GZIP_LEVEL = 5
_EXCLUDED = frozenset(DEFAULT_EXCLUDED_CONTENT_TYPES)
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_REFERRER = (b"referrer-policy", b"same-origin")


@dataclasses.dataclass
class FrontDoor:
    """ASGI middleware: the service's front door (see the module's docstring for its work)."""

    app: ASGIApp
    access_log: AccessLog | None = None
    in_flight: InFlight = dataclasses.field(default_factory=InFlight)
    trusted: list[str] = dataclasses.field(default_factory=list)
    basemap_url: str | None = None
    tiles: CachedGridTiles = dataclasses.field(default_factory=CachedGridTiles)
    # POST routes whose endpoint takes the request alone (open311.RequestOnly), answered here.
    direct: Sequence[APIRoute] = ()

    def __post_init__(self) -> None:
        self.nets = [
            ipaddress.ip_network(t.strip(), strict=False) for t in self.trusted if t.strip()
        ]
        self.csp = security.content_security_policy(self.basemap_url).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                scope = self._proxied(scope)
            await self.app(scope, receive, send)
            return
        log = self.access_log
        t0 = time.perf_counter()
        answered = _Answered(send)
        try:
            await self._admitted(scope, receive, answered)
        finally:
            if log is not None:
                log.append(scope, answered.status, time.perf_counter() - t0)

    async def _admitted(self, scope: Scope, receive: Receive, answered: _Answered) -> None:
        """The flood limit, then the rest; its refusals carry no other layer's headers."""
        path = scope["path"]
        limit = self.in_flight
        if path in limit.EXEMPT:
            await self._served(scope, receive, answered)
            return
        if path in limit.STREAMS:
            if limit.streams >= limit.stream_limit:
                await limit.refuse(scope, answered, f"{limit.streams} event streams open")
                return
            limit.streams += 1
            try:
                await self._served(scope, receive, answered)
            finally:
                limit.streams -= 1
            return
        if limit.in_flight >= limit.limit:
            await limit.refuse(scope, answered, f"{limit.in_flight} requests in progress")
            return
        watch = ClientWatch(receive)
        if watch.left_now():
            # Its client gave up while it waited to be read (an overload's backlog): no work,
            # no answer, no slot (issue 13).
            limit.gone += 1
            return
        limit.in_flight += 1
        ARRIVED.set(time.monotonic())
        CLIENT.set(watch)
        try:
            await self._served(scope, watch.receive, answered)
        finally:
            limit.in_flight -= 1

    def _proxied(self, scope: Scope) -> Scope:
        """The scope with the client address and scheme a trusted proxy reports."""
        client = scope.get("client")
        if not self.nets or not client or not self._trusted(client[0]):
            return scope
        headers = dict(scope["headers"])
        chain = [
            a.strip()
            for a in headers.get(b"x-forwarded-for", b"").decode("latin-1").split(",")
            if a.strip()
        ]
        # The right-most address no trusted proxy added is the client's own.
        for addr in reversed(chain):
            if not self._trusted(addr):
                scope = {**scope, "client": (addr, 0)}
                break
        proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").split(",")[0]
        if proto.strip() in ("http", "https"):
            scope = {**scope, "scheme": proto.strip()}
        return scope

    def _trusted(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in net for net in self.nets)

    async def _served(self, scope: Scope, receive: Receive, answered: _Answered) -> None:
        """Security headers and compression around the answer, then the inner work."""
        scope = self._proxied(scope)
        headers = dict(scope["headers"])
        secured = _Secured(answered, self.csp)
        if b"gzip" in headers.get(b"accept-encoding", b""):
            gzip = GZipResponder(
                lambda s, r, w: self._inner(s, r, w, headers),
                GZIP_MINIMUM,
                compresslevel=GZIP_LEVEL,
            )
            await gzip(scope, receive, secured.send)
        else:
            await self._inner(scope, receive, _Identity(secured.send).send, headers)

    def _inner(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, bytes]
    ) -> Awaitable[None]:
        """Warm tiles, the language cookie, then a write's checks or a read's."""
        tile = self.tiles.answer(scope, send)
        if tile is not None:
            return tile
        lang = None
        if b"lang=" in scope.get("query_string", b""):
            asked = QueryParams(scope["query_string"]).get("lang")
            lang = i18n.pick_lang(asked) if asked else None
        if scope["method"] in security.WRITE_METHODS:
            return self._write(scope, receive, send, headers, lang)
        if lang:
            send = _with_lang(send, lang)
        return self._guarded(scope, receive, send, headers)

    async def _write(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[bytes, bytes],
        lang: str | None,
    ) -> None:
        """Audit, same origin and the body limit around a write (each layer's order kept)."""
        path = scope["path"]
        limit = security.body_limit(path, headers.get(b"content-type", b""))
        write = _Write(scope, send, lang, limit)
        try:
            refusal = security.cross_origin(scope, headers)
            if refusal:
                await send_refusal(write.audited_send, path, 403, "CrossOrigin", refusal)
                return
            declared = headers.get(b"content-length", b"")
            if declared.isdigit() and int(declared) > write.limit:
                await write.refuse_size(int(declared))
                return

            async def counted() -> Message:
                message = await receive()
                write.seen += len(message.get("body", b""))
                if write.seen > write.limit:  # a chunked body never said its length, or lied
                    write.over = True
                    raise _BodyTooLarge
                return message

            try:
                await self._guarded(scope, counted, write.send, headers)
            except _BodyTooLarge:
                if not write.started:
                    await write.refuse_size(write.seen)
        finally:
            if not write.audited:
                await write.record(500)  # failed before answering

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, bytes]
    ) -> None:
        """The input guard: a bad path, query or small body is refused, naming where."""
        path = scope["path"]
        bad = inputs.path_problem(path)
        if bad:
            await inputs.refuse(send, path, 400, bad)
            return
        query: bytes = scope.get("query_string", b"")
        bad = inputs.form_problem(query, "query parameter") if query else None
        if bad:
            await inputs.refuse(send, path, 422, bad)
            return
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if (
            scope["method"] not in security.WRITE_METHODS
            or ctype not in inputs.CHECKED_TYPES
            or path.startswith(inputs.UNCHECKED_PREFIXES)
        ):
            await self._routed(scope, receive, send)
            return
        # Small bodies only (the body limit stops them at 1 MiB): read, check, replay.
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages)
        bad = inputs.body_problem(ctype, body)
        if bad:
            await inputs.refuse(send, path, 422, bad)
            return
        replay = iter(messages)

        async def replayed() -> Message:
            return next(replay, None) or await receive()

        form = _form(body) if ctype == _URLENCODED else None
        await self._routed(scope, replayed, send, form)

    async def _routed(
        self, scope: Scope, receive: Receive, send: Send, form: FormData | None = None
    ) -> None:
        """A direct route's endpoint called here, anything else through the app's router.

        The router's way costs a report ~0.07 ms of the worker (issue 18): the framework's
        exception layer, an exit stack, matching through the included routers, a second
        exception layer and the endpoint's wrapper. A direct route skips them all; its errors
        go to the app's own exception handlers (api/errors.py's table), as the router's would.
        An urlencoded `form` read here already is its request's form: parsed once, not again.
        """
        if scope["method"] == "POST":
            for route in self.direct:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child)
                    await _answer(route, _Posted(scope, receive, form), send)
                    return
        await self.app(scope, receive, send)


_URLENCODED = b"application/x-www-form-urlencoded"
# Starlette's form parser refuses more fields (400): such a body is left to it.
_MAX_FIELDS = 1000


def _form(body: bytes) -> FormData | None:
    """An urlencoded body as Starlette's form parser reads it (names and values decoded from
    latin-1, then %-escapes as UTF-8, `+` as a space, blank values kept, empty fields skipped),
    at a fraction of its cost; None for a body it would refuse."""
    if body.count(b"&") >= _MAX_FIELDS:
        return None
    fields: list[tuple[str, str | UploadFile]] = [
        *parse_qsl(body.decode("latin-1"), keep_blank_values=True)
    ]
    return FormData(fields)


class _Posted(Request):
    """A request whose urlencoded form the front door has parsed already (None: not yet)."""

    def __init__(self, scope: Scope, receive: Receive, form: FormData | None) -> None:
        super().__init__(scope, receive)
        self._form = form


async def _answer(route: APIRoute, request: Request, send: Send) -> None:
    """A direct route's answer, or the app's answer to the exception it raised."""
    scope, receive = request.scope, request.receive
    try:
        response = await route.endpoint(request)
    except Exception as exc:
        handler = _handler_for(scope["app"].exception_handlers, exc)
        if handler is None:
            raise  # the server's 500, as from the router
        if inspect.iscoroutinefunction(handler):
            response = await handler(request, exc)
        else:
            response = await run_in_threadpool(handler, request, exc)
    await response(scope, receive, send)


def _handler_for(handlers: dict[Any, Any], exc: Exception) -> Any:
    """The handler Starlette's exception layer would pick: an HTTP error's by its status
    first, else the nearest class's; none for Exception itself (the server's 500)."""
    if isinstance(exc, HTTPException) and exc.status_code in handlers:
        return handlers[exc.status_code]
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None


class _BodyTooLarge(Exception):
    pass


class _Answered:
    """The server's send, noting the status (for the access log)."""

    __slots__ = ("_send", "status")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0

    def __call__(self, message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        return self._send(message)


class _Secured:
    """nosniff and a same-origin Referrer-Policy on every answer; on pages a CSP forbidding
    off-host sources and framing (X-Frame-Options too, for old browsers)."""

    __slots__ = ("_send", "csp")

    def __init__(self, send: Send, csp: bytes) -> None:
        self._send, self.csp = send, csp

    def send(self, message: Message) -> Awaitable[None]:
        """Add the headers to the start of the answer."""
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            have = {k.lower() for k, _ in headers}
            extra = [_NOSNIFF, _REFERRER]
            if dict(headers).get(b"content-type", b"").startswith(b"text/html"):
                extra += [(b"content-security-policy", self.csp), (b"x-frame-options", b"DENY")]
            headers += [(k, v) for k, v in extra if k not in have]
            message = {**message, "headers": headers}
        return self._send(message)


class _Identity:
    """What compression does when the client did not ask for it: answers of 2 KiB or more
    (or streamed) still say `Vary: Accept-Encoding`, so a cache keeps the two apart."""

    __slots__ = ("_send", "start", "passing")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.start: Message | None = None
        self.passing = False

    async def send(self, message: Message) -> None:
        """Hold the start until the first body says how large the answer is."""
        kind = message["type"]
        if self.passing:
            await self._send(message)
        elif kind == "http.response.start":
            self.start = message
            headers = message.setdefault("headers", [])
            ctype, encoded = b"", False
            for k, v in headers:
                k = k.lower()
                if k == b"content-type":
                    ctype = ctype or v
                elif k == b"content-encoding":
                    encoded = True
            media = ctype.decode("latin-1").partition(";")[0].strip().lower()
            excluded = media in _EXCLUDED or media.partition("/")[0] + "/*" in _EXCLUDED
            if media.startswith("application/grpc+"):
                excluded = True
            if encoded or message["status"] == 206 or excluded:
                self.passing = True
                await self._send(message)
        elif kind == "http.response.body" and self.start is not None:
            start, self.start = self.start, None
            self.passing = True
            body = message.get("body", b"")
            if len(body) >= GZIP_MINIMUM or message.get("more_body", False):
                MutableHeaders(raw=start["headers"]).add_vary_header("Accept-Encoding")
            await self._send(start)
            await self._send(message)
        elif kind == "http.response.pathsend" and self.start is not None:
            start, self.start = self.start, None
            self.passing = True
            await self._send(start)
            await self._send(message)
        else:
            await self._send(message)


def _lang_cookie(lang: str) -> bytes:
    return f"{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax".encode()


def _with_lang(send: Send, lang: str) -> Send:
    cookie = _lang_cookie(lang)

    async def with_cookie(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", []).append((b"set-cookie", cookie))
        await send(message)

    return with_cookie


class _Write:
    """One write's answer: audited before it leaves (refusals too), a 413 in place of the
    framework's own answer to a body cut off at its limit, the language cookie."""

    def __init__(self, scope: Scope, send: Send, lang: str | None, limit: int) -> None:
        self.scope, self._send, self.limit = scope, send, limit
        self.cookie = _lang_cookie(lang) if lang else None
        self.audited = self.started = self.over = False
        self.seen = 0

    async def record(self, status: int) -> None:
        """The write's audit entry, unless the route wrote its own in its own transaction."""
        self.audited = True
        if not self.scope.get("state", {}).get("audited"):
            await security.audit_write(self.scope, status)

    async def send(self, message: Message) -> None:
        """The route's answer (dropped for a 413 once the body went over its limit)."""
        if self.over:
            # The framework answered the interrupted read with its own 400; say why instead.
            if not self.started:
                self.started = True
                await self.refuse_size(self.seen)
            return
        self.started = self.started or message["type"] == "http.response.start"
        await self.audited_send(message)

    async def audited_send(self, message: Message) -> None:
        """Audit at the start (written before the answer leaves: a client that sees it can
        find the entry), then pass the answer on."""
        if message["type"] == "http.response.start":
            if not self.audited:
                await self.record(message["status"])
            if self.cookie:
                message.setdefault("headers", []).append((b"set-cookie", self.cookie))
        await self._send(message)

    async def refuse_size(self, size: int) -> None:
        """413, naming the size and the limit."""
        said = (
            f"request body of {size:,}+ bytes is over the {self.limit:,}-byte limit for this "
            "endpoint; nothing was stored (split a big upload into several)"
        )
        # Open311 clients read errors as the spec's list of {code, description}.
        await send_refusal(self.audited_send, self.scope["path"], 413, "PayloadTooLarge", said)
