"""Tests for the project-managed PostGIS, against a real PostgreSQL 15 cluster (no mocks)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from gisgrid.errors import LocalDatabaseError
from gisgrid.localdb import PG_BIN_DIR, LocalPostgis, ensure_packages

pytestmark = pytest.mark.skipif(
    not (PG_BIN_DIR / "initdb").exists() and os.geteuid() != 0,
    reason="PostgreSQL 15 is not installed and we cannot apt-get install it without root",
)


def _libpq(url: str) -> str:
    """SQLAlchemy URL -> libpq URL for psycopg.connect."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll `predicate` until it is true, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """A 755 folder under /tmp; pytest's tmp dirs may be 700, closed to the postgres user."""
    root = Path(tempfile.mkdtemp(prefix="gisgrid-localdb-", dir="/tmp"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def db(scratch: Path) -> Iterator[LocalPostgis]:
    """One cluster shared by the module (initdb costs a second); always stopped at the end."""
    lines: list[str] = []
    local = LocalPostgis(scratch / "state", progress=lines.append)
    try:
        yield local
    finally:
        local.down()


def test_ensure_packages_returns_bin_dir() -> None:
    assert ensure_packages(lambda _line: None) == PG_BIN_DIR


def test_up_gives_postgis_and_pgrouting(db: LocalPostgis) -> None:
    url = db.up()
    assert url.startswith("postgresql+psycopg://gisgrid@127.0.0.1:")
    assert url.endswith("/gisgrid")
    with psycopg.connect(_libpq(url)) as conn:
        row = conn.execute("SELECT postgis_full_version()").fetchone()
        assert row is not None and "POSTGIS=" in row[0]
        exts = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
        assert {"postgis", "pgrouting"} <= exts
        assert conn.execute("SELECT pgr_version()").fetchone() is not None


def test_up_is_idempotent(db: LocalPostgis) -> None:
    url = db.up()
    pid = db.status()["pid"]
    assert db.up() == url
    assert db.status()["pid"] == pid


def test_status_reports_running(db: LocalPostgis) -> None:
    url = db.up()
    st = db.status()
    assert st["running"] is True
    assert isinstance(st["port"], int) and f":{st['port']}/" in url
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert st["url"] == url
    assert st["data_dir"] == str(db.state_dir / "pg" / "data")
    assert (db.state_dir / "pg" / "port").read_text().strip() == str(st["port"])


def test_ensure_database_creates_second_database(db: LocalPostgis) -> None:
    db.up()
    url = db.ensure_database("other")
    assert url == db.url("other") and url.endswith("/other")
    with psycopg.connect(_libpq(url)) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("other",)
        assert conn.execute("SELECT postgis_version()").fetchone() is not None
    # A second call finds the database and extensions already there.
    assert db.ensure_database("other") == url


def test_down_stops_and_up_restarts_on_same_port(db: LocalPostgis) -> None:
    url = db.up()
    db.down()
    st = db.status()
    assert st["running"] is False and st["pid"] is None and st["url"] is None
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(_libpq(url), connect_timeout=2)
    db.down()  # stopping a stopped server is fine
    assert db.up() == url  # saved port was free, so the URL is stable


def test_recovers_from_kill_9_and_reused_pid(db: LocalPostgis) -> None:
    db.up()
    pidfile = db.state_dir / "pg" / "data" / "postmaster.pid"
    old_pid = int(pidfile.read_text().splitlines()[0])
    os.kill(old_pid, signal.SIGKILL)
    _wait_until(lambda: not db.status()["running"])
    assert pidfile.exists()  # kill -9 leaves the pid file behind
    # Simulate pid reuse after a reboot: the pid file now names a live, non-postgres process.
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        lines = pidfile.read_text().splitlines()
        lines[0] = str(bystander.pid)
        pidfile.write_text("\n".join(lines) + "\n")
        assert db.status()["running"] is False
        url = db.up()
        new_pid = db.status()["pid"]
        assert new_pid not in (old_pid, bystander.pid)
        assert bystander.poll() is None  # recovery must not touch unrelated processes
        with psycopg.connect(_libpq(url)) as conn:
            assert conn.execute("SELECT postgis_lib_version()").fetchone() is not None
    finally:
        bystander.kill()
        bystander.wait()


def test_start_failure_reports_server_log(db: LocalPostgis) -> None:
    db.up()
    db.down()
    auto_conf = db.state_dir / "pg" / "data" / "postgresql.auto.conf"
    original = auto_conf.read_text()
    auto_conf.write_text(original + "shared_buffers = 'lots'\n")
    try:
        with pytest.raises(LocalDatabaseError) as info:
            db.up()
        message = str(info.value)
        assert "failed to start" in message
        assert "shared_buffers" in message  # the log tail names the bad setting
    finally:
        auto_conf.write_text(original)
    assert db.up().endswith("/gisgrid")


def test_requires_up_before_use(scratch: Path) -> None:
    fresh = LocalPostgis(scratch / "never-started", progress=lambda _line: None)
    assert fresh.status()["running"] is False
    with pytest.raises(LocalDatabaseError, match="up\\(\\)"):
        fresh.ensure_database("x")
    with pytest.raises(LocalDatabaseError, match="up\\(\\)"):
        fresh.url()
    fresh.down()  # nothing to stop


@pytest.mark.skipif(os.geteuid() != 0, reason="the postgres-user traversal check applies to root")
def test_untraversable_parent_is_reported(scratch: Path) -> None:
    private = scratch / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    fresh = LocalPostgis(private / "state", progress=lambda _line: None)
    with pytest.raises(LocalDatabaseError, match="cannot enter .*private"):
        fresh.up()
