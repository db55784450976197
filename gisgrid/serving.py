"""uvicorn as `gisgrid serve` runs it: one process, or N worker processes on one socket.

Imported by the CLI only (it pulls in uvicorn). The classes are at module level because uvicorn's
supervisor pickles each worker process to start it (spawn), and a pickled class must be
importable by name.
"""

from __future__ import annotations

from socket import socket

import uvicorn
from uvicorn.supervisors import multiprocess

from gisgrid.reports.events import end_streams


class Server(uvicorn.Server):
    """uvicorn's server, telling open event streams "bye" as a shutdown begins."""

    # Open event streams (phones, walls) would hold a shutdown until its deadline: they are told
    # "bye" as it begins, so only requests in progress use the graceful-shutdown time.
    async def shutdown(self, sockets: list[socket] | None = None) -> None:
        """Say bye to open streams, then shut down as uvicorn does."""
        end_streams()
        await super().shutdown(sockets)


class WorkerProcess(multiprocess.Process):
    """uvicorn's worker process running `Server` (uvicorn's own would run its plain server)."""

    @property
    def server(self) -> uvicorn.Server:
        """This worker's server, made in the worker process on first use."""
        if self._server is None:
            self._server = Server(config=self.config)
        return self._server


def run(config: uvicorn.Config) -> None:
    """Serve `config`: in this process, or `config.workers` processes sharing one socket.

    What the workers must agree on lives in PostgreSQL: rate limits (`rate_hit`), token
    revocations and the current grid generation (LISTEN/NOTIFY); see docs/scale.md.
    """
    if config.workers <= 1:
        Server(config).run()
        return
    # The supervisor builds (and rebuilds, when one dies) its workers from this module-level
    # name; ours run `Server` above.
    multiprocess.Process = WorkerProcess  # type: ignore[misc]
    sock = config.bind_socket()
    multiprocess.Multiprocess(config, sockets=[sock]).run()
