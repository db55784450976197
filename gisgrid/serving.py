"""uvicorn as `gisgrid serve` runs it: one process, or N worker processes on one socket.

Imported by the CLI only (it pulls in uvicorn). `WorkerProcess` is at module level because
uvicorn's supervisor pickles each worker process to start it (spawn), and a pickled class must be
importable by name.
"""

from __future__ import annotations

from socket import socket
from typing import Any

import uvicorn
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


class WorkerProcess(multiprocess.Process):
    """uvicorn's worker process running `server_class()` (uvicorn's own runs its plain server)."""

    @property
    def server(self) -> uvicorn.Server:
        """This worker's server, made in the worker process on first use."""
        if self._server is None:
            self._server = server_class()(config=self.config)
        return self._server


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
