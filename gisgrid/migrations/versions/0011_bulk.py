"""bulk jobs (issue 19): narrow tables the Dask jobs COPY their results into

Revision ID: 0011_bulk
Revises: 0008_patrol_generated
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011_bulk"
down_revision = "0008_patrol_generated"
branch_labels = None
depends_on = None


# Every result row carries the county it belongs to, first in its key: the partition it was
# computed in, and the distribution column of the sharded plan (docs/scale.md).


def upgrade() -> None:
    op.create_table(
        "bulk_job",
        sa.Column("id", sa.Integer(), primary_key=True),
        # assign_households | assign_reports | coverage | scores
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("params", JSONB(), nullable=False, server_default="{}"),
        sa.Column("engine", sa.String(100), nullable=False),  # local | dask: its address, workers
        sa.Column("status", sa.String(16), nullable=False, server_default="running"),
        sa.Column("partitions", sa.Integer()),
        sa.Column("rows", sa.BigInteger()),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("error", sa.Text()),
    )
    # One row per point: no index but the key, so COPY of 10^8 rows stays a straight append;
    # applying a job updates only the rows whose grid changed (never all of them in place).
    op.create_table(
        "bulk_assignment",
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column(
            "job_id", sa.Integer(), sa.ForeignKey("bulk_job.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("point_id", sa.BigInteger(), nullable=False),
        sa.Column("grid_id", sa.Integer()),  # NULL: in no current grid
        sa.PrimaryKeyConstraint("county_code", "job_id", "point_id"),
    )
    op.create_table(
        "bulk_coverage",
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column(
            "job_id", sa.Integer(), sa.ForeignKey("bulk_job.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("unit_code", sa.String(15), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("road_length_m", sa.Float(), nullable=False),
        sa.Column("road_covered_m", sa.Float(), nullable=False),
        sa.Column("segments_total", sa.Integer(), nullable=False),
        sa.Column("segments_covered", sa.Integer(), nullable=False),
        sa.Column("households_total", sa.Integer(), nullable=False),
        sa.Column("households_visited", sa.Integer(), nullable=False),
        sa.Column("key_places_total", sa.Integer(), nullable=False),
        sa.Column("key_places_visited", sa.Integer(), nullable=False),
        sa.Column("fixes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "job_id", "unit_code", "period_start"),
    )
    op.create_table(
        "bulk_unit_score",
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column(
            "job_id", sa.Integer(), sa.ForeignKey("bulk_job.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("unit_code", sa.String(15), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        *[
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "due",
                "closed",
                "on_time",
                "closed_late",
                "solved",
                "overdue",
                "evaluated",
                "satisfied",
                "reopened",
                "escalations",
                "whistled",
            )
        ],
        *[
            sa.Column(name, sa.Float())
            for name in (
                "closure_rate",
                "on_time_rate",
                "solved_rate",
                "satisfaction",
                "reopen_rate",
                "mean_hours",
                "responded_on_time_rate",
                "fed_back_on_time_rate",
            )
        ],
        sa.PrimaryKeyConstraint("county_code", "job_id", "unit_code"),
    )


def downgrade() -> None:
    op.drop_table("bulk_unit_score")
    op.drop_table("bulk_coverage")
    op.drop_table("bulk_assignment")
    op.drop_table("bulk_job")
