"""The access log: one logfmt line per request, written later in a batch, never the query
string; `gisgrid serve` turns uvicorn's own per-line access log off."""

from __future__ import annotations

import io
import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.access_log import AccessLog, LineWriter
from api.front import FrontDoor
from gisgrid.settings import Settings

LINE = re.compile(
    r"ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ client=\S+ method=(\w+) path=(\S+) status=(\d+) "
    r"ms=\d+\.\d\n"
)


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/ok")
    def ok() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    return app


def test_one_line_per_request_written_in_a_batch_without_the_query() -> None:
    out = io.StringIO()
    writer = LineWriter(out, flush_s=3600)  # only an explicit flush writes
    client = TestClient(FrontDoor(_app(), AccessLog(writer)), raise_server_exceptions=False)
    assert client.get("/ok?api_key=secret-key").status_code == 200
    assert client.get("/no/such%0Apath").status_code == 404
    assert client.get("/boom").status_code == 500
    assert out.getvalue() == ""  # nothing written on the request path
    writer.flush()
    lines = out.getvalue().splitlines(keepends=True)
    assert [LINE.fullmatch(line).groups() for line in lines] == [  # type: ignore[union-attr]
        ("GET", "/ok", "200"),
        ("GET", "/no/such%0Apath", "404"),  # still encoded: no forged second line
        ("GET", "/boom", "500"),
    ]
    assert "secret-key" not in out.getvalue()


def test_the_service_logs_through_it_and_serve_turns_uvicorns_off(
    served_config: dict[str, Any],
) -> None:
    from api.app import create_app

    on = create_app(Settings(database_url="postgresql://nowhere/x", access_log=True))
    off = create_app(Settings(database_url="postgresql://nowhere/x", access_log=False))
    assert [type(m.kwargs["access_log"]) for m in on.user_middleware] == [AccessLog]
    assert [m.kwargs["access_log"] for m in off.user_middleware] == [None]
    seen = served_config
    assert seen["access_log"] is False and seen["factory"] is True and seen["ran"]
