"""Where bulk tasks run: in this process, on a local Dask cluster, or on an existing one.

The engine is Dask's (`dask.distributed`): a `LocalCluster` of N single-threaded worker
processes for `--workers N`, or a `Client` of a running scheduler for `--cluster
tcp://HOST:PORT` (workers on other machines need gisgrid installed and the database URL
reachable). Tasks are plain functions of picklable arguments that read their partition, compute
it with the single-process code and write their rows themselves, so nothing but small summaries
travels through the scheduler. Without either option the same tasks run here, one by one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Engine, create_engine

from gisgrid.errors import InvalidReport


class Runner(Protocol):
    """Maps a task over partitions; `describe` names it for the job row."""

    def map(
        self, fn: Callable[[Any], dict[str, Any]], items: Iterable[Any]
    ) -> Iterator[dict[str, Any]]:
        """Each task's result, in completion order."""
        ...

    def describe(self) -> str:
        """What runs the tasks: 'local' or 'dask <address> (<n> workers)'."""
        ...


class LocalRunner:
    """The tasks, one after another, in this process."""

    def map(
        self, fn: Callable[[Any], dict[str, Any]], items: Iterable[Any]
    ) -> Iterator[dict[str, Any]]:
        """Each task's result, in order."""
        return (fn(item) for item in items)

    def describe(self) -> str:
        """'local'."""
        return "local"


class DaskRunner:
    """The tasks on a dask.distributed cluster, results as they complete."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def map(
        self, fn: Callable[[Any], dict[str, Any]], items: Iterable[Any]
    ) -> Iterator[dict[str, Any]]:
        """Each task's result as it completes (a failed task raises its error here)."""
        from dask.distributed import as_completed

        futures = self.client.map(fn, list(items), pure=False)
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for f in futures:
                f.cancel()

    def describe(self) -> str:
        """'dask <scheduler address> (<n> workers)'."""
        workers = len(self.client.scheduler_info(n_workers=-1)["workers"])
        return f"dask {self.client.scheduler.address} ({workers} workers)"[:100]


@contextlib.contextmanager
def open_runner(workers: int | None = None, cluster: str | None = None) -> Iterator[Runner]:
    """A runner: `cluster` (an existing scheduler), else a LocalCluster of `workers` processes
    (one thread each: the numpy/GEOS work holds the GIL often enough), else this process."""
    if workers is not None and cluster:
        raise InvalidReport("give --workers N (a local cluster) or --cluster ADDRESS, not both")
    if cluster:
        from dask.distributed import Client

        with Client(cluster, timeout=30) as client:
            yield DaskRunner(client)
        return
    if workers is None:
        yield LocalRunner()
        return
    if not 1 <= workers <= 256:
        raise InvalidReport(f"workers={workers}; give 1 to 256 worker processes")
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # Each worker's numpy/BLAS stays on its own core.
            env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
        ) as local,
        Client(local) as client,
    ):
        yield DaskRunner(client)


@cache
def worker_engine(url: str) -> Engine:
    """One small engine per process and database (a worker keeps it between tasks)."""
    from gisgrid.db import normalise_url

    return create_engine(normalise_url(url), pool_size=2, max_overflow=2, pool_pre_ping=True)


def process_id() -> str:
    """This process (for a task's summary: which worker did it)."""
    return f"{os.uname().nodename}:{os.getpid()}"


class Bound:
    """A task function with its fixed arguments, picklable for the workers (a lambda is not)."""

    def __init__(self, fn: Callable[[Any, Any], dict[str, Any]], task: Any) -> None:
        self.fn = fn
        self.task = task

    def __call__(self, item: Any) -> dict[str, Any]:
        """Run the task on one partition."""
        return self.fn(item, self.task)
