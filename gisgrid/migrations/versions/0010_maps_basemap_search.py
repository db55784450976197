"""maps as people use them: basemap features, trigram search indexes, a change stamp on reports

Revision ID: 0010_maps_basemap_search
Revises: 0009_group_leader_fk
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0010_maps_basemap_search"
down_revision = "0009_group_leader_fk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # What the service draws its own basemap from, besides the roads and the units it already
    # holds: water, waterways, green areas, buildings, roads for the picture and place names,
    # from an OpenStreetMap extract (`gisgrid basemap import`).
    op.create_table(
        "basemap_feature",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        # water | waterway | green | building | road | place
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("class", sa.String(length=40), nullable=True),  # highway=*, place=*, ...
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("generated", sa.Boolean(), nullable=False, server_default=sa.false()),
        # GeoAlchemy2 adds the spatial index (idx_basemap_feature_geom), as for the other tables.
        sa.Column("geom", Geometry("GEOMETRY", srid=4326), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code"], ["admin_unit.code"], name="fk_basemap_feature_county_code_admin_unit"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_basemap_feature"),
    )
    op.create_index("ix_basemap_feature_county_kind", "basemap_feature", ["county_code", "kind"])

    # Search by part of a name or address (村, 网格, 门牌): trigram indexes serve ILIKE '%q%'.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column in (
        ("admin_unit", "name"),
        ("grid", "name"),
        ("household", "address"),
        ("household", "head_name"),
        ("basemap_feature", "name"),
    ):
        op.execute(
            f"CREATE INDEX ix_{table}_{column}_trgm ON {table} USING gin ({column} gin_trgm_ops)"
        )

    # The wall asks for what changed since its last look. Every insert or update of a report
    # stamps it with the writing transaction's id (xid8, never wraps), whichever path wrote it
    # (intake, a step, a redraw moving it, plain SQL). A reader's version is the oldest
    # transaction still running when it looked (pg_snapshot_xmin): every id below it has
    # finished, so "changed_xid >= version" next time misses nothing that commits late, with
    # no clock and no overlap window. updated_at stays the Open311 "updated" time.
    op.execute("ALTER TABLE report ADD COLUMN changed_xid xid8")
    op.execute("UPDATE report SET changed_xid = pg_current_xact_id()")
    op.execute(
        """
        CREATE FUNCTION report_stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.changed_xid := pg_current_xact_id();
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER report_changed BEFORE INSERT OR UPDATE ON report "
        "FOR EACH ROW EXECUTE FUNCTION report_stamp_change()"
    )
    op.execute("CREATE INDEX ix_report_changed_xid ON report (changed_xid)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_report_changed_xid")
    op.execute("DROP TRIGGER report_changed ON report")
    op.execute("DROP FUNCTION report_stamp_change()")
    op.drop_column("report", "changed_xid")
    for table, column in (
        ("admin_unit", "name"),
        ("grid", "name"),
        ("household", "address"),
        ("household", "head_name"),
    ):
        op.execute(f"DROP INDEX ix_{table}_{column}_trgm")
    # basemap_feature's own indexes go with the table.
    op.drop_table("basemap_feature")
