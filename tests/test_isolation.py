"""The test databases keep tests apart: what a test writes in its transaction or in a database of
its own no later test sees; what a module commits stays in the module's copy; and the template,
which every copy is made from, stays as it was built.

The tests run in this order in one process (file order; xdist sends a file to one worker).
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from gisgrid.reports import api_keys
from tests.conftest import rolled_back
from tests.databases import TEMPLATE, Databases

MARK = f"isolation {uuid.uuid4().hex}"  # this run's writes, and only they, carry it
MARKS = (
    "SELECT (SELECT count(*) FROM report WHERE description LIKE :m) "
    "+ (SELECT count(*) FROM api_key WHERE name LIKE :m)"
)
# What the first test wrote where, for the later ones to look for.
WRITTEN: dict[str, str] = {}


def _marks(conn: Connection, what: str = "") -> int:
    return int(conn.execute(text(MARKS), {"m": f"{MARK}{what}%"}).scalar_one())


def _count_in(engine: Engine) -> int:
    with engine.connect() as c:
        return _marks(c)


def _marks_in_copy(databases: Databases, copy: str) -> int:
    """The marks in a copy just made (dropped once counted)."""
    try:
        return databases.setup(copy, _count_in)
    finally:
        databases.drop(copy)


def _report(http: httpx.Client, conn: Connection, description: str) -> None:
    lon, lat = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM household LIMIT 1")).one()
    r = http.post(
        "/api/v1/public/reports",
        json={"service_code": "ZZ03", "lon": lon, "lat": lat, "description": description},
    )
    assert r.status_code == 201, r.text


def test_a_test_writes_through_every_door(
    conn: Connection,
    engine: Engine,
    own_engine: Engine,
    own_http: httpx.Client,
    own_database_url: str,
    demo_county: str,
) -> None:
    api_keys.create_key(conn, f"{MARK} rolled back")
    with conn.begin_nested():  # code under test may open SAVEPOINTs inside the test's transaction
        api_keys.create_key(conn, f"{MARK} rolled back, nested")
    _report(own_http, conn, f"{MARK} own, over http")
    with own_engine.begin() as c:
        api_keys.create_key(c, f"{MARK} own, committed")
    with engine.begin() as c:
        api_keys.create_key(c, f"{MARK} module, committed")
    assert _marks(conn, " rolled back") == 2  # inside the transaction that will be rolled back
    assert _count_in(own_engine) == 2  # the report and the key, in this test's own database
    with engine.connect() as c:
        assert _marks(c) == 1  # only the module's key: the rest is not committed, or elsewhere
    WRITTEN["own"] = own_engine.url.database or ""


def test_a_later_test_sees_none_of_it(
    conn: Connection, own_engine: Engine, own_http: httpx.Client, databases: Databases
) -> None:
    assert _marks(conn, " rolled back") == 0
    assert _count_in(own_engine) == 0
    r = own_http.get("/open311/v2/requests.json", params={"service_code": "ZZ03"})
    assert r.status_code == 200 and MARK not in r.text
    databases.settle()  # the first test's own database is dropped in the background
    if "own" in WRITTEN:  # (unless this test was picked to run alone)
        assert WRITTEN["own"] not in databases.cluster.names(databases.prefix)


def test_what_a_module_commits_stays_in_its_copy(
    engine: Engine, databases: Databases, template: str
) -> None:
    with engine.begin() as c:
        api_keys.create_key(c, f"{MARK} module, committed again")
    with engine.connect() as c:
        assert _marks(c, " module") >= 1  # the later tests of this module would see it...
    # ...but the next module starts from a fresh copy of the template, which has none of it.
    assert _marks_in_copy(databases, databases.copy(template, "check")) == 0


def test_the_template_stays_as_it_was_built(databases: Databases) -> None:
    # Sealed: no session can even open it, so nothing can write to it.
    info = databases.cluster.info(TEMPLATE)
    assert info is not None
    assert (info["allow_connections"], info["is_template"]) == (False, True)
    assert info["stamp"] == databases.stamp
    with pytest.raises(DBAPIError, match="not currently accepting connections"):
        databases.setup(TEMPLATE, _count_in)
    with databases.cluster.template_lock():
        fresh = databases.copy(TEMPLATE, "check")
    assert _marks_in_copy(databases, fresh) == 0


def test_a_commit_of_conn_is_refused(engine: Engine) -> None:
    with pytest.raises(AssertionError, match="committed `conn`"), rolled_back(engine) as c:
        api_keys.create_key(c, f"{MARK} committed by mistake")
        c.commit()
