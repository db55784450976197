"""Reports and their cases: intake, Open311 fields, the closed loop, time limits, scores, keys.

Other rooms and the API use the names below; the modules behind them are this room's own.
"""

from gisgrid.reports.cases import STEPS
from gisgrid.reports.departments import DepartmentSpec, add_departments, departments_of
from gisgrid.reports.intake import (
    MAX_DESCRIPTION,
    OUTCOME_ERRORS,
    AuditEntry,
    IntakeConfig,
    ReportIn,
    file_report,
    submit_report,
)
from gisgrid.reports.outcomes import CANCEL_REASONS, OUTCOMES
from gisgrid.reports.scores import (
    closure_scores,
    code_prefix,
    measures,
    period,
    rows_by,
    unit_frame,
)
from gisgrid.reports.taxonomy import (
    ALARM_CODES,
    CATEGORIES,
    WORKING_DAY_HOURS,
    Category,
    Family,
    category,
)
from gisgrid.reports.working_calendar import Calendars, WorkingCalendar

__all__ = [
    "ALARM_CODES",
    "CANCEL_REASONS",
    "OUTCOMES",
    "CATEGORIES",
    "STEPS",
    "Calendars",
    "DepartmentSpec",
    "Family",
    "add_departments",
    "category",
    "departments_of",
    "WORKING_DAY_HOURS",
    "Category",
    "WorkingCalendar",
    "closure_scores",
    "measures",
    "rows_by",
    "unit_frame",
    "code_prefix",
    "period",
    "MAX_DESCRIPTION",
    "OUTCOME_ERRORS",
    "AuditEntry",
    "IntakeConfig",
    "ReportIn",
    "file_report",
    "submit_report",
]
