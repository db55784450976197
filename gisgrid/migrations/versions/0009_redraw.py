"""redraw: blocks cut per generation, draft plans with their blocks and grids

Revision ID: 0009_redraw
Revises: 0008_patrol_generated
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009_redraw"
down_revision = "0008_patrol_generated"
branch_labels = None
depends_on = None


def _multipolygon(spatial_index: bool) -> geoalchemy2.types.Geometry:
    return geoalchemy2.types.Geometry(
        geometry_type="MULTIPOLYGON",
        srid=4326,
        dimension=2,
        from_text="ST_GeomFromEWKT",
        name="geometry",
        spatial_index=spatial_index,
    )


def upgrade() -> None:
    op.create_table(
        "redraw_block_set",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "generation_id",
            sa.Integer(),
            sa.ForeignKey("generation.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("roads_version", sa.String(40), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint(
            "generation_id", "village_code", "roads_version", name="uq_redraw_block_set_key"
        ),
    )
    op.create_table(
        "redraw_block",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "set_id",
            sa.Integer(),
            sa.ForeignKey("redraw_block_set.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("perimeter_m", sa.Float(), nullable=False),
        sa.Column("grid_code", sa.String(15)),
        sa.Column("geom", _multipolygon(True), nullable=False),
        sa.UniqueConstraint("set_id", "seq", name="uq_redraw_block_set_seq"),
    )
    op.create_index("ix_redraw_block_set_id", "redraw_block", ["set_id"])
    op.create_table(
        "redraw_block_edge",
        sa.Column(
            "set_id",
            sa.Integer(),
            sa.ForeignKey("redraw_block_set.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("a", sa.Integer(), primary_key=True),
        sa.Column("b", sa.Integer(), primary_key=True),
        sa.Column("shared_m", sa.Float(), nullable=False),
        sa.Column("road_m", sa.Float(), nullable=False),
    )
    op.create_table(
        "redraw_plan",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("county_code", sa.String(12), nullable=False),
        sa.Column("unit_code", sa.String(12), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("band_min", sa.Integer(), nullable=False),
        sa.Column("band_max", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column(
            "generation_id",
            sa.Integer(),
            sa.ForeignKey("generation.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("account_id", sa.Integer()),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "published_generation_id",
            sa.Integer(),
            sa.ForeignKey("generation.id", ondelete="SET NULL"),
        ),
    )
    op.create_index("ix_redraw_plan_county_code", "redraw_plan", ["county_code"])
    op.create_table(
        "redraw_plan_block",
        sa.Column(
            "plan_id",
            sa.Integer(),
            sa.ForeignKey("redraw_plan.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "block_id",
            sa.BigInteger(),
            sa.ForeignKey("redraw_block.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("grid_code", sa.String(15), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("care_households", sa.Integer(), nullable=False),
        sa.Column("open_reports", sa.Integer(), nullable=False),
    )
    op.create_index("ix_redraw_plan_block_plan_grid", "redraw_plan_block", ["plan_id", "grid_code"])
    op.create_table(
        "redraw_plan_grid",
        sa.Column(
            "plan_id",
            sa.Integer(),
            sa.ForeignKey("redraw_plan.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("code", sa.String(15), primary_key=True),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("care_households", sa.Integer(), nullable=False),
        sa.Column("open_reports", sa.Integer(), nullable=False),
        sa.Column("blocks", sa.Integer(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("polsby_popper", sa.Float(), nullable=False),
        sa.Column("in_band", sa.Boolean(), nullable=False),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.Column("geom", _multipolygon(False), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "redraw_plan_grid",
        "redraw_plan_block",
        "redraw_plan",
        "redraw_block_edge",
        "redraw_block",
        "redraw_block_set",
    ):
        op.drop_table(table)
