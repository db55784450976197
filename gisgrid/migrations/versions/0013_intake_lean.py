"""reports in, lighter on PostgreSQL (issue 18): changed_xid by default, open cases by index

Revision ID: 0013_intake_lean
Revises: 0010_maps_basemap_search
"""

from alembic import op

revision = "0013_intake_lean"
down_revision = "0010_maps_basemap_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A worker's open cases by the index alone: "fewest open cases" (gisgrid_assignee, every
    # report in) and the wall's reassign list read assignee_id AND status; on assignee_id alone
    # each count visited every case the worker ever had (closed ones pile up for years) to keep
    # the open few. The same one index per report written; still the FK's index for staff.
    op.drop_index("ix_report_assignee_id", table_name="report")
    op.create_index("ix_report_assignee_status", "report", ["assignee_id", "status"])
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
    op.drop_index("ix_report_assignee_status", table_name="report")
    op.create_index("ix_report_assignee_id", "report", ["assignee_id"])
