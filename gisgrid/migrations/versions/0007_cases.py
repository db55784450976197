"""cases: every step of a report's closed loop, who took it and what they wrote

Merges the feature heads (reports, boundaries, patrols, auth): the case history needs reports
and accounts.

Revision ID: 0007_cases
Revises: 0002_reports, 0003_boundaries, 0004_patrols, 0006_auth
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_cases"
down_revision = ("0002_reports", "0003_boundaries", "0004_patrols", "0006_auth")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_event",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "report_id",
            sa.BigInteger(),
            sa.ForeignKey("report.id", ondelete="CASCADE", name="fk_report_event_report_id"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        # Who acted: an account (its name kept even if the account goes).
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(64), nullable=False),
        # Where the case went: a person, or a level (village, town, county department).
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("handler_level", sa.String(12), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
    )
    op.create_index("ix_report_event_report_at", "report_event", ["report_id", "at"])
    # The residents' verdict on a closed case (回访), and how often it went up a level.
    op.add_column("report", sa.Column("satisfied", sa.Boolean(), nullable=True))
    op.add_column(
        "report",
        sa.Column("escalations", sa.SmallInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("report", "escalations")
    op.drop_column("report", "satisfied")
    op.drop_index("ix_report_event_report_at", table_name="report_event")
    op.drop_table("report_event")
