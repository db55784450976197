"""failed sign-ins per username, for a backoff that holds whatever address the guesses come from

Revision ID: 0010_signin_backoff
Revises: 0008_patrol_generated
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_signin_backoff"
down_revision = "0008_patrol_generated"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Keyed by the username as typed, not the account: unknown names back off the same way, so
    # the answers do not tell which accounts exist. A success deletes the row.
    op.create_table(
        "signin_failure",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("signin_failure")
