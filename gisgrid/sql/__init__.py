"""The one home of data access: every SQL statement is a file here, run through these functions.

Statements live in `gisgrid/sql/<room>/<name>.sql` (`room` is the core subpackage that uses
them) and are named `"<room>/<name>"`. Parameters are bound (`:name`), never formatted in.
Functions take a SQLAlchemy `Connection`, so a statement runs in the caller's transaction.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Any

import pandas as pd
from psycopg import sql as pgsql
from sqlalchemy import Connection, CursorResult, RowMapping, TextClause, text


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


def scalar(conn: Connection, name: str, /, **params: Any) -> Any:
    """The first column of the first row of statement `name` (None when no row)."""
    return execute(conn, name, **params).scalar()


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
