"""What every benchmark starts from, and how it runs the service and its peers.

- `demo_engine`: the bench database (the one `gisgrid serve` uses by default) with a demo county.
- `serve_gisgrid`: the service exactly as users start it: `gisgrid serve` as a subprocess with
  default settings; only GISGRID_DATABASE_URL (the bench database) and GISGRID_PORT (a free port)
  are set. Anything else a benchmark has to change is passed as `differs` and printed with the
  figures, so no figure silently comes from a set-up no user has.
- `serve_peer`: a peer (a bare FastAPI app, tipg) as a subprocess, its command line printed.
- `repeat`: a measurement run RUNS times, the machine's load printed before each, medians kept.
- `wrk`: HTTP load at a fixed concurrency (latency percentiles and requests/s).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import Connection, CursorResult, Engine, Row, text

from gisgrid.db import libpq_url, make_engine, migrate, resolve_database_url
from gisgrid.demo import county as demo
from gisgrid.serving import server_class
from gisgrid.settings import PROJECT_DIR, Settings

RUNS = 3
BIN = Path(sys.executable).parent  # the project's venv: `gisgrid`, `uvicorn`


def demo_engine(county: str, settings: Settings | None = None) -> Engine:
    """An engine on the migrated database, the demo county loaded first if it is not there."""
    settings = settings or Settings()
    url = resolve_database_url(settings, progress=lambda m: None)
    migrate(url)
    engine = make_engine(url)
    if not demo.is_loaded(engine, county):
        print(f"loading the demo county {county} first (about a minute)", flush=True)
        demo.unload_county(engine, county, progress=lambda m: None)
        demo.load_demo_county(engine, county, settings.cache_dir, seed=settings.demo_seed)
    return engine


def database_url(engine: Engine) -> str:
    """The engine's database as libpq spells it (what GISGRID_DATABASE_URL or tipg take)."""
    return libpq_url(engine.url.render_as_string(hide_password=False))


def load() -> str:
    """The machine's load average now, for printing beside a figure."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} cores"


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(settings: Settings | None = None) -> float | None:
    """CPU time used so far by the processes of the project's own PostgreSQL (backends, WAL
    writer, ...), or None when the bench database is not that cluster or it is not running."""
    settings = settings or Settings()
    pid_file = settings.state_dir / "pg" / "data" / "postmaster.pid"
    if settings.database_url or not pid_file.is_file():
        return None
    master = pid_file.read_text().split("\n", 1)[0].strip()
    total = 0.0
    for child in Path("/proc").glob("[0-9]*"):
        try:
            if (child / "stat").read_text().rsplit(")", 1)[1].split()[1] == master:
                total += cpu_seconds(int(child.name))
        except (OSError, IndexError):
            continue  # ended meanwhile
    return total


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_in_thread(app: Any, port: int) -> Iterator[str]:
    """An ASGI app served by uvicorn in a thread of this process on a loopback port, with
    proxy_headers off and shut down as `gisgrid serve` does (open event streams told "bye",
    requests in progress given 10 s); yields its base URL."""
    srv = server_class()(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            proxy_headers=False,
            timeout_graceful_shutdown=10,
        )
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 30 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@dataclass
class Server:
    """A server under test: where it answers and what differs from its users' set-up."""

    name: str
    base: str
    proc: subprocess.Popen[bytes]
    log: Path
    differs: dict[str, str] = field(default_factory=dict)


