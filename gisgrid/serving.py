"""uvicorn as `gisgrid serve` runs it: one process, or N worker processes on one socket.

Imported by the CLI only (it pulls in uvicorn). `WorkerProcess` is at module level because
uvicorn's supervisor pickles each worker process to start it (spawn), and a pickled class must be
importable by name.
"""

from __future__ import annotations

import asyncio
from socket import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import multiprocess

from gisgrid.reports.events import end_streams


def server_class() -> type[uvicorn.Server]:
    """uvicorn's server class, telling open event streams "bye" as a shutdown begins."""

    class Server(uvicorn.Server):
        # Open event streams (phones, walls) would hold a shutdown until its deadline: they are
        # told "bye" as it begins, so only requests in progress use the graceful-shutdown time.
        async def shutdown(self, sockets: list[socket] | None = None) -> None:
            end_streams()
            await super().shutdown(sockets)

    return Server


class _OneWrite:
    """A connection's transport whose writes of one pass of the event loop go out as one.

    uvicorn writes an answer's head and its body separately: two sends, two TCP segments and
    two wake-ups of the client per answer. Held until the loop's next pass (the head and body
    of an answer are written in the same pass; a streamed body's later chunks go out a pass
    later), they leave in one send. Everything else is the transport's own.
    """

    # More than this goes out at once: the transport's own buffer and its flow control (a body
    # streamed without a pause still meets uvicorn's wait for the client) see it as before.
    HOLD_LIMIT = 64 * 1024

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport, self._loop = transport, loop
        self._held: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Hold `data` until the loop's next pass (or send it now, with what is held, when
        that is more than HOLD_LIMIT)."""
        if not self._held:
            self._loop.call_soon(self._flush)
        self._held.append(bytes(data))
        self._size += len(data)
        if self._size > self.HOLD_LIMIT:
            self._flush()

    def writelines(self, data: Any) -> None:
        """Hold each of `data`."""
        for chunk in data:
            self.write(chunk)

    def _flush(self) -> None:
        held, self._held, self._size = self._held, [], 0
        if held and not self._transport.is_closing():
            self._transport.write(b"".join(held) if len(held) > 1 else held[0])

    def close(self) -> None:
        """Send what is held, then close."""
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol (uvicorn[standard] brings httptools) on a `_OneWrite`
    transport: each answer in one write."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """The connection, its writes held until the loop's next pass."""
        held: Any = _OneWrite(transport, self.loop)
        super().connection_made(held)


class WorkerProcess(multiprocess.Process):
    """uvicorn's worker process running `server_class()` (uvicorn's own runs its plain server)."""

    @property
    def server(self) -> uvicorn.Server:
        """This worker's server, made in the worker process on first use."""
        if self._server is None:
            self._server = server_class()(config=self.config)
        return self._server


def config(app: str, host: str, port: int, workers: int = 1) -> uvicorn.Config:
    """What `gisgrid serve` hands uvicorn for `app` (an import string naming an app factory);
    the benchmarks serve their peers with it too, so only the app differs."""
    # uvicorn's access log is off: it wrote a line per request on the event loop; the app's
    # own (GISGRID_ACCESS_LOG, api/access_log.py) writes them in batches from a thread.
    # proxy_headers off: the app believes X-Forwarded-* only from GISGRID_TRUSTED_PROXIES
    # (uvicorn's own default would believe any client on 127.0.0.1).
    return uvicorn.Config(
        app,
        factory=True,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        proxy_headers=False,
        # SIGTERM: requests in progress get 10 s to finish, then the worker exits regardless.
        timeout_graceful_shutdown=10,
        workers=workers,
        # httptools (uvloop is uvicorn's own pick), each answer sent in one write.
        http=OneWriteHttp,
    )


def run(config: Any, workers: int = 1) -> None:
    """Serve `config` (a uvicorn.Config): in this process, or `workers` processes on one socket.

    What the workers must agree on lives in PostgreSQL: rate limits (`rate_hit`), token
    revocations and the current grid generation (LISTEN/NOTIFY); see docs/scale.md.
    """
    if workers <= 1:
        server_class()(config).run()
        return
    # The supervisor builds (and rebuilds, when one dies) its workers from this module-level
    # name; ours run the server above.
    multiprocess.Process = WorkerProcess  # type: ignore[misc]
    sock = config.bind_socket()
    multiprocess.Multiprocess(config, sockets=[sock]).run()
