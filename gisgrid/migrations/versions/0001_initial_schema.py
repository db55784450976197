"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 14:21:03.738200
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An external database may not have PostGIS yet; the local one does.
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    # GiST indexes on geometry columns are created by GeoAlchemy2 with each table.
    op.create_table(
        "admin_unit",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("level", sa.Enum("county", "town", "village", name="unit_level"), nullable=False),
        sa.Column("parent_code", sa.String(length=12), nullable=True),
        sa.Column("urban_rural", sa.String(length=3), nullable=True),
        sa.Column("geom_generated", sa.Boolean(), nullable=False),
        sa.Column("geom_source", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["admin_unit.code"], name=op.f("fk_admin_unit_parent_code_admin_unit")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_admin_unit")),
    )
    op.create_index(op.f("ix_admin_unit_parent_code"), "admin_unit", ["parent_code"], unique=False)
    op.create_table(
        "dataset",
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("generator", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("notes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("county_code", name=op.f("pk_dataset")),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column(
            "role",
            sa.Enum("grid_chief", "full_time", "part_time", "household_leader", name="staff_role"),
            nullable=False,
        ),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("generated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
    )
    op.create_table(
        "generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["county_code"], ["admin_unit.code"], name=op.f("fk_generation_county_code_admin_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generation")),
        sa.UniqueConstraint("name", name=op.f("uq_generation_name")),
    )
    op.create_table(
        "patrol_track",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_patrol_track_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_track")),
    )
    op.create_index(op.f("ix_patrol_track_staff_id"), "patrol_track", ["staff_id"], unique=False)
    op.create_table(
        "grid",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("generation_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("geom_generated", sa.Boolean(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["generation_id"], ["generation.id"], name=op.f("fk_grid_generation_id_generation")
        ),
        sa.ForeignKeyConstraint(
            ["village_code"], ["admin_unit.code"], name=op.f("fk_grid_village_code_admin_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid")),
        sa.UniqueConstraint("generation_id", "code", name="uq_grid_generation_code"),
    )
    op.create_index(op.f("ix_grid_code"), "grid", ["code"], unique=False)
    op.create_index(
        "ix_grid_current", "grid", ["code"], unique=False, postgresql_where="valid_to IS NULL"
    )
    op.create_index(op.f("ix_grid_generation_id"), "grid", ["generation_id"], unique=False)
    op.create_index(op.f("ix_grid_village_code"), "grid", ["village_code"], unique=False)
    op.create_table(
        "patrol_fix",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("t", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["track_id"], ["patrol_track.id"], name=op.f("fk_patrol_fix_track_id_patrol_track")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_fix")),
        sa.UniqueConstraint("track_id", "t", name="uq_patrol_fix_track_t"),
    )
    op.create_index(op.f("ix_patrol_fix_track_id"), "patrol_fix", ["track_id"], unique=False)
    op.create_table(
        "household_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("leader_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grid.id"], name=op.f("fk_household_group_grid_id_grid")
        ),
        sa.ForeignKeyConstraint(
            ["leader_id"], ["staff.id"], name="fk_household_group_leader_id_staff", use_alter=True
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_group")),
        sa.UniqueConstraint("code", name=op.f("uq_household_group_code")),
    )
    op.create_index(
        op.f("ix_household_group_grid_id"), "household_group", ["grid_id"], unique=False
    )
    op.create_table(
        "report",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "registered",
                "dispatched",
                "in_progress",
                "resolved",
                "closed",
                "cancelled",
                name="report_status",
            ),
            nullable=False,
        ),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column(
            "reported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("generated", sa.Boolean(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["staff.id"], name=op.f("fk_report_assignee_id_staff")
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["grid.id"], name=op.f("fk_report_grid_id_grid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
    )
    op.create_index(op.f("ix_report_assignee_id"), "report", ["assignee_id"], unique=False)
    op.create_index(op.f("ix_report_category"), "report", ["category"], unique=False)
    op.create_index(op.f("ix_report_grid_id"), "report", ["grid_id"], unique=False)
    op.create_index(op.f("ix_report_status"), "report", ["status"], unique=False)
    op.create_table(
        "staff_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("grid_chief", "full_time", "part_time", "household_leader", name="staff_role"),
            nullable=False,
        ),
        sa.Column(
            "valid_from",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grid.id"], name=op.f("fk_staff_assignment_grid_id_grid")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_assignment_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_assignment")),
    )
    op.create_index(
        op.f("ix_staff_assignment_grid_id"), "staff_assignment", ["grid_id"], unique=False
    )
    op.create_index(
        op.f("ix_staff_assignment_staff_id"), "staff_assignment", ["staff_id"], unique=False
    )
    op.create_table(
        "household",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("size", sa.SmallInteger(), nullable=False),
        sa.Column("care_tags", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("head_name", sa.String(length=50), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("id_number", sa.String(length=18), nullable=True),
        sa.Column("generated", sa.Boolean(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["grid.id"], name=op.f("fk_household_grid_id_grid")),
        sa.ForeignKeyConstraint(
            ["group_id"], ["household_group.id"], name=op.f("fk_household_group_id_household_group")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household")),
    )
    op.create_index(op.f("ix_household_grid_id"), "household", ["grid_id"], unique=False)
    op.create_index(op.f("ix_household_group_id"), "household", ["group_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_household_group_id"), table_name="household")
    op.drop_index(op.f("ix_household_grid_id"), table_name="household")
    op.drop_table("household")
    op.drop_index(op.f("ix_staff_assignment_staff_id"), table_name="staff_assignment")
    op.drop_index(op.f("ix_staff_assignment_grid_id"), table_name="staff_assignment")
    op.drop_table("staff_assignment")
    op.drop_index(op.f("ix_report_status"), table_name="report")
    op.drop_index(op.f("ix_report_grid_id"), table_name="report")
    op.drop_index(op.f("ix_report_category"), table_name="report")
    op.drop_index(op.f("ix_report_assignee_id"), table_name="report")
    op.drop_table("report")
    op.drop_index(op.f("ix_household_group_grid_id"), table_name="household_group")
    op.drop_table("household_group")
    op.drop_index(op.f("ix_patrol_fix_track_id"), table_name="patrol_fix")
    op.drop_table("patrol_fix")
    op.drop_index(op.f("ix_grid_village_code"), table_name="grid")
    op.drop_index(op.f("ix_grid_generation_id"), table_name="grid")
    op.drop_index("ix_grid_current", table_name="grid", postgresql_where="valid_to IS NULL")
    op.drop_index(op.f("ix_grid_code"), table_name="grid")
    op.drop_table("grid")
    op.drop_index(op.f("ix_patrol_track_staff_id"), table_name="patrol_track")
    op.drop_table("patrol_track")
    op.drop_table("generation")
    op.drop_table("staff")
    op.drop_table("dataset")
    op.drop_index(op.f("ix_admin_unit_parent_code"), table_name="admin_unit")
    op.drop_table("admin_unit")
