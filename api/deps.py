"""Dependencies shared by the routers."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine


async def get_engine(request: Request) -> Engine:
    """The engine the app opened at start-up (async: a sync dependency would cost a thread hop)."""
    engine: Engine = request.app.state.engine
    return engine


def get_conn(request: Request) -> Iterator[Connection]:
    """A connection in a transaction for one request; committed when the route returns."""
    engine: Engine = request.app.state.engine
    with engine.begin() as conn:
        yield conn


# scope="function": commit before the response is sent, so a client never sees success for a
# write that then fails to commit, nor reads back before its own write is visible.
ConnDep = Annotated[Connection, Depends(get_conn, scope="function")]
EngineDep = Annotated[Engine, Depends(get_engine)]
