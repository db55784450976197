"""reports in: Open311 keys, idempotent intake, edge candidates, duplicates

Revision ID: 0002_reports
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_reports"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        # Only the SHA-256 of the key is stored; the key itself is printed once.
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("name", name=op.f("uq_api_key_name")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    add: list[sa.Column] = [
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("media_url", sa.Text(), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("reporter", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("input_point", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("grid_candidates", postgresql.ARRAY(sa.String(length=15)), nullable=True),
        sa.Column("fallback", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("handler_level", sa.String(length=12), nullable=True),
        sa.Column("village_code", sa.String(length=12), nullable=True),
        sa.Column("duplicate_of", sa.BigInteger(), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=True
        ),
    ]
    for col in add:
        op.add_column("report", col)
    op.create_foreign_key(
        op.f("fk_report_api_key_id_api_key"), "report", "api_key", ["api_key_id"], ["id"]
    )
    op.create_foreign_key(
        op.f("fk_report_village_code_admin_unit"),
        "report",
        "admin_unit",
        ["village_code"],
        ["code"],
    )
    op.create_foreign_key(
        op.f("fk_report_duplicate_of_report"), "report", "report", ["duplicate_of"], ["id"]
    )
    # A resubmission with the same key from the same client must find the first request.
    op.create_index(
        "uq_report_idempotency",
        "report",
        ["api_key_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_index(op.f("ix_report_duplicate_of"), "report", ["duplicate_of"], unique=False)
    op.create_index("ix_report_category_reported_at", "report", ["category", "reported_at"])
    op.create_index(op.f("ix_report_reported_at"), "report", ["reported_at"], unique=False)
    # address_string is resolved against household addresses.
    op.create_index(op.f("ix_household_address"), "household", ["address"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_household_address"), table_name="household")
    op.drop_index(op.f("ix_report_reported_at"), table_name="report")
    op.drop_index("ix_report_category_reported_at", table_name="report")
    op.drop_index(op.f("ix_report_duplicate_of"), table_name="report")
    op.drop_index("uq_report_idempotency", table_name="report")
    for fk in (
        "fk_report_duplicate_of_report",
        "fk_report_village_code_admin_unit",
        "fk_report_api_key_id_api_key",
    ):
        op.drop_constraint(op.f(fk), "report", type_="foreignkey")
    for col in (
        "updated_at",
        "duplicate_of",
        "village_code",
        "handler_level",
        "fallback",
        "grid_candidates",
        "input_point",
        "reporter",
        "attributes",
        "media_url",
        "address",
        "request_hash",
        "idempotency_key",
        "api_key_id",
    ):
        op.drop_column("report", col)
    op.drop_table("api_key")
