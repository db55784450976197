"""Who is calling: bearer token, session cookie, or the anonymous public; rate limits; audit."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from psycopg_pool import AsyncConnectionPool
from starlette.types import Scope

from api.capacity import ASYNC_POOL_ERRORS, pool_errors
from gisgrid.access import accounts, audit, shared
from gisgrid.errors import (
    DatabaseUnavailable,
    NotAuthenticated,
    Overloaded,
    RateLimited,
    UnknownToken,
)
from gisgrid.media import MAX_PHOTO_BYTES

log = logging.getLogger(__name__)
SESSION_COOKIE = "gisgrid_session"
# auto_error=False: anonymous callers are allowed through as the public and refused per route.
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


class TokenCache:
    """What recently seen tokens stand for, kept `ttl_s` seconds (never past a token's expiry).

    A page polling every few seconds costs one lookup per `ttl_s`, not one per request.
    Revoking a token here evicts it at once; every other worker and host is told by
    PostgreSQL (`gisgrid.access.shared.TokenNotices`) and forgets it too. While that listener
    is down the cache is not read (`principal_of` asks the database every time).
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
        self.forget([], [account_id], False)

    def forget(self, hashes: list[str], account_ids: list[int], everything: bool) -> None:
        """Forget tokens by hash, every token of some accounts, or all (a notice said so)."""
        if everything:
            self._entries = {}
            return
        for h in hashes:
            self._entries.pop(h, None)
        if account_ids:
            ids = set(account_ids)
            self._entries = {
                k: v
                for k, v in self._entries.items()
                if not (isinstance(v[1], accounts.Principal) and v[1].account_id in ids)
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
    # Trusted only while this process hears revocations from every other one (issue 19).
    found = cache.get(h) if request.app.state.token_notices.known else None
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
        again = NotAuthenticated(str(found), reason=found.reason)  # fresh, its reason kept
        again.params = found.params
        raise again
    return found


def forget_token(request: Request, token: str) -> None:
    """Drop a revoked token from this worker's cache at once."""
    request.app.state.token_cache.evict(accounts.token_hash(token))


def forget_account(request: Request, account_id: int) -> None:
    """Drop every cached token of an account (its tokens were revoked)."""
    request.app.state.token_cache.evict_account(account_id)


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
    """Sliding one-minute windows per client and bucket, shared by every worker and host
    when the service runs as several processes (`shared`), else counted in this one.

    The count lives in PostgreSQL (`gisgrid.access.shared.count_hits`: one statement on the
    async pool, the UNLOGGED table `rate_hit`), so N workers refuse at the same count as one.
    This process also remembers the hits the database accepted for it, for 59 s (the database
    keeps a hit 59-60 s): when those alone fill the first key's window, the database's count,
    which includes them, is full too, and the request is refused without asking it. That fast
    path only ever refuses what the shared count would refuse; everything else is counted there.
    While the database cannot be asked, each worker counts alone (`local_fallbacks`).
    """

    LOCAL_WINDOW_S = 59.0

    def __init__(self, shared: bool = True) -> None:
        # Not shared (one process, GISGRID_SHARED_LIMITS off): this process's count is the count.
        self.shared = shared
        self._hits: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._count = 0
        self.local_refusals = 0  # refused by the fast path (for tests and /healthz)
        self.local_fallbacks = 0  # counted here alone: the database could not be asked

    async def hit_all(self, pool: AsyncConnectionPool, keys: list[tuple[str, str, int]]) -> None:
        """Count one request under (bucket, client, per minute) keys in order; raise
        RateLimited naming the first full one (the keys after it are not counted)."""
        now = time.monotonic()  # before asking: the database's timestamp is later, never earlier
        bucket, client, per_minute = keys[0]
        with self._lock:
            hits = self._hits.get((bucket, client))
            while hits and now - hits[0] > self.LOCAL_WINDOW_S:
                hits.popleft()
            if hits is not None and len(hits) >= per_minute:
                self.local_refusals += 1
                wait = int(self.LOCAL_WINDOW_S - (now - hits[0])) + 1
                raise _refusal(bucket, client, per_minute, wait)
        if not self.shared:
            refused, wait = self._count_alone(keys, now)
        else:
            try:
                refused, wait = await shared.count_hits(pool, keys)
            except ASYNC_POOL_ERRORS:
                # The shared count cannot be reached (the database away, or every connection
                # busy): this worker counts alone meanwhile. The request needs the database
                # itself and gets its own answer from it (503 with "send the same request again").
                self.local_fallbacks += 1
                refused, wait = self._count_alone(keys, now)
        counted = keys if refused == 0 else keys[: refused - 1]
        with self._lock:
            for key in counted:
                self._hits[(key[0], key[1])].append(now)
            self._count += 1
            if self._count % 10_000 == 0:  # forget clients (device tokens) not seen for a minute
                self._hits = defaultdict(
                    deque, {k: v for k, v in self._hits.items() if v and now - v[-1] <= 60}
                )
        if refused:
            bucket, client, per_minute = keys[refused - 1]
            raise _refusal(bucket, client, per_minute, wait)

    def _count_alone(self, keys: list[tuple[str, str, int]], now: float) -> tuple[int, int]:
        """(index of the first key full in this worker's own window, wait), or (0, 0)."""
        with self._lock:
            for i, (bucket, client, per_minute) in enumerate(keys, 1):
                hits = self._hits.get((bucket, client))
                while hits and now - hits[0] > self.LOCAL_WINDOW_S:
                    hits.popleft()
                if hits is not None and len(hits) >= per_minute:
                    return i, int(self.LOCAL_WINDOW_S - (now - hits[0])) + 1
        return 0, 0


def _refusal(bucket: str, client: str, per_minute: int, wait: int) -> RateLimited:
    return RateLimited(
        f"too many {bucket} requests from {client}: at most {per_minute} a minute; "
        f"try again in {wait} s",
        retry_after=wait,
    )


DEVICE_HEADER = "x-device-token"
_DEVICE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


async def limit_keys(bucket: str, request: Request) -> list[tuple[str, str, int]]:
    """(bucket, client, per minute) to count one request under.

    Reports are counted per phone (the residents' page sends a device token it keeps) or per
    Open311 API key, and all of an address's together under a much larger ceiling; a client
    with neither counts per address under the small limit, as before.
    """
    settings = request.app.state.settings
    address = client_address(request)
    per_minute = int(getattr(settings, f"rate_limit_{bucket}"))
    if bucket != "intake":
        return [(bucket, address, per_minute)]
    keys = []
    device = request.headers.get(DEVICE_HEADER, "")
    api_key = request.query_params.get("api_key")
    if api_key is None and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        api_key = str((await request.form()).get("api_key") or "") or None
    if _DEVICE.match(device):
        # Counted under the whole token (named by its start and a digest in messages).
        keys.append(("intake-device", _named("device", device, 8), per_minute))
    elif api_key:
        keys.append(("intake-key", _named("API key", api_key, 6), settings.rate_limit_intake_key))
    else:
        keys.append(("intake", address, per_minute))
    # The phone's (or key's) own limit first: one stuck in a retry loop is refused without
    # using up what its neighbours behind the same address may send.
    keys.append(("intake-address", address, settings.rate_limit_intake_address))
    return keys


@functools.lru_cache(maxsize=4096)
def _named(kind: str, token: str, shown: int) -> str:
    """A phone's token or an API key as limits name it: its start and a digest (remembered:
    a busy client is hashed once, not on every request)."""
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    return f"{kind} {token[:shown]}... ({digest})"


def rate_limit(bucket: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency limiting one bucket (its per-minute figures come from settings)."""

    # async: a plain def would be run in the thread pool, a hop per request for a dict lookup.
    async def check(request: Request) -> None:
        limiter: RateLimiter = request.app.state.rate_limiter
        namespace = request.app.state.settings.rate_limit_namespace
        keys = [(namespace + b, c, n) for b, c, n in await limit_keys(bucket, request)]
        await limiter.hit_all(request.app.state.intake_pool, keys)

    return check


WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


async def audit_write(scope: Scope, status: int) -> None:
    """The audit entry of a write request, however it ended (api/front.py calls it)."""
    try:
        await _record_write(Request(scope), status)
    except (*ASYNC_POOL_ERRORS, DatabaseUnavailable, Overloaded):
        if status < 400:
            raise  # a write that happened must not go unrecorded
        # A refused or failed request wrote nothing; with the database down its entry cannot
        # be written either, and the client still needs the answer.
        log.warning(
            "audit entry for a %s %s (%d) not written: database down or busy",
            scope["method"],
            scope["path"],
            status,
        )


# Bodies are counted as they arrive, declared or chunked: 1 MiB for every write except the
# uploads of tracks, roads and boundary files, and multipart uploads of photos, which have
# larger limits of their own.
BODY_LIMIT = 1024 * 1024
UPLOAD_LIMITS = (
    # A patrol report carries at most two photos (the problem, and after the on-the-spot fix).
    ("/api/v1/patrols/reports", 2 * MAX_PHOTO_BYTES + 64 * 1024),
    # A day of 1 Hz fixes as GPX is ~10 MB; anything far beyond that is a mistake or an attack.
    ("/api/v1/patrols/", 64 * 1024 * 1024),
    ("/api/v1/roads", 64 * 1024 * 1024),
    ("/api/v1/boundaries/", 200 * 1024 * 1024),
)
# Writes that may carry a photo (issue 16: a HEIC straight from a phone is a few MB; each photo
# is held to gisgrid.media.MAX_PHOTO_BYTES by the route) get this larger limit instead.
PHOTO_BODY_LIMIT = 24 * 1024 * 1024


def _carries_photo(path: str, content_type: bytes) -> bool:
    """A multipart upload to a path that takes photos (other bodies keep the 1 MiB limit)."""
    return content_type.startswith(b"multipart/form-data") and (
        path.endswith(("/photos", "/visits")) or path.startswith("/open311/v2/requests")
    )


def body_limit(path: str, content_type: bytes = b"") -> int:
    """The largest body a write to `path` (of `content_type`) may have."""
    if _carries_photo(path, content_type):
        return PHOTO_BODY_LIMIT
    return next((n for prefix, n in UPLOAD_LIMITS if path.startswith(prefix)), BODY_LIMIT)


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


def bearer_token(request: Request) -> str | None:
    """The token of an Authorization: Bearer header, or None."""
    return _bearer(request)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:] if header.lower().startswith("bearer ") else None


def _origin_of(url: str) -> str | None:
    """scheme://host[:port] of a URL, the port left out when it is the scheme's default."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname if port in (None, default) else f"{parts.hostname}:{port}"
    return f"{parts.scheme}://{host}".lower()


# Sign-ins and sign-outs are guarded whatever they carry.
SIGN_IN_PATHS = ("/login", "/logout")


def cross_origin(scope: Scope, headers: dict[bytes, bytes]) -> str | None:
    """Why a write is refused as cross-origin, or None: a write signed in by the session cookie
    must come from this site's own pages (Origin, else Referer, equal to this service's
    origin), and so must a sign-in.

    SameSite=Strict keeps the cookie from other sites, but a page on another port of the same
    host is the same site: it made an operator's browser import boundaries (issue 13). Bearer
    requests are not guarded (a browser never adds that header by itself).
    """
    cookie = f"{SESSION_COOKIE}=".encode() in headers.get(b"cookie", b"")
    bearer = headers.get(b"authorization", b"").lower().startswith(b"bearer ")
    if not ((cookie and not bearer) or scope["path"] in SIGN_IN_PATHS):
        return None
    host = headers.get(b"host", b"").decode("latin-1")
    own = _origin_of(f"{scope.get('scheme', 'http')}://{host}")
    said = headers.get(b"origin") or headers.get(b"referer")
    if said is None:
        ok = not cookie  # a signed-in write with neither header: not from a browser page
    else:
        ok = own is not None and _origin_of(said.decode("latin-1")) == own
    if ok:
        return None
    return (
        f"a signed-in write from {said.decode('latin-1')[:100] if said else 'an unknown page'}"
        f" is refused: this service takes writes signed in by its cookie only from its own "
        f"pages ({own}); programs send Authorization: Bearer <token>"
    )


def content_security_policy(basemap_url: str | None) -> str:
    """The pages' CSP: nothing from another host (a configured basemap's images excepted), no
    framing. Inline scripts stay allowed: folium writes its maps as inline script."""
    images = "'self' data: blob:"
    basemap = _origin_of(basemap_url.replace("{s}", "a")) if basemap_url else None
    if basemap:
        images += f" {basemap}"
        if "{s}" in (basemap_url or ""):
            images += " " + basemap.replace("://a.", "://*.", 1)
    return (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; font-src 'self' data:; connect-src 'self'; worker-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    )
