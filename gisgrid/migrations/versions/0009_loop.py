"""the loop as centers are judged by it: departments, 三事分流, seven stages, outcomes, reopenings

Departments (职能部门) per county with the categories they own and their time limits; accounts
of department handlers bound to one; on each report its triage class (三事分流), its stage of the
seven (收集 ... 反馈) with that stage's time limit, the department it was whistled to (吹哨) with
the department's own clock, its closing code and how often it was reopened; on each step a
detail (department, class, closing code, reason).

Revision ID: 0009_loop
Revises: 0008_patrol_generated
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0009_loop"
down_revision = "0008_patrol_generated"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
# gisgrid.reports.taxonomy's triage classes when this migration was written.
TRIAGE_0009 = {
    **dict.fromkeys(("ZZ02", "ZZ07"), "private"),
    **dict.fromkeys(
        ("ZZ01", "ZZ08", "ZZ14", "BJ05", "BJ06", "SJ01", "SJ02", "SJ07", "SJ99"), "collective"
    ),
    **dict.fromkeys(
        (
            "ZZ03",
            "ZZ04",
            "ZZ05",
            "ZZ06",
            "ZZ09",
            "ZZ10",
            "ZZ11",
            "ZZ12",
            "ZZ13",
            "BJ01",
            "BJ02",
            "BJ03",
            "BJ04",
            "SJ03",
            "SJ04",
            "SJ05",
            "SJ06",
            "SJ08",
            "SJ09",
        ),
        "public",
    ),
}


def upgrade() -> None:
    op.create_table(
        "department",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "county_code",
            sa.String(12),
            sa.ForeignKey("admin_unit.code", name="fk_department_county_code_admin_unit"),
            nullable=False,
            index=True,
        ),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        # Report categories (service codes) this department owns.
        sa.Column("categories", ARRAY(sa.String(40)), nullable=False, server_default="{}"),
        # 报到: accept within this many working hours of being whistled; 限时办理反馈: feed back
        # within this many working hours of being whistled.
        sa.Column("response_hours", sa.SmallInteger(), nullable=False),
        sa.Column("feedback_hours", sa.SmallInteger(), nullable=False),
        sa.Column("generated", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("county_code", "code", name="uq_department_county_code"),
    )
    op.add_column(
        "account",
        sa.Column(
            "department_id",
            sa.Integer(),
            sa.ForeignKey(
                "department.id", ondelete="SET NULL", name="fk_account_department_id_department"
            ),
            nullable=True,
        ),
    )
    cols: list[sa.Column] = [
        sa.Column("triage", sa.String(12), nullable=True),
        sa.Column("triage_reason", sa.Text(), nullable=True),
        sa.Column("stage", sa.String(12), nullable=True),
        sa.Column("stage_due_at", TZ, nullable=True),
        sa.Column(
            "department_id",
            sa.Integer(),
            sa.ForeignKey(
                "department.id", ondelete="SET NULL", name="fk_report_department_id_department"
            ),
            nullable=True,
        ),
        sa.Column("dept_sent_at", TZ, nullable=True),
        sa.Column("dept_respond_by", TZ, nullable=True),
        sa.Column("dept_accepted_at", TZ, nullable=True),
        sa.Column("dept_due_at", TZ, nullable=True),
        sa.Column("dept_resolved_at", TZ, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("outcome_reason", sa.String(16), nullable=True),
        sa.Column("reopens", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column(
            "group_id",
            sa.Integer(),
            sa.ForeignKey(
                "household_group.id", ondelete="SET NULL", name="fk_report_group_id_household_group"
            ),
            nullable=True,
        ),
    ]
    for col in cols:
        op.add_column("report", col)
    op.create_index("ix_report_department_id", "report", ["department_id"])
    op.create_index("ix_report_due_at", "report", ["due_at"])
    op.add_column("report_event", sa.Column("detail", JSONB(), nullable=True))
    # Reports from before are classed by their category's default (the taxonomy as of this
    # migration, copied so the migration does not change when the code does).
    op.execute(
        "UPDATE report r SET triage = t.triage FROM (VALUES "
        + ", ".join(f"('{code}', '{triage}')" for code, triage in TRIAGE_0009.items())
        + ") AS t(category, triage) WHERE t.category = r.category"
    )
    # Reports from before: their stage follows from their status; closed ones were resolved as
    # far as anyone recorded (the old loop had no closing codes), so they keep no code.
    op.execute(
        """
        UPDATE report SET stage = CASE status::text
            WHEN 'submitted' THEN 'collected'
            WHEN 'registered' THEN 'registered'
            WHEN 'dispatched' THEN CASE WHEN escalations > 0 THEN 'escalated' ELSE 'registered' END
            WHEN 'in_progress' THEN 'handled'
            WHEN 'resolved' THEN 'fed_back'
            WHEN 'closed' THEN 'fed_back'
            ELSE NULL END
        """
    )


def downgrade() -> None:
    op.drop_column("report_event", "detail")
    op.drop_index("ix_report_due_at", table_name="report")
    op.drop_index("ix_report_department_id", table_name="report")
    for name in (
        "group_id",
        "reopens",
        "outcome_reason",
        "outcome",
        "dept_resolved_at",
        "dept_due_at",
        "dept_accepted_at",
        "dept_respond_by",
        "dept_sent_at",
        "department_id",
        "stage_due_at",
        "stage",
        "triage_reason",
        "triage",
    ):
        op.drop_column("report", name)
    op.drop_column("account", "department_id")
    op.drop_table("department")