def _wait(server: Server, ready_path: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            break
        try:
            httpx.get(server.base + ready_path, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    tail = server.log.read_text(errors="replace")[-2000:] if server.log.exists() else ""
    server.proc.terminate()
    raise RuntimeError(f"{server.name} did not start at {server.base}:\n{tail}")


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 15) -> bool:
    """SIGTERM, then SIGKILL if it is still running after timeout_s; whether it stopped itself."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False


def _stop(server: Server) -> None:
    stop(server.proc)


def _read(
    db: Engine | Connection, statement: str, params: Mapping[str, object], take: Callable[..., Any]
) -> Any:
    if isinstance(db, Connection):
        return take(db.execute(text(statement), params))
    with db.connect() as conn:
        return take(conn.execute(text(statement), params))


def scalar(db: Engine | Connection, statement: str, **params: object) -> Any:
    """One value read from the database (None without a row): what a bench stands on, what a
    test checks the service stored."""
    return _read(db, statement, params, CursorResult.scalar)


def one(db: Engine | Connection, statement: str, **params: object) -> Row[Any]:
    """The one row a statement returns (an error unless there is exactly one)."""
    return _read(db, statement, params, CursorResult.one)


def rows(db: Engine | Connection, statement: str, **params: object) -> list[Row[Any]]:
    """Every row a statement returns."""
    return _read(db, statement, params, CursorResult.all)


def delete_key_reports(engine: Engine, key_name: str) -> int:
    """Delete a bench's API key and every report sent with it (then VACUUM); how many reports."""
    with engine.begin() as conn:
        kid = conn.execute(text("SELECT id FROM api_key WHERE name = :n"), {"n": key_name}).scalar()
        n = int(conn.execute(text("DELETE FROM report WHERE api_key_id = :k"), {"k": kid}).rowcount)
        conn.execute(text("DELETE FROM api_key WHERE id = :k"), {"k": kid})
    # Thousands of deleted rows leave dead index entries that slow the next run's lookups.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE report"))
    return n


@contextmanager
def serve_gisgrid(
    engine: Engine, differs: Mapping[str, tuple[str, str]] | None = None, workers: int = 1
) -> Iterator[Server]:
    """`gisgrid serve` as users run it, on the bench database and a free port.

    `differs` maps extra GISGRID_* variables to (value, why); each is printed. The server's
    output goes to a file, as a service's output goes to a journal (never to a pipe nobody reads).
    `workers` > 1 runs `gisgrid serve --workers N` and waits until every worker has started.
    """
    port = free_port()
    # Defaults, not whatever the shell running the bench happens to export.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GISGRID_")}
    env |= {"GISGRID_DATABASE_URL": database_url(engine), "GISGRID_PORT": str(port)}
    changed = {k: v for k, (v, _) in (differs or {}).items()}
    env |= changed
    log = Path(tempfile.mkstemp(prefix="gisgrid-serve-", suffix=".log")[1])
    with log.open("wb") as out:
        argv = [str(BIN / "gisgrid"), "serve"]
        argv += ["--workers", str(workers)] if workers > 1 else []
        proc = subprocess.Popen(argv, env=env, cwd=PROJECT_DIR, stdout=out, stderr=out)
    server = Server("gisgrid serve", f"http://127.0.0.1:{port}", proc, log, changed)
    shown = "gisgrid serve" + (f" --workers {workers}" if workers > 1 else "")
    print(f"  gisgrid: `{shown}` (GISGRID_DATABASE_URL=<bench db>, GISGRID_PORT={port})")
    for k, (v, why) in (differs or {}).items():
        print(f"  DIFFERS from a user's set-up: {k}={v} ({why})")
    if not differs:
        print("  nothing else differs from a user's set-up")
    try:
        _wait(server, "/openapi.json")
        deadline = time.monotonic() + 90
        # Each worker logs this once its lifespan (pools, listeners) has run.
        while log.read_text(errors="replace").count("Application startup complete") < workers:
            if time.monotonic() > deadline or proc.poll() is not None:
                _stop(server)
                raise RuntimeError(f"not every worker started:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield server
    finally:
        _stop(server)
        log.unlink(missing_ok=True)


@contextmanager
def serve_peer(
    name: str, argv: list[str], env: Mapping[str, str] | None = None, ready_path: str = "/"
) -> Iterator[Server]:
    """A peer server started by `argv` (with `{port}` filled in), printed as it is run."""
    port = free_port()
    argv = [a.replace("{port}", str(port)) for a in argv]
    log = Path(tempfile.mkstemp(prefix="peer-", suffix=".log")[1])
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, env={**os.environ, **(env or {})}, cwd=PROJECT_DIR, stdout=out, stderr=out
        )
    shown = " ".join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv))
    print(f"  peer {name}: `{shown}`")
    server = Server(name, f"http://127.0.0.1:{port}", proc, log)
    try:
        _wait(server, ready_path)
        yield server
    finally:
        _stop(server)
        log.unlink(missing_ok=True)


def repeat(
    label: str, measure: Callable[[], dict[str, float]], runs: int = RUNS
) -> dict[str, float]:
    """Run `measure` `runs` times, printing the load before each and every run's figures;
    the median of each figure."""
    results = []
    for i in range(runs):
        print(f"  run {i + 1}/{runs} of {label}: {load()}", flush=True)
        r = measure()
        print("    " + "  ".join(f"{k} {v:,.2f}" for k, v in r.items()), flush=True)
        results.append(r)
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def wrk(
    base: str,
    script: str,
    connections: int = 4,
    seconds: int = 10,
) -> dict[str, float]:
    """p50/p99 latency (ms), requests/s and non-2xx count of wrk running a Lua `script`."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed: apt-get install wrk (./run bench does it)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as f:
        f.write(script)
        f.flush()
        out = subprocess.run(
            ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s",
             "--latency", "-s", f.name, base],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert m, out
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    assert rps, out
    return {
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "req_s": float(rps.group(1)),
        "non2xx": float(bad.group(1)) if bad else 0.0,
        "sock_err": float(sum(int(g) for g in sock.groups())) if sock else 0.0,
    }


def wrk_paths(paths: list[str]) -> str:
    """A wrk Lua script cycling GET through `paths`."""
    quoted = ",".join(f'"{p}"' for p in paths)
    return (
        f"local paths = {{{quoted}}}\nlocal i = 0\n"
        "request = function()\n  i = i + 1\n"
        "  return wrk.format('GET', paths[(i % #paths) + 1])\nend\n"
    )


def fetch_once(base: str, paths: list[str], connections: int = 4) -> tuple[float, int]:
    """Requests/s fetching each path exactly once over `connections` keep-alive connections,
    and the body bytes. A minimal asyncio HTTP/1.1 client: a few tens of microseconds a
    request, so the server, not the client, sets the pace (wrk cannot stop after one pass)."""
    import asyncio
    from urllib.parse import urlsplit

    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80

    async def one_connection(mine: list[str]) -> int:
        reader, writer = await asyncio.open_connection(host, port)
        total = 0
        try:
            for path in mine:
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                if status != 200:
                    raise RuntimeError(f"{base}{path} answered {status}")
                fields = dict(
                    line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line
                )
                fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
                if b"content-length" in fields:
                    total += len(await reader.readexactly(int(fields[b"content-length"])))
                else:  # chunked
                    while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                        total += len(await reader.readexactly(size))
                        await reader.readexactly(2)
                    await reader.readuntil(b"\r\n")
        finally:
            writer.close()
        return total

    async def run() -> list[int]:
        return await asyncio.gather(
            *(one_connection(paths[i::connections]) for i in range(connections))
        )

    t0 = time.perf_counter()
    sizes = asyncio.run(run())
    return len(paths) / (time.perf_counter() - t0), sum(sizes)
