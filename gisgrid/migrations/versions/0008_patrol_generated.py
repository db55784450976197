"""patrol tracks say whether they are GENERATED (the demo county's patrol day), as other rows do

Revision ID: 0008_patrol_generated
Revises: 0007_cases
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_patrol_generated"
down_revision = "0007_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A track is labelled, not each fix: a fix belongs to exactly one track, and a flag on
    # hundreds of thousands of fixes would say the same thing again and again.
    op.add_column(
        "patrol_track",
        sa.Column("generated", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("patrol_track", "generated")
