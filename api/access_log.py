"""The service's access log: one logfmt line per request, written by a thread in batches.

uvicorn's own access log formats, writes and flushes every line on the event loop, one system
call per request: on the project's 2-core machines that took a bare FastAPI endpoint from
~5,200 to ~1,600 requests/s. `gisgrid serve` turns it off and this takes its place: the request
path only builds a short line and appends it to a deque (a few microseconds); a daemon thread
writes whatever has gathered every `flush_s` seconds in one call. Lines carry the path without
its query string, so keys and receipts sent as parameters never reach a log file.

  ts=2026-11-29T10:31:07Z client=10.0.0.7 method=POST path=/open311/v2/requests.json status=201 ms=5
"""

from __future__ import annotations

import atexit
import sys
import threading
import time
from collections import deque
from typing import IO

from starlette.types import Scope


class LineWriter:
    """Lines appended from any thread, written to `out` in batches by a daemon thread."""

    def __init__(self, out: IO[str] | None = None, flush_s: float = 0.2) -> None:
        self.out = out
        self.flush_s = flush_s
        self.lines: deque[str] = deque()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def append(self, line: str) -> None:
        """Queue one line (ending in a newline)."""
        self.lines.append(line)
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
                self._thread.start()
                atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_s)
            self.flush()

    def flush(self) -> None:
        """Write everything queued so far."""
        batch = []
        while self.lines:
            batch.append(self.lines.popleft())
        if batch:
            out = self.out or sys.stderr
            out.write("".join(batch))
            out.flush()


class AccessLog:
    """A line per HTTP request with its status and time taken (api/front.py calls it)."""

    def __init__(self, writer: LineWriter | None = None) -> None:
        self.writer = writer or LineWriter()
        self._second = -1
        self._stamp = ""

    def append(self, scope: Scope, status: int, secs: float) -> None:
        """Queue the line of one answered request (status 0: it failed before answering)."""
        self.writer.append(self._line(scope, status, secs))

    def _line(self, scope: Scope, status: int, secs: float) -> str:
        now = int(time.time())
        if now != self._second:  # the timestamp is formatted once a second, not per request
            self._second, self._stamp = now, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        client = scope.get("client")
        # The path as sent (still percent-encoded: no spaces, quotes or line breaks to forge
        # a line with), without the query string.
        raw = scope.get("raw_path")
        path = raw.split(b"?", 1)[0].decode("latin-1") if raw else repr(scope["path"])
        return (
            f"ts={self._stamp} client={client[0] if client else '-'} method={scope['method']} "
            f"path={path} status={status or 500} ms={secs * 1000:.1f}\n"
        )
