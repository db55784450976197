"""The walls' polls answered from one shared count per question (issue 13): never older than
their stated freshness, never across units, generations, filters or access scopes; ETag and 304.

The shared answers' clock is the test's (`Clock`): time moves when the test says so, so nothing
here waits or measures time.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from bench.common import one
from gisgrid.access import accounts
from gisgrid.mapdata import SharedAnswers
from gisgrid.mapdata.answers import REFRESH_AT
from gisgrid.settings import Settings

COUNTY = "441226"
FRESH_S = 2.0


class Clock:
    """A clock that moves only when told (for SharedAnswers' `clock`)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the shared answers on their own -----------------------------------------------------------


def test_one_count_in_flight_for_everyone_asking_the_same() -> None:
    """Ten askers at once, one count; another question is counted on its own."""

    async def go() -> tuple[list[bytes], int, bytes]:
        answers = SharedAnswers(fresh_s=FRESH_S, clock=Clock())
        release = asyncio.Event()
        counts: list[str] = []

        async def count() -> bytes:
            counts.append("a")
            await release.wait()
            return b"answer a"

        async def other() -> bytes:
            counts.append("b")
            return b"answer b"

        askers = [asyncio.ensure_future(answers.get("a", count)) for _ in range(10)]
        await asyncio.sleep(0)
        b = await answers.get("b", other)
        release.set()
        got = [a.body for a in await asyncio.gather(*askers)]
        return got, counts.count("a"), b.body

    got, counted, b = asyncio.run(go())
    assert got == [b"answer a"] * 10 and counted == 1
    assert b == b"answer b"


def test_kept_until_its_freshness_ends_then_counted_again() -> None:
    """Within fresh_s of its count's start the same answer; at fresh_s a new count."""

    async def go() -> list[tuple[bytes, str]]:
        clock = Clock()
        answers = SharedAnswers(fresh_s=FRESH_S, clock=clock)
        n = 0

        async def count() -> bytes:
            nonlocal n
            n += 1
            return f"count {n}".encode()

        seen = []
        for step in (0.0, 1.0, 0.99, 0.01, 1.0):
            clock.now += step
            a = await answers.get(("grids", COUNTY), count)
            seen.append((a.body, a.etag))
        return seen

    seen = asyncio.run(go())
    assert [b for b, _ in seen] == [b"count 1", b"count 1", b"count 1", b"count 2", b"count 2"]
    assert seen[0][1] == seen[2][1] != seen[3][1]


def test_counted_again_ahead_of_expiry_while_the_kept_answer_is_served() -> None:
    """From three quarters of fresh_s the kept answer is served and a count starts beside it;
    its answer replaces the kept one, which is never served past fresh_s either way."""

    async def go() -> list[bytes]:
        clock = Clock()
        answers = SharedAnswers(fresh_s=FRESH_S, clock=clock)
        n = 0
        release = asyncio.Event()

        async def count() -> bytes:
            nonlocal n
            n += 1
            if n == 2:
                await release.wait()  # the count ahead of expiry takes its time
            return f"count {n}".encode()

        seen = [(await answers.get("q", count)).body]
        clock.now += REFRESH_AT * FRESH_S - 0.01
        seen.append((await answers.get("q", count)).body)
        await asyncio.sleep(0)
        assert n == 1  # not yet three quarters through: nothing counted
        clock.now += 0.02
        seen.append((await answers.get("q", count)).body)  # served, and a count starts
        await asyncio.sleep(0)
        assert n == 2
        seen.append((await answers.get("q", count)).body)  # one count ahead at a time
        clock.now += FRESH_S  # the kept answer has expired: askers wait for the count
        waiting = asyncio.ensure_future(answers.get("q", count))
        await asyncio.sleep(0)
        assert not waiting.done()
        release.set()
        seen.append((await waiting).body)
        assert n == 2
        return seen

    # Bounded: an asker made to wait for the slow count where the kept answer was due fails.
    assert asyncio.run(asyncio.wait_for(go(), 10)) == [b"count 1"] * 4 + [b"count 2"]


def test_errors_are_not_kept_and_a_leaving_asker_does_not_end_the_count() -> None:
    """A failed count is counted again by the next asker; a cancelled asker's count goes on for
    those still waiting; fresh_s 0 keeps nothing."""

    async def go() -> tuple[bytes, int, int]:
        answers = SharedAnswers(fresh_s=FRESH_S, clock=Clock())
        calls = 0

        async def failing() -> bytes:
            nonlocal calls
            calls += 1
            raise RuntimeError("database away")

        for _ in range(2):
            with pytest.raises(RuntimeError):
                await answers.get("k", failing)
        release = asyncio.Event()

        async def slow() -> bytes:
            await release.wait()
            return b"done"

        leaving = asyncio.ensure_future(answers.get("s", slow))
        staying = asyncio.ensure_future(answers.get("s", slow))
        await asyncio.sleep(0)
        leaving.cancel()
        await asyncio.sleep(0)
        release.set()
        kept_none = SharedAnswers(fresh_s=0, clock=Clock())
        n = 0

        async def each() -> bytes:
            nonlocal n
            n += 1
            return b"x"

        await kept_none.get("k", each)
        await kept_none.get("k", each)
        return (await staying).body, calls, n

    body, failed_counts, zero_fresh_counts = asyncio.run(go())
    assert body == b"done" and failed_counts == 2 and zero_fresh_counts == 2


# --- through the service ----------------------------------------------------------------------


@pytest.fixture
def walls(own_database_url: str, demo_county: str) -> Iterator[tuple[TestClient, Clock]]:
    """The app on a database of this test's own, its shared answers on the test's clock."""
    app = create_app(Settings(database_url=own_database_url, poll_fresh_s=FRESH_S))
    clock = Clock()
    app.state.poll_answers.clock = clock
    with TestClient(app) as client:
        yield client, clock


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _token(client: TestClient, engine: Engine, role: str, scope: str) -> str:
    name, password = f"poll-{role}-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with engine.begin() as conn:
        accounts.create_account(conn, name, password, role, scope)
    r = client.post("/api/v1/auth/token", data={"username": name, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _file_report(client: TestClient, engine: Engine, town: str) -> tuple[int, str]:
    """A resident's report at a household's door in `town`: (its id, its grid's code)."""
    with engine.connect() as conn:
        lon, lat = conn.execute(
            text(
                "SELECT ST_X(h.geom), ST_Y(h.geom) FROM household h JOIN grid g "
                "ON g.id = h.grid_id WHERE g.valid_to IS NULL AND g.code LIKE :t || '%' "
                "ORDER BY h.id LIMIT 1"
            ),
            {"t": town},
        ).one()
    r = client.post(
        "/api/v1/public/reports",
        json={
            "service_code": "ZZ03",
            "lon": lon,
            "lat": lat,
            "description": "poll test " + uuid.uuid4().hex,
        },
        headers={"Idempotency-Key": uuid.uuid4().hex, "X-Device-Token": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), str(r.json()["grid"]["code"])


def _ids(r: httpx.Response) -> set[int]:
    return {f["id"] for f in r.json()["features"]}


def _open_cases(r: httpx.Response, grid: str) -> Any:
    return next(f["properties"]["open_cases"] for f in r.json()["features"] if f["id"] == grid)


def test_a_new_report_shows_once_the_freshness_ends_and_unchanged_polls_get_304(
    walls: tuple[TestClient, Clock], own_engine: Engine, admin_token: str
) -> None:
    """Within poll_fresh_s the walls share one count (the report written meanwhile not yet in
    it); from poll_fresh_s on it is in every poll, with a new ETag; If-None-Match gets 304."""
    client, clock = walls
    admin = _bearer(admin_token)
    reports = {"unit": COUNTY}
    grids = {"unit": COUNTY, "geometry": "false"}
    before = client.get("/maps/data/reports", params=reports, headers=admin)
    grids_before = client.get("/maps/data/grids", params=grids, headers=admin)
    assert before.status_code == grids_before.status_code == 200
    assert before.headers["cache-control"] == "private, no-cache"
    with own_engine.connect() as conn:
        town = conn.execute(
            text("SELECT left(min(code), 9) FROM grid WHERE code LIKE :c || '%'"), {"c": COUNTY}
        ).scalar_one()
    report, grid = _file_report(client, own_engine, town)
    answers = client.app.state.poll_answers  # type: ignore[attr-defined]
    counted = answers.counted
    clock.now += REFRESH_AT * FRESH_S - 0.01  # before the count ahead of expiry
    shared = client.get("/maps/data/reports", params=reports, headers=admin)
    assert shared.content == before.content and report not in _ids(shared)
    assert shared.headers["etag"] == before.headers["etag"]
    same = client.get(
        "/maps/data/reports",
        params=reports,
        headers=admin | {"If-None-Match": shared.headers["etag"]},
    )
    assert same.status_code == 304 and same.content == b""
    assert answers.counted == counted  # neither poll counted anything
    assert client.get("/healthz").json()["load"]["polls"]["counted"] == counted
    clock.now += (1 - REFRESH_AT) * FRESH_S + 0.01  # poll_fresh_s after: never served again
    after = client.get(
        "/maps/data/reports",
        params=reports,
        headers=admin | {"If-None-Match": before.headers["etag"]},
    )
    assert after.status_code == 200 and report in _ids(after)
    assert after.headers["etag"] != before.headers["etag"]
    grids_after = client.get("/maps/data/grids", params=grids, headers=admin)
    assert _open_cases(grids_after, grid) == _open_cases(grids_before, grid) + 1


def test_shared_answers_never_cross_units_generations_filters_or_scopes(
    walls: tuple[TestClient, Clock], own_engine: Engine, admin_token: str, demo_county: str
) -> None:
    """A county's kept answer is refused to a town's operator (403, not the kept bytes); each
    unit, generation and filter is its own question."""
    client, _ = walls
    admin = _bearer(admin_token)
    towns = one(
        own_engine,
        "SELECT array_agg(DISTINCT left(code, 9) ORDER BY left(code, 9)) AS codes FROM grid "
        "WHERE valid_to IS NULL AND code LIKE :c || '%'",
        c=COUNTY,
    )
    town, other = towns.codes[:2]
    operator = _bearer(_token(client, own_engine, "town_operator", town))
    for path in ("/maps/data/reports", "/maps/data/staff"):
        county = client.get(path, params={"unit": COUNTY}, headers=admin)
        assert county.status_code == 200
        for unit in (COUNTY, other):  # kept for the county, and someone else's town
            r = client.get(path, params={"unit": unit}, headers=operator)
            assert r.status_code == 403 and r.headers.get("etag") is None, (path, unit)
        own = client.get(path, params={"unit": town}, headers=operator)
        assert own.status_code == 200 and own.content != county.content
    reports_of_town = client.get("/maps/data/reports", params={"unit": town}, headers=operator)
    grids_of = {f["properties"]["grid_code"][:9] for f in reports_of_town.json()["features"]}
    assert grids_of <= {town}
    overdue = client.get("/maps/data/reports", params={"unit": COUNTY, "overdue": "true"})
    assert overdue.status_code == 401  # kept or not, an anonymous caller is not answered
    # Generations: an explicit one, the current one, and a new current one (an empty draft
    # generation made current here) are three questions.
    county_grids = client.get("/maps/data/grids", params={"unit": COUNTY, "geometry": "false"})
    current = county_grids.json()["features"][0]["properties"]["generation_id"]
    explicit = client.get(
        "/maps/data/grids", params={"unit": COUNTY, "geometry": "false", "generation": current}
    )
    assert explicit.json()["numberReturned"] == county_grids.json()["numberReturned"] == 900
    with own_engine.begin() as conn:
        empty = one(
            conn,
            "INSERT INTO generation (name, county_code, valid_from, description) "
            "VALUES ('poll test', :c, now(), 'test: an empty generation') RETURNING id",
            c=demo_county,
        ).id
    none = client.get(
        "/maps/data/grids", params={"unit": COUNTY, "geometry": "false", "generation": empty}
    )
    assert none.status_code == 200 and none.json()["numberReturned"] == 0
    town_grids = client.get("/maps/data/grids", params={"unit": town, "geometry": "false"})
    assert 0 < town_grids.json()["numberReturned"] < 900
    shapes = client.get("/maps/data/grids", params={"unit": town})
    assert "coordinates" in shapes.text and "coordinates" not in town_grids.text
