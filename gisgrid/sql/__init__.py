"""The one home of data access: every SQL statement is a file here, run through these functions.

Statements live in `gisgrid/sql/<room>/<name>.sql` (`room` is the core subpackage that uses
them) and are named `"<room>/<name>"`. Parameters are bound (`:name`), never formatted in.
Functions take a SQLAlchemy `Connection`, so a statement runs in the caller's transaction;
the `a...` functions run the same files on an async psycopg connection (no thread, no
SQLAlchemy: the hot paths of the service, issue 13).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import cache
from importlib.resources import files
from typing import Any

import pandas as pd
from psycopg import AsyncConnection
from psycopg import sql as pgsql
from psycopg.rows import dict_row
from sqlalchemy import Connection, CursorResult, RowMapping, TextClause, text
from sqlalchemy.dialects.postgresql import psycopg as _pg_dialect


@cache
def load(name: str) -> str:
    """The text of gisgrid/sql/<name>.sql."""
    return files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")


@cache
def statement(name: str) -> TextClause:
    """The statement `name` as a SQLAlchemy clause (parsed once per process)."""
    return text(load(name))


def execute(conn: Connection, name: str, /, **params: Any) -> CursorResult[*tuple[Any, ...]]:
    """Run statement `name` with bound parameters; the cursor result."""
    return conn.execute(statement(name), params)


def rows(conn: Connection, name: str, /, **params: Any) -> Sequence[RowMapping]:
    """Every row of statement `name`, as mappings."""
    return execute(conn, name, **params).mappings().all()


def first(conn: Connection, name: str, /, **params: Any) -> RowMapping | None:
    """The first row of statement `name`, or None."""
    return execute(conn, name, **params).mappings().first()


def one(
    conn: Connection, name: str, missing: Callable[[], Exception], /, **params: Any
) -> RowMapping:
    """The first row of statement `name`; the error `missing()` builds when there is none."""
    row = first(conn, name, **params)
    if row is None:
        raise missing()
    return row


def scalar(conn: Connection, name: str, /, **params: Any) -> Any:
    """The first column of the first row of statement `name` (None when no row)."""
    return execute(conn, name, **params).scalar()


def frame(conn: Connection, name: str, /, **params: Any) -> pd.DataFrame:
    """The rows of statement `name` as a DataFrame (columns as the statement names them)."""
    res = execute(conn, name, **params)
    return pd.DataFrame(res.fetchall(), columns=list(res.keys()))


@cache
def pyformat(name: str) -> str:
    """Statement `name` in psycopg's own style (`%(name)s`), compiled by SQLAlchemy once."""
    return str(statement(name).compile(dialect=_pg_dialect.dialect()))


async def aexecute(aconn: AsyncConnection[Any], name: str, /, **params: Any) -> int:
    """Run statement `name` on an async psycopg connection; the number of rows it touched."""
    cur = await aconn.execute(pyformat(name), params)
    return cur.rowcount


async def afirst(aconn: AsyncConnection[Any], name: str, /, **params: Any) -> dict[str, Any] | None:
    """The first row of statement `name` on an async psycopg connection, as a dict, or None."""
    cur = aconn.cursor(row_factory=dict_row)
    await cur.execute(pyformat(name), params)
    return await cur.fetchone()


def composed(name: str, /, **identifiers: str) -> pgsql.Composed:
    """Statement `name` with each `{placeholder}` filled by a quoted identifier, for a psycopg
    connection: names that cannot be bound parameters (databases, extensions)."""
    stmt = pgsql.SQL(load(name))  # type: ignore[arg-type]
    return stmt.format(**{k: pgsql.Identifier(v) for k, v in identifiers.items()})


def copy_csv(conn: Connection, name: str, /, **params: Any) -> bytes:
    """The rows of statement `name` as CSV, by COPY (...) TO STDOUT.

    COPY takes no server-side parameters: psycopg binds `params` on the client, as literals it
    quotes itself (the statement's `:name`s compiled to its `%(name)s` style by SQLAlchemy).
    """
    raw = conn.connection.driver_connection
    text_ = str(statement(name).compile(dialect=conn.dialect)) if params else load(name)
    stmt = pgsql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(pgsql.SQL(text_))  # type: ignore[arg-type]
    buf = io.BytesIO()
    with raw.cursor() as cur, cur.copy(stmt, params or None) as copy:  # type: ignore[union-attr]
        for chunk in copy:
            buf.write(chunk)
    return buf.getvalue()


def copy_frame(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    """Bulk-load a DataFrame with COPY (CSV) inside the connection's transaction."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False, header=False)
    raw = conn.connection.driver_connection
    # Identifiers composed by psycopg, never by string formatting.
    stmt = pgsql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        pgsql.Identifier(table), pgsql.SQL(", ").join(map(pgsql.Identifier, frame.columns))
    )
    with raw.cursor() as cur, cur.copy(stmt) as copy:  # type: ignore[union-attr]
        copy.write(buf.getvalue())
