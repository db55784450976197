"""household groups point at their leader for real: the key 0001 declared but never created

0001_initial_schema declared fk_household_group_leader_id_staff with use_alter=True inside
op.create_table, which Alembic leaves out (use_alter constraints are meant to be added by a
later ALTER it never emits), so the key was never there. The index keeps the check cheap when
staff are deleted (a demo county unload deletes thousands).

Revision ID: 0009_group_leader_fk
Revises: 0008_patrol_generated
"""

from alembic import op

revision = "0009_group_leader_fk"
down_revision = "0008_patrol_generated"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_household_group_leader_id", "household_group", ["leader_id"])
    op.create_foreign_key(
        "fk_household_group_leader_id_staff", "household_group", "staff", ["leader_id"], ["id"]
    )


def downgrade() -> None:
    op.drop_constraint("fk_household_group_leader_id_staff", "household_group", type_="foreignkey")
    op.drop_index("ix_household_group_leader_id", table_name="household_group")
