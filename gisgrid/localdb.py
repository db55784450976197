"""The PostGIS the project manages itself: a PostgreSQL 15 cluster under the state folder."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import errors as pg_errors

from gisgrid import sql
from gisgrid.errors import LocalDatabaseError

PG_VERSION = "15"
PG_BIN_DIR = Path(f"/usr/lib/postgresql/{PG_VERSION}/bin")
PG_EXTENSION_DIR = Path(f"/usr/share/postgresql/{PG_VERSION}/extension")
APT_PACKAGES = (
    f"postgresql-{PG_VERSION}",
    f"postgresql-{PG_VERSION}-postgis-3",
    f"postgresql-{PG_VERSION}-pgrouting",
)
APT_INSTALL_COMMAND = "sudo apt-get install -y " + " ".join(APT_PACKAGES)

DB_USER = "gisgrid"
DEFAULT_DATABASE = "gisgrid"
HOST = "127.0.0.1"
OS_USER = "postgres"  # created by the postgresql-common package
EXTENSIONS = ("postgis", "pgrouting")  # order matters: pgrouting requires postgis

# Tuned for a developer box (2 cores, 24 GiB). Durability stays on (fsync) because this is
# the main database; synchronous_commit=off only risks the last few commits on a crash.
SERVER_SETTINGS: dict[str, str] = {
    "listen_addresses": HOST,
    "max_connections": "100",
    "shared_buffers": "512MB",
    "work_mem": "32MB",
    "maintenance_work_mem": "512MB",
    "effective_cache_size": "8GB",
    "synchronous_commit": "off",
    "max_wal_size": "2GB",
    "max_worker_processes": "4",
    "max_parallel_workers": "2",
    "max_parallel_workers_per_gather": "1",
}

START_TIMEOUT_S = 60
ORPHAN_WAIT_S = 10.0
# sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107

_apt_updated = False


def ensure_packages(progress: Callable[[str], None] = print) -> Path:
    """Install PostgreSQL 15, PostGIS and pgRouting if missing; return the PostgreSQL bin dir."""
    global _apt_updated
    missing = _missing_files()
    if not missing:
        return PG_BIN_DIR
    if os.geteuid() != 0:
        raise LocalDatabaseError(
            f"PostgreSQL {PG_VERSION} with PostGIS and pgRouting is not installed "
            f"(missing {', '.join(str(p) for p in missing)}). Install it with "
            f"'{APT_INSTALL_COMMAND}', or set GISGRID_DATABASE_URL to an external PostGIS "
            "database (postgresql+psycopg://user:password@host:port/dbname)."
        )
    progress(f"installing {' '.join(APT_PACKAGES)} ... (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        _run_apt(["apt-get", "update"], env)
        _apt_updated = True
    _run_apt(["apt-get", "install", "-y", *APT_PACKAGES], env)
    missing = _missing_files()
    if missing:
        raise LocalDatabaseError(
            f"apt-get install finished but {', '.join(str(p) for p in missing)} is still "
            f"missing; check the apt sources, or set GISGRID_DATABASE_URL to an external PostGIS."
        )
    progress(f"installed PostgreSQL {PG_VERSION} with PostGIS and pgRouting")
    return PG_BIN_DIR


def _missing_files() -> list[Path]:
    """Files that must exist for initdb, PostGIS and pgRouting to work."""
    needed = [
        PG_BIN_DIR / "initdb",
        PG_BIN_DIR / "pg_ctl",
        PG_EXTENSION_DIR / "postgis.control",
        PG_EXTENSION_DIR / "pgrouting.control",
    ]
    return [p for p in needed if not p.exists()]


def _run_apt(cmd: list[str], env: dict[str, str]) -> None:
    """Run one apt-get command, turning failure into LocalDatabaseError with its output tail."""
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise LocalDatabaseError(
            f"apt-get is not available ({exc}); install {' '.join(APT_PACKAGES)} by other means "
            "or set GISGRID_DATABASE_URL to an external PostGIS."
        ) from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise LocalDatabaseError(
            f"'{' '.join(cmd)}' failed with exit code {proc.returncode}:\n{tail}"
        )


class LocalPostgis:
    """A PostgreSQL + PostGIS cluster under a project folder, on a free loopback port."""

    def __init__(self, state_dir: Path, progress: Callable[[str], None] = print) -> None:
        """Remember where the cluster lives; nothing is touched until up()."""
        self.state_dir = Path(state_dir).absolute()
        self.progress = progress
        self.pg_dir = self.state_dir / "pg"
        self.data_dir = self.pg_dir / "data"
        self.run_dir = self.pg_dir / "run"
        self.log_file = self.pg_dir / "server.log"
        self.port_file = self.pg_dir / "port"
        self.lock_file = self.pg_dir / "lock"
        self._as_root = os.geteuid() == 0

    # ----------------------------------------------------------------- public API

    def up(self) -> str:
        """Install, initialise and start the cluster as needed; return the gisgrid database URL."""
        bin_dir = ensure_packages(self.progress)
        self._prepare_dirs()
        with self._locked():
            if not self._initialised():
                self._initdb(bin_dir)
            pid = self._running_pid()
            if pid is None:
                self._start(bin_dir)
        return self.ensure_database(DEFAULT_DATABASE)

    def down(self, mode: str = "fast") -> None:
        """Stop the server if it is running; do nothing otherwise.

        `mode` is pg_ctl's: fast (roll back sessions, checkpoint) or immediate (as a crash would:
        no checkpoint, recovery from the WAL at the next start; the fault tests use it).
        """
        if mode not in ("smart", "fast", "immediate"):
            raise LocalDatabaseError(f"stop mode {mode!r}: use smart, fast or immediate")
        if not self.pg_dir.is_dir():
            return
        with self._locked():
            pid = self._running_pid()
            if pid is None:
                return
            self.progress(f"stopping PostgreSQL (pid {pid})")
            proc = self._run_pg(
                [
                    str(PG_BIN_DIR / "pg_ctl"),
                    "stop",
                    "-D",
                    str(self.data_dir),
                    "-m",
                    mode,
                    "-w",
                    "-t",
                    str(START_TIMEOUT_S),
                ],
            )
            if proc.returncode != 0 and self._running_pid() is not None:
                raise LocalDatabaseError(
                    f"pg_ctl stop failed for {self.data_dir}:\n{proc.stdout}{proc.stderr}"
                )

    def status(self) -> dict[str, object]:
        """Report whether the server runs, on which port and pid, and its URL."""
        pid = self._running_pid()
        port = self._pidfile_port() if pid is not None else None
        return {
            "running": pid is not None,
            "port": port,
            "pid": pid,
            "data_dir": str(self.data_dir),
            "url": self.url() if pid is not None else None,
        }

    def ensure_database(self, name: str) -> str:
        """Create database `name` with postgis and pgrouting if missing; return its URL."""
        port = self._require_running_port()
        with self._connect(port, "postgres") as conn:
            exists = conn.execute(sql.load("db/database_exists"), (name,)).fetchone()
            if exists is None:
                self.progress(f"creating database {name}")
                # Another process may create it between the check and here; that is fine.
                with contextlib.suppress(pg_errors.DuplicateDatabase):
                    conn.execute(sql.composed("db/create_database", database=name))
        with self._connect(port, name) as conn:
            for ext in EXTENSIONS:
                # Concurrent CREATE EXTENSION IF NOT EXISTS can still collide on the catalog.
                with contextlib.suppress(pg_errors.UniqueViolation, pg_errors.DuplicateObject):
                    conn.execute(sql.composed("db/create_extension", extension=ext))
        url = self.url(name)
        self.progress(f"database {name} ready: {url}")
        return url

    def url(self, database: str = DEFAULT_DATABASE) -> str:
        """SQLAlchemy URL of `database` on this cluster (running port, else the saved one)."""
        port = self._pidfile_port() if self._running_pid() is not None else None
        if port is None:
            port = self._saved_port()
        if port is None:
            raise LocalDatabaseError(
                f"the local PostGIS under {self.pg_dir} has no port yet; run up() first"
            )
        return f"postgresql+psycopg://{DB_USER}@{HOST}:{port}/{quote(database, safe='')}"

    # ------------------------------------------------------------ setup helpers

    def _prepare_dirs(self) -> None:
        """Create the pg folders and, as root, hand them to the postgres OS user."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.pg_dir.mkdir(exist_ok=True)
        self.run_dir.mkdir(exist_ok=True)
        if not self._as_root:
            return
        try:
            pw = pwd.getpwnam(OS_USER)
        except KeyError as exc:
            raise LocalDatabaseError(
                f"OS user '{OS_USER}' does not exist although PostgreSQL is installed; "
                f"reinstall with '{APT_INSTALL_COMMAND}'"
            ) from exc
        self._check_traversable(pw)
        # PostgreSQL refuses to run as root, so the cluster belongs to the postgres user.
        paths = [self.pg_dir, *self.pg_dir.iterdir()]
        # Walk the data dir only if it came from elsewhere (e.g. restored by root): a running
        # server creates and deletes files there all the time, and owns them already.
        if self.data_dir.is_dir() and self.data_dir.stat().st_uid != pw.pw_uid:
            paths += self.data_dir.rglob("*")
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                st = path.lstat()
                if st.st_uid != pw.pw_uid or st.st_gid != pw.pw_gid:
                    os.lchown(path, pw.pw_uid, pw.pw_gid)

    def _check_traversable(self, pw: pwd.struct_passwd) -> None:
        """Fail clearly if the postgres user cannot reach the pg folder through its parents."""
        groups = {pw.pw_gid, *(g for g in os.getgrouplist(pw.pw_name, pw.pw_gid))}
        for parent in [self.state_dir, *self.state_dir.parents]:
            st = parent.stat()
            if st.st_uid == pw.pw_uid:
                ok = bool(st.st_mode & stat.S_IXUSR)
            elif st.st_gid in groups:
                ok = bool(st.st_mode & stat.S_IXGRP)
            else:
                ok = bool(st.st_mode & stat.S_IXOTH)
            if not ok:
                raise LocalDatabaseError(
                    f"the '{OS_USER}' OS user cannot enter {parent} (mode "
                    f"{stat.filemode(st.st_mode)}), so PostgreSQL cannot use {self.pg_dir}; "
                    f"run 'chmod o+x {parent}' or set GISGRID_STATE_DIR to a folder it can reach"
                )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise up()/down() between processes sharing this state folder."""
        with open(self.lock_file, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _initialised(self) -> bool:
        """True once initdb has fully succeeded (data/ only appears after it did)."""
        return (self.data_dir / "PG_VERSION").is_file()

    def _initdb(self, bin_dir: Path) -> None:
        """Create the cluster in a scratch folder and rename it, so a crash never leaves half."""
        self.progress(f"initialising cluster in {self.data_dir}")
        scratch = self.pg_dir / "data.initdb"
        last_output = ""
        for locale in ("C.UTF-8", "C"):
            shutil.rmtree(scratch, ignore_errors=True)
            proc = self._run_pg(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(scratch),
                    "-U",
                    DB_USER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    f"--locale={locale}",
                ],
            )
            if proc.returncode == 0:
                scratch.rename(self.data_dir)
                return
            last_output = proc.stdout + proc.stderr
        shutil.rmtree(scratch, ignore_errors=True)
        tail = "\n".join(last_output.splitlines()[-20:])
        raise LocalDatabaseError(f"initdb failed for {self.data_dir}:\n{tail}")

    # --------------------------------------------------------------- start/stop

    def _start(self, bin_dir: Path) -> None:
        """Start the server, retrying once on a fresh port if another process took ours."""
        self._clear_stale_pidfile()
        port = self._choose_port()
        for attempt in range(2):
            self.port_file.write_text(f"{port}\n")
            self.progress(f"starting PostgreSQL on {HOST}:{port}")
            log_size = self.log_file.stat().st_size if self.log_file.exists() else 0
            proc = self._run_pg(
                [
                    str(bin_dir / "pg_ctl"),
                    "start",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    str(START_TIMEOUT_S),
                    "-o",
                    self._server_options(port),
                ],
                # A new session keeps Ctrl-C in the calling terminal from stopping the server.
                new_session=True,
            )
            if proc.returncode == 0 and self._running_pid() is not None:
                return
            new_log = self._read_log_from(log_size)
            if attempt == 0 and "Address already in use" in new_log:
                port = _free_port()
                continue
            tail = "\n".join(self._read_log_from(0).splitlines()[-20:])
            raise LocalDatabaseError(
                f"PostgreSQL failed to start from {self.data_dir} on port {port} "
                f"({(proc.stdout + proc.stderr).strip()}). Last lines of {self.log_file}:\n{tail}"
            )

    def _server_options(self, port: int) -> str:
        """The -o string for pg_ctl; pg_ctl hands it to a shell, so every value is quoted."""
        socket_dir = str(self.run_dir)
        # Unix socket paths are limited to 107 bytes; we connect over TCP, so skip the socket.
        if len(socket_dir) + len(f"/.s.PGSQL.{port}") > MAX_SOCKET_PATH:
            socket_dir = ""
        parts = ["-p", str(port), "-k", socket_dir]
        for key, value in SERVER_SETTINGS.items():
            parts += ["-c", f"{key}={value}"]
        return " ".join(shlex.quote(p) for p in parts)

    def _choose_port(self) -> int:
        """Reuse the saved port if it is free, so URLs stay stable across restarts."""
        saved = self._saved_port()
        if saved is not None and _port_is_free(saved):
            return saved
        return _free_port()

    def _clear_stale_pidfile(self) -> None:
        """Remove postmaster.pid and socket locks left by a server that no longer runs."""
        pidfile = self.data_dir / "postmaster.pid"
        if not pidfile.exists():
            return
        self.progress(f"removing stale {pidfile}")
        self._wait_for_orphans()
        pidfile.unlink(missing_ok=True)
        # Socket lock files carry the old pid too and would block a restart just the same.
        for lock in self.run_dir.glob(".s.PGSQL.*"):
            lock.unlink(missing_ok=True)

    def _wait_for_orphans(self) -> None:
        """Wait for backends of a killed postmaster to exit, killing stragglers.

        They would still hold the old shared memory, and a new postmaster started next to
        them (with the pid file gone) could corrupt data.
        """
        deadline = time.monotonic() + ORPHAN_WAIT_S
        while True:
            pids = _pids_with_cwd(self.data_dir)
            if not pids:
                return
            if time.monotonic() > deadline:
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.2)
                return
            time.sleep(0.1)

    # ---------------------------------------------------------------- state

    def _pidfile_lines(self) -> list[str]:
        """Lines of postmaster.pid, or [] if there is none."""
        try:
            return (self.data_dir / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return []

    def _running_pid(self) -> int | None:
        """Pid of a live postmaster serving our data dir, else None (pid file missing/stale)."""
        lines = self._pidfile_lines()
        if not lines:
            return None
        try:
            pid = int(lines[0].strip())
        except ValueError:
            return None
        # The pid may have been reused after a reboot or kill -9, even by another cluster's
        # postgres; the postmaster's working directory is its data dir, so compare that.
        if pid <= 0 or not _process_cwd_is(pid, self.data_dir):
            return None
        return pid

    def _pidfile_port(self) -> int | None:
        """Port recorded by the running postmaster (line 4 of postmaster.pid)."""
        lines = self._pidfile_lines()
        try:
            return int(lines[3].strip())
        except (IndexError, ValueError):
            return None

    def _saved_port(self) -> int | None:
        """Port from the last start, if any."""
        try:
            return int(self.port_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _require_running_port(self) -> int:
        """The live port, or LocalDatabaseError telling the caller to start the server."""
        port = self._pidfile_port() if self._running_pid() is not None else None
        if port is None:
            raise LocalDatabaseError(
                f"the local PostGIS under {self.pg_dir} is not running; call up() first"
            )
        return port

    def _read_log_from(self, offset: int) -> str:
        """Server log text from byte `offset` on ('' if there is no log)."""
        try:
            with open(self.log_file, "rb") as fh:
                fh.seek(offset)
                return fh.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    # --------------------------------------------------------------- processes

    def _connect(self, port: int, dbname: str) -> psycopg.Connection[tuple[object, ...]]:
        """Autocommit connection as the gisgrid superuser over loopback TCP."""
        try:
            return psycopg.connect(
                host=HOST,
                port=port,
                user=DB_USER,
                dbname=dbname,
                autocommit=True,
                connect_timeout=10,
            )
        except psycopg.OperationalError as exc:
            raise LocalDatabaseError(
                f"cannot connect to the local PostGIS at {HOST}:{port}/{dbname}: {exc}"
            ) from exc

    def _run_pg(
        self, cmd: Sequence[str], new_session: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL binary as postgres when we are root, else as ourselves."""
        argv = list(cmd)
        if self._as_root:
            argv = ["runuser", "-u", OS_USER, "--", *argv]
        # cwd inside pg_dir avoids "could not change directory to /root" warnings.
        return subprocess.run(
            argv,
            cwd=self.pg_dir,
            capture_output=True,
            text=True,
            check=False,
            start_new_session=new_session,
            stdin=subprocess.DEVNULL,
        )


def _process_cwd_is(pid: int, directory: Path) -> bool:
    """True if process `pid` is alive (not a zombie) and works in `directory`."""
    try:
        return os.path.samefile(os.readlink(f"/proc/{pid}/cwd"), directory)
    except OSError:
        # Gone, a zombie, or another user's process we cannot inspect: not our server.
        return False


def _pids_with_cwd(directory: Path) -> list[int]:
    """Pids of live processes whose working directory is `directory`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _process_cwd_is(int(entry.name), directory):
            pids.append(int(entry.name))
    return pids


def _port_is_free(port: int) -> bool:
    """True if nothing listens on 127.0.0.1:port right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Match PostgreSQL, which sets SO_REUSEADDR, so TIME_WAIT leftovers do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    """A loopback port the kernel considers free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])
