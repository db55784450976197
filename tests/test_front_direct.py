"""The front door answers the intake's POST itself (issue 18): a direct route's endpoint is
called without the router, its urlencoded form parsed once as Starlette parses it, its errors
answered from the app's own table; and `gisgrid serve` sends each answer in one write."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient
from starlette.datastructures import Headers

from api import errors
from api.app import create_app
from api.front import FrontDoor, _form
from api.routers import open311
from gisgrid import errors as domain
from gisgrid.serving import OneWriteHttp, _OneWrite
from gisgrid.settings import Settings

CALLS: list[str] = []


async def _direct(request: Request) -> Response:
    CALLS.append(request.path_params["fmt"])
    request.state.audited = True  # as the intake does (its entry is in its own statement)
    form = await request.form()
    if form.get("fail") == "domain":
        raise domain.RateLimited("too many from you", retry_after=7)
    if form.get("fail") == "bug":
        raise RuntimeError("a bug")
    return JSONResponse({"fmt": request.path_params["fmt"], "form": [*form.multi_items()]}, 201)


def _client() -> TestClient:
    """An app whose router does not know the direct route: only the front door can answer it."""
    app = FastAPI()

    @app.post("/x/{fmt}")
    def routed(request: Request, fmt: str) -> dict[str, str]:
        request.state.audited = True
        return {"routed": fmt}

    errors.install(app)
    route = open311.RequestOnly("/direct/{fmt}", _direct, methods=["POST"])
    app.add_middleware(FrontDoor, direct=[route])
    return TestClient(app, raise_server_exceptions=False)


def test_a_direct_route_is_answered_by_the_front_door_with_its_form_parsed_once() -> None:
    client = _client()
    CALLS.clear()
    r = client.post("/direct/json", content=b"a=1&b=%E4%B8%AD+x&c", headers=_FORM)
    assert r.status_code == 201
    assert r.json() == {"fmt": "json", "form": [["a", "1"], ["b", "中 x"], ["c", ""]]}
    assert CALLS == ["json"]
    # The security headers and the rest of the front door's work still apply.
    assert r.headers["x-content-type-options"] == "nosniff"
    # Not a direct route: the router's, as before.
    assert client.post("/x/json", content=b"a=1", headers=_FORM).json() == {"routed": "json"}
    # Only POSTs are answered directly: the router has no such route for a GET.
    assert client.get("/direct/json").status_code == 404


def test_a_direct_routes_errors_come_from_the_apps_table() -> None:
    client = _client()
    r = client.post("/direct/json", content=b"fail=domain", headers=_FORM)
    assert r.status_code == errors.STATUS[domain.RateLimited] == 429
    assert r.headers["retry-after"] == "7"
    assert client.post("/direct/json", content=b"fail=bug", headers=_FORM).status_code == 500


@pytest.mark.parametrize(
    "body",
    [
        b"a=1&b=2",
        b"a&b=&=c&&d=%E4%B8%AD+x",
        b"x=%ZZ&y=%e4%b8",
        "z=中文".encode(),
        b"&&&",
        b"",
        b"a=1;b=2",
        b"a==b",
        b"k=v&k=w",
        b"%26=%3D&a=b+c%2Bd",
    ],
)
def test_the_form_is_what_starlettes_parser_reads(body: bytes) -> None:
    async def starlette_form() -> list[tuple[str, Any]]:
        sent = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return sent.pop() if sent else {"type": "http.disconnect"}

        scope = {"type": "http", "method": "POST", "path": "/", "query_string": b""}
        scope["headers"] = Headers({"content-type": _FORM["content-type"]}).raw
        return list((await Request(scope, receive).form()).multi_items())

    parsed = _form(body)
    assert parsed is not None
    assert list(parsed.multi_items()) == asyncio.run(starlette_form())


def test_too_many_fields_are_left_to_starlettes_parser() -> None:
    assert _form(b"&".join(b"a=1" for _ in range(1001))) is None


def test_the_service_answers_the_open311_post_at_its_front_door() -> None:
    app = create_app(Settings(database_url="postgresql://nowhere/none"))
    (front,) = [m for m in app.user_middleware if m.cls is FrontDoor]
    routes = front.kwargs["direct"]
    assert [(r.path, r.methods) for r in routes] == [("/open311/v2/requests.{fmt}", {"POST"})]
    assert routes[0].endpoint is open311.create_request


_FORM = {"content-type": "application/x-www-form-urlencoded"}


class _Recorded:
    """A transport that records what is written to it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def test_one_write_per_pass_of_the_loop() -> None:
    async def run() -> list[list[bytes]]:
        seen = []
        recorded = _Recorded()
        one = _OneWrite(recorded, asyncio.get_running_loop())  # type: ignore[arg-type]
        one.write(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n")
        one.write(b"{}")
        assert recorded.writes == []  # held until the loop's next pass
        await asyncio.sleep(0)
        seen.append(list(recorded.writes))
        one.write(b"chunk")  # a streamed body's later chunk: its own pass, its own write
        await asyncio.sleep(0)
        seen.append(list(recorded.writes))
        one.write(b"last")
        one.close()  # what is held goes out before the connection closes
        seen.append(list(recorded.writes))
        fresh = _Recorded()
        two = _OneWrite(fresh, asyncio.get_running_loop())  # type: ignore[arg-type]
        two.write(b"head")
        two.write(b"x" * (_OneWrite.HOLD_LIMIT + 1))  # over the limit: out at once
        seen.append(list(fresh.writes))
        assert recorded.closed and one.get_extra_info("peername") == "info:peername"
        return seen

    head_and_body, streamed, closed, big = asyncio.run(run())
    assert head_and_body == [b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}"]
    assert streamed[1:] == [b"chunk"]
    assert closed[2:] == [b"last"]
    assert big == [b"head" + b"x" * (_OneWrite.HOLD_LIMIT + 1)]


def test_serve_sends_each_answer_in_one_write(served_config: dict[str, Any]) -> None:
    assert served_config["http"] is OneWriteHttp and served_config["ran"]


async def _asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one,", b"two"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.05)
        await send({"type": "http.response.body", "body": b""})
        return
    body = b"x" * int(scope["query_string"] or b"2")
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def test_a_real_server_on_the_one_write_protocol_answers_whole() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(_asgi, port=port, http=OneWriteHttp, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for size in (2, 300_000):  # a body larger than a socket buffer, too
                r = client.get(f"/?{size}")
                assert (r.status_code, len(r.content)) == (201, size)
            assert client.get("/stream").content == b"one,two"
            r = client.get("/", headers={"connection": "close"})
            assert (r.status_code, r.content, r.headers["connection"]) == (201, b"xx", "close")
    finally:
        server.should_exit = True
        thread.join(5)
