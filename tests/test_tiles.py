"""Grid tiles at the plain URL follow the current generation without a query per tile, and a
committed change of generation moves them: announced (NOTIFY), or missed and found by the
periodic check, or while the listener is down by a lookup per request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from api.app import create_app
from api.routers.tiles import CachedGridTiles
from gisgrid.mapdata import CurrentGeneration, tiles
from gisgrid.settings import Settings
from tests.browser import until

CENTRE = (111.95, 23.25)


@pytest.fixture
def client(own_database_url: str, demo_county: str) -> Iterator[TestClient]:
    """The app with its lifespan (listener started), checking every 0.2 s as well."""
    app = create_app(Settings(database_url=own_database_url, generation_check_s=0.2))
    with TestClient(app) as c:
        yield c


@pytest.fixture
def deaf_client(own_database_url: str, demo_county: str) -> Iterator[TestClient]:
    """The same, never checking by itself: only a notice can tell it of a change."""
    app = create_app(Settings(database_url=own_database_url, generation_check_s=3600))
    with TestClient(app) as c:
        yield c


def _watch(client: TestClient) -> CurrentGeneration:
    watch: CurrentGeneration = client.app.state.current_generation  # type: ignore[attr-defined]
    return watch


def _plain(client: TestClient, z: int = 11) -> Any:
    x, y = tiles.lonlat_to_tile(*CENTRE, z)
    return client.get(f"/tiles/grids/{z}/{x}/{y}.mvt")


def _current(conn: Connection) -> int:
    return int(
        conn.execute(
            text(
                "SELECT id FROM generation WHERE valid_to IS NULL ORDER BY valid_from DESC LIMIT 1"
            )
        ).scalar_one()
    )


@pytest.fixture
def new_generation(own_engine: Engine, demo_county: str) -> Callable[..., int]:
    """Commit a newer (empty) generation, as another process would."""

    def make(quietly: bool = False) -> int:
        with own_engine.begin() as conn:
            if quietly:  # triggers off: the notice goes missing
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            gid = conn.execute(
                text(
                    "INSERT INTO generation (name, county_code, valid_from, description) "
                    "VALUES (:n, :c, now(), 'test: tiles follow the current generation') "
                    "RETURNING id"
                ),
                {"n": f"t-gen-{quietly}", "c": demo_county},
            ).scalar_one()
        return int(gid)

    return make


def test_plain_url_is_answered_from_memory_once_warm(client: TestClient, conn: Connection) -> None:
    gen = _current(conn)
    assert _watch(client).get() == (True, gen)
    first = _plain(client)
    assert first.status_code == 200 and first.headers["x-grid-generation"] == str(gen)

    class NoDatabase:
        def connect(self) -> None:
            raise AssertionError("a warm plain-URL tile must not touch the database")

        connection = connect

    state = client.app.state  # type: ignore[attr-defined]
    own_engine, pool = state.engine, state.intake_pool
    state.engine = state.intake_pool = NoDatabase()
    try:
        again = _plain(client)
    finally:
        state.engine, state.intake_pool = own_engine, pool
    assert again.headers["x-tile-cache"] == "hit"
    assert again.content == first.content and first.content
    assert again.headers["cache-control"] == "public, max-age=300"
    x, y = tiles.lonlat_to_tile(*CENTRE, 11)
    pinned = client.get(f"/tiles/grids/11/{x}/{y}.mvt?generation={gen}")
    assert pinned.content == first.content and "immutable" in pinned.headers["cache-control"]


@pytest.mark.parametrize("query", ["", "?generation={gen}"])
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_warm_tiles_before_routing_answer_as_the_route_does(
    client: TestClient,
    conn: Connection,
    query: str,
    encoding: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answered: list[bool] = []
    hit = CachedGridTiles._hit

    def spy(self: CachedGridTiles, scope: Any) -> Any:
        out = hit(self, scope)
        answered.append(out is not None)
        return out

    monkeypatch.setattr(CachedGridTiles, "_hit", spy)
    gen = _current(conn)
    for z in (10, 13):
        x, y = tiles.lonlat_to_tile(*CENTRE, z)
        url = f"/tiles/grids/{z}/{x}/{y}.mvt" + query.format(gen=gen)
        client.get(url)  # now in the cache
        front = client.get(url, headers={"Accept-Encoding": encoding})
        # A cookie sends the request past the front to the route.
        routed = client.get(url, headers={"Accept-Encoding": encoding, "Cookie": "a=b"})
        assert front.status_code == routed.status_code == 200
        assert front.content == routed.content and front.content
        assert dict(front.headers) == dict(routed.headers)
        assert front.headers["x-tile-cache"] == "hit"
        assert answered[-3:] == [False, True, False]  # miss, front, past the front
    # Shapes the route must judge itself still reach it.
    assert client.get("/tiles/grids/3/8/0.mvt").status_code == 422
    assert client.get("/tiles/grids/1/0/0.mvt?generation=x").status_code == 422


def test_a_committed_generation_is_announced_and_moves_the_plain_url(
    deaf_client: TestClient, conn: Connection, new_generation: Callable[..., int]
) -> None:
    client = deaf_client
    old = _current(conn)
    assert _plain(client).headers["x-grid-generation"] == str(old)
    watch = _watch(client)
    new = new_generation()
    until(lambda: watch.get() == (True, new), "hearing the new generation")
    r = _plain(client)
    # The new generation has no grids: its tile is empty, and never the old one's.
    assert r.headers["x-grid-generation"] == str(new) and r.content == b""


def test_a_missed_notice_is_caught_by_the_periodic_check(
    client: TestClient, new_generation: Callable[..., int]
) -> None:
    watch = _watch(client)
    reads = watch.reads
    new = new_generation(quietly=True)
    until(lambda: watch.get() == (True, new), "the periodic check finding it")
    assert watch.reads > reads
    assert _plain(client).headers["x-grid-generation"] == str(new)


def test_while_the_listener_is_down_tiles_are_looked_up_per_request(
    client: TestClient, own_engine: Engine, conn: Connection, new_generation: Callable[..., int]
) -> None:
    watch = _watch(client)
    pid = client.portal.call(watch.backend_pid)  # type: ignore[union-attr]
    assert pid
    with own_engine.begin() as c:
        c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    until(lambda: not watch.known or client.portal.call(watch.backend_pid) != pid, "noticing")  # type: ignore[union-attr]
    # Whether it has reconnected yet or not, the answer is the database's.
    new = new_generation(quietly=True)
    assert _plain(client).headers["x-grid-generation"] == str(new)
    until(lambda: watch.get() == (True, new), "listening again")
