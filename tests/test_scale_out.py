"""Many workers, one truth (issue 19): `gisgrid serve --workers 2`, real uvicorn processes.

Each test pins one keep-alive HTTP connection to each worker (a connection stays with the
process that accepted it; `/healthz` names the process), then alternates requests between them.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine, text

from bench.common import free_port, stop
from gisgrid import sql
from gisgrid.access import accounts
from tests.browser import until

ROOT = Path(__file__).resolve().parents[1]
LOGIN_LIMIT = 6


class Pinned:
    """A keep-alive connection to one worker; every request is checked to stay on it."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.pid = self.worker()["pid"]

    def request(
        self, method: str, path: str, body: dict[str, str] | None = None, token: str = ""
    ) -> tuple[int, dict[str, Any]]:
        """One request on this connection: (status, JSON body); fails if it reconnected."""
        sock = self.conn.sock
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        payload = r.read()
        assert sock is None or self.conn.sock is sock, "the connection was reopened"
        return r.status, json.loads(payload or b"{}")

    def worker(self) -> dict[str, Any]:
        """This connection's worker, as its /healthz tells."""
        status, body = self.request("GET", "/healthz")
        assert status == 200, body
        return dict(body["worker"])


@pytest.fixture
def two_workers(own_database_url: str, demo_county: str, tmp_path_factory: Any) -> Iterator[int]:
    """`gisgrid serve --workers 2` on a free port, a small sign-in limit; yields the port."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {
        **os.environ,
        "GISGRID_DATABASE_URL": own_database_url,
        "GISGRID_RATE_LIMIT_LOGIN": str(LOGIN_LIMIT),
        "GISGRID_RATE_LIMIT_NAMESPACE": f"w{uuid.uuid4().hex[:8]}:",
        "GISGRID_ACCESS_LOG": "false",
    }
    cmd = [sys.executable, "-m", "gisgrid.cli", "serve", "--workers", "2", "--port", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:

        def up() -> bool:
            assert proc.poll() is None, log.read_text()
            # Each worker says so once its lifespan (pools, listeners) has run.
            return log.read_text().count("Application startup complete") == 2

        until(up, "both workers of gisgrid serve --workers 2 started", timeout=60)
        yield port
    finally:
        stop(proc, timeout_s=30)


def _one_per_worker(port: int) -> tuple[Pinned, Pinned]:
    """Two connections held by two different worker processes."""
    first = Pinned(port)
    for _ in range(500):
        other = Pinned(port)
        if other.pid != first.pid:
            return first, other
        other.conn.close()
    raise AssertionError("500 new connections all went to one worker")


def test_each_worker_answers_health_for_itself(two_workers: int) -> None:
    a, b = _one_per_worker(two_workers)
    for w in (a.worker(), b.worker()):
        assert w["hears_generations"] is True and w["hears_token_revocations"] is True, w
        assert w["current_generation"] is not None, w
    assert a.worker()["current_generation"] == b.worker()["current_generation"]
    for c in (a, b):
        status, body = c.request("GET", "/readyz")
        assert status == 200 and body == {"ready": True}


def test_two_workers_refuse_at_the_count_of_one(two_workers: int) -> None:
    a, b = _one_per_worker(two_workers)
    codes = []
    for i in range(LOGIN_LIMIT + 2):
        # A different unknown name each time: the per-username backoff never comes into it.
        status, body = (a, b)[i % 2].request(
            "POST",
            "/api/v1/auth/token",
            {"username": f"nobody-{uuid.uuid4().hex[:8]}", "password": "wrong-password"},
        )
        codes.append(status)
        if status == 429:
            assert f"at most {LOGIN_LIMIT} a minute" in body["detail"], body
    # Each worker saw LOGIN_LIMIT / 2 requests: limits of its own would have let all through.
    assert codes == [401] * LOGIN_LIMIT + [429, 429], codes


def test_sign_out_on_one_worker_is_seen_by_the_other(two_workers: int, own_engine: Engine) -> None:
    a, b = _one_per_worker(two_workers)
    name = f"scale-{uuid.uuid4().hex[:8]}"
    with own_engine.begin() as conn:
        accounts.create_account(conn, name, "scale-password-1", "town_operator", "441226")
        token, _ = accounts.issue_token(conn, name, "scale-password-1")
    # The other worker has it cached now (a long-lived answer would survive a revocation).
    for _ in range(2):
        status, me = b.request("GET", "/api/v1/auth/me", token=token)
        assert status == 200 and me["username"] == name, me
    heard = b.worker()["token_notices"]
    status, body = a.request("POST", "/api/v1/auth/revoke", token=token)
    assert status == 200 and body["revoked"] == 1, body
    until(
        lambda: b.worker()["token_notices"] > heard,
        "the other worker hearing the revocation",
        timeout=60,
    )
    status, body = b.request("GET", "/api/v1/auth/me", token=token)
    assert status == 401, body


def test_rate_limit_function_counts_keys_in_order(own_engine: Engine) -> None:
    """The shared window itself: the first full key refuses and the keys after it wait."""
    client = f"c{uuid.uuid4().hex[:8]}"
    keys = {"buckets": ["t-first", "t-second"], "clients": [client, client], "limits": [3, 2]}
    with own_engine.begin() as conn:
        got = [tuple(sql.first(conn, "access/rate_hit", **keys).values()) for _ in range(4)]
        # Two counted everywhere; the third counted under the first key, refused by the second;
        # the fourth refused by the first (full now), so the second is not asked.
        assert got[:2] == [(0, 0), (0, 0)]
        assert got[2][0] == 2 and 1 <= got[2][1] <= 60
        assert got[3][0] == 1 and 1 <= got[3][1] <= 60


def test_a_new_report_is_on_the_other_workers_tile_at_once(
    two_workers: int, own_engine: Engine
) -> None:
    """Report and household tiles are never cached by a worker: built per request, they show
    a report filed through another worker in the very next tile (grid tiles are keyed by the
    generation, which every worker hears by NOTIFY)."""
    import mapbox_vector_tile

    from gisgrid.mapdata.tiles import lonlat_to_tile
    from gisgrid.reports import api_keys

    a, b = _one_per_worker(two_workers)
    name = f"scale-{uuid.uuid4().hex[:8]}"
    with own_engine.begin() as conn:
        accounts.create_account(conn, name, "scale-password-1", "county_operator", "441226")
        token, _ = accounts.issue_token(conn, name, "scale-password-1")
        key = api_keys.create_key(conn, name)
        lon, lat = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM household ORDER BY id LIMIT 1")
        ).one()
    z = 16
    x, y = lonlat_to_tile(lon, lat, z)

    def report_ids() -> set[int]:
        b.conn.request(
            "GET", f"/tiles/reports/{z}/{x}/{y}.mvt", headers={"Authorization": f"Bearer {token}"}
        )
        r = b.conn.getresponse()
        data = r.read()
        assert r.status == 200, data
        layer = mapbox_vector_tile.decode(data).get("reports", {"features": []})
        return {int(f["properties"]["id"]) for f in layer["features"]}

    before = report_ids()
    status, made = a.request(
        "POST",
        "/open311/v2/requests.json",
        {"api_key": key, "service_code": "SJ01", "lat": str(lat), "long": str(lon),
         "description": "scale-out tile check"},
    )  # fmt: skip
    assert status == 201, made
    new_id = int(made[0]["service_request_id"])
    assert new_id not in before
    assert new_id in report_ids()
