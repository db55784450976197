"""patrols: roads, key places, fixes keyed by (staff, t) for exactly-once offline batches

Revision ID: 0004_patrols
Revises: 0001
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision = "0004_patrols"
down_revision = "0001"
branch_labels = None
depends_on = None


def _geom(kind: str) -> geoalchemy2.types.Geometry:
    return geoalchemy2.types.Geometry(
        geometry_type=kind, srid=4326, dimension=2, from_text="ST_GeomFromEWKT", name="geometry"
    )


def upgrade() -> None:
    # Suggested routes run on pgRouting; the local cluster has it, an external one may not yet.
    op.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")

    # A resubmitted offline batch must be accepted exactly once: one fix per staff and instant.
    op.add_column("patrol_fix", sa.Column("staff_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE patrol_fix f SET staff_id = t.staff_id FROM patrol_track t WHERE t.id = f.track_id"
    )
    op.alter_column("patrol_fix", "staff_id", nullable=False)
    op.create_foreign_key(
        "fk_patrol_fix_staff_id_staff", "patrol_fix", "staff", ["staff_id"], ["id"]
    )
    op.create_unique_constraint("uq_patrol_fix_staff_t", "patrol_fix", ["staff_id", "t"])
    op.create_index("ix_patrol_fix_t", "patrol_fix", ["t"])

    op.add_column("patrol_track", sa.Column("grid_id", sa.Integer(), nullable=True))
    op.add_column("patrol_track", sa.Column("day", sa.Date(), nullable=True))
    op.create_foreign_key(
        "fk_patrol_track_grid_id_grid", "patrol_track", "grid", ["grid_id"], ["id"]
    )
    op.create_unique_constraint("uq_patrol_track_staff_day", "patrol_track", ["staff_id", "day"])

    op.create_table(
        "road_segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("generated", sa.Boolean(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        # pgRouting topology: node ids at both ends (shared where roads meet).
        sa.Column("node_from", sa.BigInteger(), nullable=False),
        sa.Column("node_to", sa.BigInteger(), nullable=False),
        sa.Column("geom", _geom("LINESTRING"), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code"], ["admin_unit.code"], name="fk_road_segment_county_code_admin_unit"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_road_segment"),
    )
    op.create_index("ix_road_segment_county_code", "road_segment", ["county_code"])

    op.create_table(
        "key_place",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("radius_m", sa.Float(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("generated", sa.Boolean(), nullable=False),
        sa.Column("geom", _geom("POINT"), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code"], ["admin_unit.code"], name="fk_key_place_county_code_admin_unit"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_key_place"),
    )
    op.create_index("ix_key_place_county_code", "key_place", ["county_code"])


def downgrade() -> None:
    op.drop_table("key_place")
    op.drop_table("road_segment")
    op.drop_constraint("uq_patrol_track_staff_day", "patrol_track")
    op.drop_constraint("fk_patrol_track_grid_id_grid", "patrol_track")
    op.drop_column("patrol_track", "day")
    op.drop_column("patrol_track", "grid_id")
    op.drop_index("ix_patrol_fix_t", "patrol_fix")
    op.drop_constraint("uq_patrol_fix_staff_t", "patrol_fix")
    op.drop_constraint("fk_patrol_fix_staff_id_staff", "patrol_fix")
    op.drop_column("patrol_fix", "staff_id")
