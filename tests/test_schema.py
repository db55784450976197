"""models.py and the migrations describe one schema: Alembic's autogenerate finds no difference.

A fresh database is migrated to every head (as `gisgrid migrate` does) and compared with
`models.Base.metadata`: tables, columns, types, nullability, server defaults, indexes (spatial
ones included, through GeoAlchemy2's Alembic helpers), unique and foreign keys. Then what
autogenerate does not compare: constraint and index names, ON DELETE rules and enum labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import Connection, ForeignKeyConstraint, UniqueConstraint, create_engine, inspect
from sqlalchemy.pool import NullPool

from gisgrid.db import migrate
from gisgrid.models import Base
from tests.databases import Databases


@pytest.fixture(scope="module")
def migrated(databases: Databases) -> Iterator[Connection]:
    """A connection to a database made empty for this module and migrated to all heads."""
    name = databases.empty("schema")
    fresh = databases.url(name)
    engine = create_engine(fresh, poolclass=NullPool)
    try:
        migrate(fresh)
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()
        databases.drop_later(name)


def _extension_tables(conn: Connection) -> set[str]:
    # Tables an extension owns (PostGIS's spatial_ref_sys and the like): not the project's schema.
    rows = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_depend d JOIN pg_class c ON c.oid = d.objid "
        "WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e' AND c.relkind = 'r'"
    )
    return {r[0] for r in rows}


def test_models_match_the_migrations(migrated: Connection) -> None:
    owned = _extension_tables(migrated)
    assert "spatial_ref_sys" in owned  # the filter below has something to leave out

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table" and reflected and name in owned:
            return False
        return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))

    context = MigrationContext.configure(
        migrated,
        opts={
            "include_object": include,
            "render_item": alembic_helpers.render_item,
            "compare_type": True,
            "compare_server_default": True,
        },
    )
    diff = compare_metadata(context, Base.metadata)
    assert not diff, "models.py and the migrations differ:\n" + "\n".join(map(repr, diff))


def _names(conn: Connection) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """(as the database has them, as models.py declares them): constraint and index names."""
    insp = inspect(conn)
    db: set[tuple[Any, ...]] = set()
    model: set[tuple[Any, ...]] = set()
    for t in Base.metadata.tables.values():
        db.add((t.name, "pk", insp.get_pk_constraint(t.name)["name"]))
        model.add((t.name, "pk", t.primary_key.name))
        for fk in insp.get_foreign_keys(t.name):
            rule = (fk.get("options") or {}).get("ondelete")
            db.add((t.name, "fk", fk["name"], tuple(fk["constrained_columns"]), rule))
        for uq in insp.get_unique_constraints(t.name):
            db.add((t.name, "uq", uq["name"], tuple(uq["column_names"])))
        for ix in insp.get_indexes(t.name):
            if "duplicates_constraint" not in ix:
                db.add((t.name, "ix", ix["name"], tuple(ix["column_names"])))
        for c in t.constraints:
            cols = tuple(col.name for col in c.columns)
            if isinstance(c, ForeignKeyConstraint):
                model.add((t.name, "fk", c.name, cols, c.ondelete))
            elif isinstance(c, UniqueConstraint):
                model.add((t.name, "uq", c.name, cols))
        for ix in t.indexes:
            model.add((t.name, "ix", ix.name, tuple(col.name for col in ix.columns)))
    return db, model


def test_names_and_rules_match_the_migrations(migrated: Connection) -> None:
    db, model = _names(migrated)
    assert len(db) > 50
    assert db == model, f"only in the database: {sorted(db - model)}; only in models.py: " + str(
        sorted(model - db)
    )


def test_enum_labels_match_the_migrations(migrated: Connection) -> None:
    db = {e["name"]: e["labels"] for e in inspect(migrated).get_enums()}
    model = {
        c.type.name: list(c.type.enums)
        for t in Base.metadata.tables.values()
        for c in t.columns
        if hasattr(c.type, "enums")
    }
    assert db == model


def test_every_write_of_a_report_carries_its_transaction(migrated: Connection) -> None:
    """changed_xid (the wall's "what changed since"): the insert's default, else the trigger."""

    migrated.rollback()  # the comparisons above leave a transaction open

    def write(statement: str) -> tuple[str, str]:
        with migrated.begin():
            xid = migrated.exec_driver_sql("SELECT pg_current_xact_id()::text").scalar_one()
            stamp = migrated.exec_driver_sql(statement + " RETURNING changed_xid::text")
            return xid, stamp.scalar_one()

    insert = "INSERT INTO report (category, source, status, generated{}) VALUES ('x', 'cli', "
    xid, stamp = write(insert.format("") + "'submitted', false)")
    assert stamp == xid  # by the column's default: the trigger is skipped
    xid, stamp = write(insert.format(", changed_xid") + "'submitted', false, '1')")
    assert stamp == xid  # a value named by the writer is not trusted
    xid, stamp = write(
        "UPDATE report SET status = 'registered' "
        "WHERE id = (SELECT min(id) FROM report WHERE category = 'x')"
    )
    assert stamp == xid
