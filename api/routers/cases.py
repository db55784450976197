"""The closed loop over HTTP: a case file with its history, and the steps that move it."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, Field

from api.deps import ConnDep, ReportConfigDep
from api.params import MAX_INT, IdempotencyKey, ReportId
from api.security import PrincipalDep, client_address
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
    department: str | None = Field(
        None, description="escalate: the department to whistle to (吹哨), by code, e.g. ZJ"
    )
    triage: str | None = Field(
        None,
        description="register/reclass: private (自家事), collective (大家事) or public (公家事); "
        "a class other than the category's needs a note saying why",
    )
    outcome: str | None = Field(
        None,
        description="close (or resolve, as the handler's claim): resolved, partly_resolved, "
        "not_solvable, unreachable",
    )
    outcome_reason: str | None = Field(
        None, description="not_solvable: policy, petition (转信访) or court"
    )
    reason: str | None = Field(
        None, description="cancel: false_report, duplicate, not_in_remit or other"
    )
    seen: dt.datetime | None = Field(
        None,
        description="when you last saw the case: a step someone else took since is a 409",
    )


@router.get("/{report_id}")
def case_file(
    conn: ConnDep, who: PrincipalDep, request: Request, report_id: ReportId
) -> dict[str, Any]:
    """A report in your scope with every step of its loop (intake, accept, feedback, close ...),
    its photos and the reporter's call-back number (reading it is audited)."""
    return cases.case_file(conn, who, report_id, client=client_address(request))


@router.post("/{report_id}/steps")
def take_step(
    conn: ConnDep,
    who: PrincipalDep,
    config: ReportConfigDep,
    response: Response,
    report_id: ReportId,
    step: Annotated[StepIn, Body()],
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Take one step of the loop on a report in your scope (409 if its status does not allow it).

    check (核查), register (立案, with its class), accept (受理/报到), deliberate (村民议事),
    resolve (处置反馈), close (核查结案, with a closing code), return (核查退回), escalate (上报;
    with a department: 吹哨), reassign (改派), reclass (改类), supervise (督办), cancel (不予立案)
    or evaluate (回访; unsatisfied reopens it).
    """
    # StepIn's fields are CaseAction's own, by name.
    asked = cases.CaseAction(**step.model_dump(), idempotency_key=idempotency_key)
    done = cases.act(conn, who, report_id, asked, config=config)
    response.headers["Idempotent-Replayed"] = "true" if done["replayed"] else "false"
    return done
