"""The statement files themselves: how they ship, what their comments bind."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.db import FUNCTION_FILES
from gisgrid.errors import NotFound

ROOT = Path(__file__).resolve().parent.parent
SQL_HOME = ROOT / "gisgrid" / "sql"
FILES = sorted(SQL_HOME.rglob("*.sql"))
# Run on the driver, not through text(): psycopg-style, composed, or whole scripts.
NOT_TEXT = {*FUNCTION_FILES, "db/database_exists"}
BIND = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def _name(path: Path) -> str:
    return str(path.relative_to(SQL_HOME).with_suffix(""))


def _split(text: str) -> tuple[str, str]:
    lines = text.splitlines()
    comments = "\n".join(s for s in lines if s.lstrip().startswith("--"))
    return comments, "\n".join(s for s in lines if not s.lstrip().startswith("--"))


def test_package_data_ships_every_statement_file() -> None:
    # `pip install .` (not editable) copies only what package-data names.
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = meta["tool"]["setuptools"]["package-data"]["gisgrid"]
    shipped = {p for pattern in patterns for p in (ROOT / "gisgrid").glob(pattern)}
    assert len(FILES) > 100 and set(FILES) <= shipped, sorted(set(FILES) - shipped)


def test_every_statement_loads_by_name() -> None:
    wrong = [_name(p) for p in FILES if sql.load(_name(p)) != p.read_text(encoding="utf-8")]
    assert not wrong, wrong


def test_comments_bind_no_parameter_of_their_own() -> None:
    # SQLAlchemy's text() reads `:name` in comments too: one the statement does not bind would
    # be a required parameter nobody passes.
    extra = {}
    for path in FILES:
        if _name(path) not in NOT_TEXT:
            comments, body = _split(path.read_text(encoding="utf-8"))
            if names := set(BIND.findall(comments)) - set(BIND.findall(body)):
                extra[_name(path)] = names
    assert not extra, f"comments name parameters their statements do not bind: {extra}"


def test_composed_quotes_identifiers() -> None:
    # Names that cannot be bound parameters are quoted by psycopg, never formatted in.
    stmt = sql.composed("db/create_database", database='gisgrid"; DROP')
    assert stmt.as_string(None).splitlines()[-1] == 'CREATE DATABASE "gisgrid""; DROP"'


def test_one_gives_the_row_or_raises_the_callers_error(conn: Connection) -> None:
    # "A row or this error" is the runner's, every caller's error its own.
    plan = sql.one(conn, "redraw/generation", lambda: NotFound("none"), generation_id=1)
    assert plan["id"] == 1
    with pytest.raises(NotFound, match="generation id -1 does not exist") as got:
        sql.one(
            conn,
            "redraw/generation",
            lambda: NotFound("generation id -1 does not exist", reason="test.none", id=-1),
            generation_id=-1,
        )
    assert got.value.reason == "test.none" and got.value.params == {"id": -1}
