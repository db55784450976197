"""The `gisgrid` command end to end: demo on an external database URL, db status, errors."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import httpx

from bench.common import free_port

GISGRID = [sys.executable, "-m", "gisgrid.cli"]


def test_demo_serves_an_already_loaded_county(database_url: str, demo_county: str) -> None:
    port = free_port()
    env = {**os.environ, "GISGRID_DATABASE_URL": database_url}
    proc = subprocess.Popen(
        [*GISGRID, "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        # Read what it says up to "serving on": the demo key and the demo sign-in come first.
        for line in proc.stdout:
            seen.append(line)
            if "serving on" in line:
                break
        said = "".join(seen)
        login = re.search(r"sign in at \S+ as (\S+) / (\S+) ", said)
        assert login, said
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, said
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "gisgrid demo did not serve within 60 s"
            time.sleep(0.2)
        county = httpx.get(f"http://127.0.0.1:{port}/api/v1/units/441226").json()
        assert county["name"] == "德庆县"
        # The printed demo sign-in opens the center map.
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as browser:
            r = browser.post("/login", data={"username": login[1], "password": login[2]})
            assert r.status_code == 303, r.text
            assert browser.get("/maps/center", params={"unit": "441226"}).status_code == 200
            # An open push stream does not hold the shutdown: it is told "bye" as it begins, so
            # the server stops well within the 10 s it gives requests in progress.
            with browser.stream("GET", "/api/v1/events", timeout=30) as stream:
                chunks = stream.iter_text()  # kept: a dropped iterator closes the stream
                assert "event: hello" in next(chunks)
                proc.send_signal(signal.SIGINT)
                rest = "".join(chunks)
            assert "event: bye" in rest
            out, _ = proc.communicate(timeout=8)  # stopped, not still waiting on the stream
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=20)
    assert "already loaded" in said + out


def test_db_status_is_json(database_url: str) -> None:
    out = subprocess.run([*GISGRID, "db", "status"], capture_output=True, text=True, check=True)
    status = json.loads(out.stdout)
    assert set(status) == {"running", "port", "pid", "data_dir", "url"}
    if not os.environ.get("GISGRID_TEST_DATABASE_URL"):
        assert status["running"] is True and isinstance(status["port"], int)


def test_unknown_demo_county_is_refused_clearly(database_url: str) -> None:
    env = {**os.environ, "GISGRID_DATABASE_URL": database_url}
    out = subprocess.run(
        [*GISGRID, "demo", "--county", "110101", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "110101" in out.stderr and "441226" in out.stderr


def test_a_database_that_cannot_be_used_is_one_line_saying_what_to_do(database_url: str) -> None:
    missing = database_url.rsplit("/", 1)[0] + "/gisgrid_no_such_database"
    for url, says in (
        (missing, 'database "gisgrid_no_such_database" does not exist'),
        ("postgresql+psycopg://nobody@127.0.0.1:1/gisgrid", "port 1 failed"),
        ("not a url", "not usable"),
    ):
        out = subprocess.run(
            [*GISGRID, "plan", "list"],
            env={**os.environ, "GISGRID_DATABASE_URL": url},
            capture_output=True,
            text=True,
        )
        assert out.returncode == 2, (url, out.stderr)
        assert "Traceback" not in out.stderr, out.stderr
        lines = [line for line in out.stderr.splitlines() if line.startswith("gisgrid: error:")]
        assert len(lines) == 1 and says in lines[0], out.stderr
        assert "GISGRID_DATABASE_URL" in lines[0]
