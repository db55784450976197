"""boundaries: lineage between grid generations, subdivided copies, import log, unit history

Revision ID: 0003_boundaries
Revises: 0001
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_boundaries"
down_revision = "0001"
branch_labels = None
depends_on = None

# Subdivided copies are kept by triggers so every writer (demo COPY, importer, manual SQL) keeps
# them current without knowing they exist; 64 vertices per piece is mapit's choice too.
_TRIGGERS = """
CREATE FUNCTION grid_part_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM grid_part WHERE grid_id = NEW.id;
  INSERT INTO grid_part (grid_id, geom)
    SELECT NEW.id, ST_Subdivide(NEW.geom, 64) WHERE NEW.geom IS NOT NULL;
  RETURN NULL;
END $$;
CREATE TRIGGER grid_part_sync AFTER INSERT OR UPDATE OF geom ON grid
  FOR EACH ROW EXECUTE FUNCTION grid_part_sync();

CREATE FUNCTION admin_unit_part_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM admin_unit_part WHERE code = NEW.code;
  INSERT INTO admin_unit_part (code, geom)
    SELECT NEW.code, ST_Subdivide(NEW.geom, 64) WHERE NEW.geom IS NOT NULL;
  RETURN NULL;
END $$;
CREATE TRIGGER admin_unit_part_sync AFTER INSERT OR UPDATE OF geom ON admin_unit
  FOR EACH ROW EXECUTE FUNCTION admin_unit_part_sync();
"""


def _geom(kind: str) -> geoalchemy2.types.Geometry:
    return geoalchemy2.types.Geometry(
        geometry_type=kind, srid=4326, dimension=2, from_text="ST_GeomFromEWKT", name="geometry"
    )


def upgrade() -> None:
    op.create_table(
        "grid_part",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "grid_id", sa.Integer(), sa.ForeignKey("grid.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("geom", _geom("POLYGON"), nullable=False),
    )
    op.create_index("ix_grid_part_grid_id", "grid_part", ["grid_id"])
    op.create_table(
        "admin_unit_part",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "code",
            sa.String(12),
            sa.ForeignKey("admin_unit.code", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("geom", _geom("POLYGON"), nullable=False),
    )
    op.create_index("ix_admin_unit_part_code", "admin_unit_part", ["code"])
    op.create_table(
        "grid_lineage",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "to_generation_id",
            sa.Integer(),
            sa.ForeignKey("generation.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("old_grid_id", sa.Integer(), sa.ForeignKey("grid.id", ondelete="CASCADE")),
        sa.Column("new_grid_id", sa.Integer(), sa.ForeignKey("grid.id", ondelete="CASCADE")),
        sa.Column("old_code", sa.String(15)),
        sa.Column("new_code", sa.String(15)),
        sa.Column("relation", sa.String(16), nullable=False),
        sa.Column("overlap_m2", sa.Float()),
        sa.Column("share_of_old", sa.Float()),
        sa.Column("share_of_new", sa.Float()),
    )
    op.create_index("ix_grid_lineage_to_generation_id", "grid_lineage", ["to_generation_id"])
    op.create_index("ix_grid_lineage_old_grid_id", "grid_lineage", ["old_grid_id"])
    op.create_index("ix_grid_lineage_new_grid_id", "grid_lineage", ["new_grid_id"])
    op.create_table(
        "boundary_import",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("county_code", sa.String(12), nullable=False),
        sa.Column(
            "generation_id", sa.Integer(), sa.ForeignKey("generation.id", ondelete="SET NULL")
        ),
        sa.Column("source_name", sa.Text()),
        sa.Column("sha256", sa.String(64)),
        sa.Column("crs", sa.Text()),
        sa.Column("features", sa.Integer(), nullable=False),
        sa.Column(
            "committed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    )
    op.create_table(
        "admin_unit_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(12), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("parent_code", sa.String(12)),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "import_id", sa.Integer(), sa.ForeignKey("boundary_import.id", ondelete="CASCADE")
        ),
        sa.Column("geom", _geom("MULTIPOLYGON")),
    )
    op.execute(_TRIGGERS)
    # Backfill what is already loaded (the triggers only see new writes).
    op.execute(
        "INSERT INTO grid_part (grid_id, geom) SELECT id, ST_Subdivide(geom, 64) FROM grid "
        "WHERE geom IS NOT NULL"
    )
    op.execute(
        "INSERT INTO admin_unit_part (code, geom) SELECT code, ST_Subdivide(geom, 64) "
        "FROM admin_unit WHERE geom IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS grid_part_sync ON grid")
    op.execute("DROP TRIGGER IF EXISTS admin_unit_part_sync ON admin_unit")
    op.execute("DROP FUNCTION IF EXISTS grid_part_sync()")
    op.execute("DROP FUNCTION IF EXISTS admin_unit_part_sync()")
    for table in (
        "admin_unit_history",
        "boundary_import",
        "grid_lineage",
        "admin_unit_part",
        "grid_part",
    ):
        op.drop_table(table)
