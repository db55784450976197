"""field work: photos on reports, household visits, idempotent case steps

Grid workers act from phones on weak networks (issue 16): each queued action carries its own
Idempotency-Key, so a step, a visit or a photo sent twice is stored once.

Revision ID: 0009_field
Revises: 0008_patrol_generated
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009_field"
down_revision = "0008_patrol_generated"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per distinct upload (content-addressed by the SHA-256 of the bytes received);
    # the files live on disk under the state dir, never in the database.
    op.create_table(
        "photo",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("media_type", sa.String(32), nullable=False),  # as received
        sa.Column("bytes_in", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),  # of the served copy
        sa.Column("height", sa.Integer(), nullable=False),
        # From the photo's EXIF, when it had any: where and when it was taken.
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("taken_lon", sa.Float(), nullable=True),
        sa.Column("taken_lat", sa.Float(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column(
            "uploaded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "report_photo",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "report_id",
            sa.BigInteger(),
            sa.ForeignKey("report.id", ondelete="CASCADE", name="fk_report_photo_report_id"),
            nullable=False,
        ),
        sa.Column(
            "photo_id",
            sa.BigInteger(),
            sa.ForeignKey("photo.id", name="fk_report_photo_photo_id"),
            nullable=False,
        ),
        # report: with the report; before / after: the handler's, around the work (处置前/后).
        sa.Column("stage", sa.String(12), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("report_id", "photo_id", name="uq_report_photo_report_photo"),
        sa.CheckConstraint("stage IN ('report', 'before', 'after')", name="ck_report_photo_stage"),
    )
    op.create_index(
        "uq_report_photo_key",
        "report_photo",
        ["report_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    # 入户走访: a grid worker's visit to a household, with what it changed in the register.
    op.create_table(
        "household_visit",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "household_id",
            sa.BigInteger(),
            sa.ForeignKey("household.id", ondelete="CASCADE", name="fk_household_visit_household"),
            nullable=False,
        ),
        sa.Column(
            "grid_id",
            sa.Integer(),
            sa.ForeignKey("grid.id", name="fk_household_visit_grid_id"),
            nullable=True,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "photo_id",
            sa.BigInteger(),
            sa.ForeignKey("photo.id", name="fk_household_visit_photo_id"),
            nullable=True,
        ),
        sa.Column("changes", JSONB(), nullable=True),  # information updates: field -> new value
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),  # where the phone was, if it said
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(
            "kind IN ('routine', 'care', 'dispute', 'info_update')", name="ck_household_visit_kind"
        ),
    )
    op.create_index(
        "ix_household_visit_household_at", "household_visit", ["household_id", "visited_at"]
    )
    op.create_index("ix_household_visit_grid_at", "household_visit", ["grid_id", "visited_at"])
    op.create_index(
        "uq_household_visit_key",
        "household_visit",
        ["account_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    # A step sent twice (the answer was lost on the way back) is taken once.
    op.add_column("report_event", sa.Column("idempotency_key", sa.String(255), nullable=True))
    op.create_index(
        "uq_report_event_key",
        "report_event",
        ["report_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_report_event_key", table_name="report_event")
    op.drop_column("report_event", "idempotency_key")
    op.drop_table("household_visit")
    op.drop_table("report_photo")
    op.drop_table("photo")
