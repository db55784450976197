"""The closed loop over HTTP: a case file with its history, and the steps that move it."""

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from api.deps import ConnDep
from api.params import MAX_INT, ReportId
from api.security import PrincipalDep
from gisgrid.reports import cases

router = APIRouter(prefix="/api/v1/reports", tags=["cases"])


class StepIn(BaseModel):
    """One step on a report."""

    action: str = Field(description=f"one of: {', '.join(cases.STEPS)}")
    note: str | None = Field(None, description="what was done, or why (required for some)")
    staff_id: int | None = Field(
        None, ge=1, le=MAX_INT, description="reassign: the grid worker taking it over"
    )
    satisfied: bool | None = Field(None, description="evaluate: the call-back verdict (回访)")


@router.get("/{report_id}")
def case_file(conn: ConnDep, who: PrincipalDep, report_id: ReportId) -> dict[str, Any]:
    """A report in your scope with every step of its loop (intake, accept, feedback, close ...)."""
    return cases.case_file(conn, who, report_id)


@router.post("/{report_id}/steps")
def take_step(
    conn: ConnDep, who: PrincipalDep, report_id: ReportId, step: Annotated[StepIn, Body()]
) -> dict[str, Any]:
    """Take one step of the loop on a report in your scope (409 if its status does not allow it).

    accept (受理), resolve (处置反馈), close (核查结案), return, escalate (上报), reassign,
    cancel (不予立案) or evaluate (回访).
    """
    return cases.act(
        conn,
        who,
        report_id,
        step.action,
        note=step.note,
        staff_id=step.staff_id,
        satisfied=step.satisfied,
    )
