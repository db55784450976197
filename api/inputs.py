"""Text the service cannot store is refused at the door, naming where it was (issue 13).

PostgreSQL text holds no NUL byte, and everything the service stores or compares is UTF-8: a
NUL or a byte sequence that is not UTF-8, in the path, a query parameter, a form field or a
JSON string, is a bad request, not a server error. Checked once here for every route, so no
route has to remember it (api/front.py applies it); uploads of files (tracks, roads,
boundaries) are binary and are checked by their own parsers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import Send

from api.errors import send_refusal
from api.security import UPLOAD_LIMITS

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
    # Decoded whole first: the separators are ASCII, so it holds a NUL or bytes that are not
    # UTF-8 only if some name or value does. Most bodies pass here, pair by pair costs a
    # report ~50 calls; only a suspect one is read pair by pair, to name the problem.
    whole = unquote_to_bytes(encoded.replace(b"+", b" "))
    if b"\x00" not in whole:
        try:
            whole.decode("utf-8")
            return None
        except UnicodeDecodeError:
            pass
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


# Bodies checked whole at the door (small, below the 1 MiB body limit); uploads of files
# (tracks, roads, boundaries) are binary and checked by their own parsers.
CHECKED_TYPES = (b"application/json", b"application/x-www-form-urlencoded")
UNCHECKED_PREFIXES = tuple(prefix for prefix, _ in UPLOAD_LIMITS)


def body_problem(ctype: bytes, body: bytes) -> str | None:
    """What is wrong with a small JSON or form body, or None (not JSON: the route says so)."""
    if ctype == b"application/json":
        try:
            return json_problem(json.loads(body))
        except (ValueError, RecursionError):
            return None
    return form_problem(body, "form field")


async def refuse(send: Send, path: str, status: int, said: str) -> None:
    """400 for a bad path, 422 for a bad query parameter, form field or JSON string."""
    await send_refusal(send, path, status, "InvalidInput", said)
