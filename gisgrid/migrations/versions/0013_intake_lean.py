"""reports in, lighter on PostgreSQL (issue 18): changed_xid stamped by the insert's default

Revision ID: 0013_intake_lean
Revises: 0010_maps_basemap_search
"""

from alembic import op

revision = "0013_intake_lean"
down_revision = "0010_maps_basemap_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The insert stamps changed_xid by the column's default (the inserting transaction's id,
    # exact); the trigger runs only when the row does not carry this transaction's id already
    # (an update, or an insert that names another value), so a report in costs no plpgsql call.
    op.execute("ALTER TABLE report ALTER COLUMN changed_xid SET DEFAULT pg_current_xact_id()")
    op.execute("DROP TRIGGER report_changed ON report")
    op.execute(
        "CREATE TRIGGER report_changed BEFORE INSERT OR UPDATE ON report FOR EACH ROW "
        "WHEN (NEW.changed_xid IS DISTINCT FROM pg_current_xact_id()) "
        "EXECUTE FUNCTION report_stamp_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER report_changed ON report")
    op.execute(
        "CREATE TRIGGER report_changed BEFORE INSERT OR UPDATE ON report "
        "FOR EACH ROW EXECUTE FUNCTION report_stamp_change()"
    )
    op.execute("ALTER TABLE report ALTER COLUMN changed_xid DROP DEFAULT")
