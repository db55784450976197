"""shared state of every worker (issue 19): rate-limit windows in one UNLOGGED table

Revision ID: 0012_shared_state
Revises: 0011_bulk
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_shared_state"
down_revision = "0011_bulk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # UNLOGGED: no WAL, so a hit costs no disk flush; a crash empties it, which only forgets the
    # last minute's counts. One row per (bucket, client, second), the window's 60 rows at most.
    op.create_table(
        "rate_hit",
        sa.Column("bucket", sa.String(32), nullable=False),
        sa.Column("client", sa.String(200), nullable=False),
        sa.Column("second", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "client", "second"),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("rate_hit")
