"""Text the service cannot store is refused at the door, naming where it was (issue 13).

PostgreSQL text holds no NUL byte, and everything the service stores or compares is UTF-8: a
NUL or a byte sequence that is not UTF-8, in the path, a query parameter, a form field or a
JSON string, is a bad request, not a server error. Checked once here for every route, so no
route has to remember it; uploads of files (tracks, roads, boundaries) are binary and are
checked by their own parsers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import send_refusal
from api.security import UPLOAD_LIMITS, WRITE_METHODS

NUL = "\x00"


def _pairs(encoded: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Raw (name, value) bytes of an application/x-www-form-urlencoded string."""
    for part in encoded.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        yield (
            unquote_to_bytes(name.replace(b"+", b" ")),
            unquote_to_bytes(value.replace(b"+", b" ")),
        )


def form_problem(encoded: bytes, where: str) -> str | None:
    """What is wrong with a query string or form body (NUL, not UTF-8), or None."""
    for raw_name, raw_value in _pairs(encoded):
        name = raw_name.decode("utf-8", errors="replace")
        if NUL in name:
            return f"{where} name {name!r} contains a NUL byte (\\x00)"
        try:
            value = raw_value.decode("utf-8")
        except UnicodeDecodeError as exc:
            return (
                f"{where} {name!r} is not UTF-8 text (byte {raw_value[exc.start]:#04x} at "
                f"position {exc.start}); send text percent-encoded as UTF-8"
            )
        if NUL in value:
            return (
                f"{where} {name!r} contains a NUL byte (\\x00) at character {value.index(NUL)}; "
                "text may not contain NUL"
            )
    return None


def json_problem(value: Any, where: str = "body") -> str | None:
    """The first string (or key) holding a NUL in parsed JSON, named by its path, or None."""
    if isinstance(value, str):
        if NUL in value:
            return (
                f"{where} contains a NUL byte (\\x00) at character {value.index(NUL)}; "
                "text may not contain NUL"
            )
        if not _is_unicode(value):
            return f"{where} holds a lone surrogate (\\ud800-\\udfff): not Unicode text"
    elif isinstance(value, dict):
        for k, v in value.items():
            if NUL in k or not _is_unicode(k):
                return f"{where} has a key {k!r} that is not storable text (NUL or surrogate)"
            found = json_problem(v, f"{where}.{k}")
            if found:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = json_problem(v, f"{where}[{i}]")
            if found:
                return found
    return None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def path_problem(path: str) -> str | None:
    """A NUL (or text that was not UTF-8) in a path segment, named, or None."""
    for segment in path.split("/"):
        if NUL in segment:
            return f"path segment {segment!r} contains a NUL byte (\\x00)"
        if "\ufffd" in segment:
            return f"path segment {segment!r} is not UTF-8 text"
    return None


class InputGuard:
    """ASGI middleware: 400 for a bad path, 422 for a bad query parameter, form field or JSON
    string, each naming the parameter or field; everything else passes untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        bad = path_problem(path)
        if bad:
            await _refuse(send, path, 400, bad)
            return
        bad = form_problem(scope.get("query_string", b""), "query parameter")
        if bad:
            await _refuse(send, path, 422, bad)
            return
        ctype = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
        checked = (b"application/json", b"application/x-www-form-urlencoded")
        if (
            scope["method"] not in WRITE_METHODS
            or ctype not in checked
            or path.startswith(tuple(prefix for prefix, _ in UPLOAD_LIMITS))
        ):
            await self.app(scope, receive, send)
            return
        # Small bodies only (BodyLimit, outside this, stops them at 1 MiB): read, check, replay.
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages)
        if ctype == b"application/json":
            try:
                bad = json_problem(json.loads(body))
            except (ValueError, RecursionError):
                bad = None  # not JSON: the route's own validation says so
        else:
            bad = form_problem(body, "form field")
        if bad:
            await _refuse(send, path, 422, bad)
            return
        replay = iter(messages)

        async def replayed() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)


async def _refuse(send: Send, path: str, status: int, said: str) -> None:
    await send_refusal(send, path, status, "InvalidInput", said)
