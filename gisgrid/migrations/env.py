"""Alembic environment: runs migrations against the URL gisgrid.db.migrate passes in."""

from alembic import context
from sqlalchemy import create_engine, pool

from gisgrid.models import Base

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Leave PostGIS's and pgRouting's own tables out of autogenerate."""
    return not (type_ == "table" and reflected and compare_to is None)


def run_migrations_online() -> None:
    """Run migrations in one transaction on a fresh connection."""
    url = config.get_main_option("sqlalchemy.url")
    assert url, "gisgrid.db.migrate sets sqlalchemy.url"
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
