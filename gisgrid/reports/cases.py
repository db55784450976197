"""The closed loop of a report (事件闭环): accept, feed back, verify and close, escalate, evaluate.

A dispatched report's clock is already running (intake set `due_at` at dispatch); the steps
here move it through the city-management workflow (CJJ/T 106): the handler accepts it (受理)
and feeds back what was done (处置反馈); a center operator verifies it on site and closes it
(核查结案), or returns it; what a grid cannot solve goes up a level (上报: village, town, county
departments) without stopping the clock; reports that fail the check are cancelled (不予立案);
closed cases get the call-back verdict (回访). Every step is a row in `report_event`, written in
the same transaction as the status change, under a row lock so two people cannot both act on
the same state.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import CASE_HANDLERS, Principal, Role
from gisgrid.errors import Conflict, Forbidden, InvalidReport, NotFound
from gisgrid.reports import intake

FIELD = frozenset({Role.grid_worker, Role.grid_chief})
OPERATORS = frozenset({Role.village_operator, Role.town_operator, Role.county_operator, Role.admin})
HANDLERS = FIELD | OPERATORS | {Role.department_handler}
# Who handles a case at each level once it has gone up (上报): the next level's handlers.
NEXT_LEVEL = {"village": "town", "town": "county"}
MAX_NOTE = 2000


@dataclass(frozen=True)
class Step:
    """One kind of step: from which statuses, to which, who may take it, what it needs."""

    name: str
    label: str
    from_statuses: frozenset[str]
    to_status: str | None  # None: the status stays (escalate, reassign, evaluate)
    roles: frozenset[Role]
    needs_note: bool = False


STEPS = {
    s.name: s
    for s in (
        Step("accept", "受理", frozenset({"dispatched"}), "in_progress", HANDLERS),
        Step(
            "resolve",
            "处置反馈",
            frozenset({"dispatched", "in_progress"}),
            "resolved",
            HANDLERS,
            needs_note=True,
        ),
        Step("close", "核查结案", frozenset({"resolved"}), "closed", OPERATORS),
        Step(
            "return", "核查退回", frozenset({"resolved"}), "in_progress", OPERATORS, needs_note=True
        ),
        Step(
            "escalate",
            "上报",
            frozenset({"dispatched", "in_progress"}),
            None,
            HANDLERS,
            needs_note=True,
        ),
        Step("reassign", "改派", frozenset({"dispatched", "in_progress"}), None, OPERATORS),
        # 督办: the center chases a case that is late or close to its limit; the status and
        # clock stay, the handler sees it on the map and the note says what is expected.
        Step(
            "supervise",
            "督办",
            frozenset({"dispatched", "in_progress"}),
            None,
            OPERATORS,
            needs_note=True,
        ),
        Step(
            "cancel",
            "不予立案",
            frozenset({"submitted", "registered", "dispatched"}),
            "cancelled",
            OPERATORS,
            needs_note=True,
        ),
        Step("evaluate", "回访", frozenset({"closed"}), None, OPERATORS),
    )
}


def _locked(conn: Connection, report_id: int) -> Any:
    row = sql.execute(conn, "reports/lock_case", id=report_id).first()
    if row is None:
        raise NotFound(f"report {report_id} does not exist")
    return row


def _last_feedback_by(conn: Connection, report_id: int) -> int | None:
    return sql.scalar(conn, "reports/last_resolver", id=report_id)


def act(
    conn: Connection,
    who: Principal,
    report_id: int,
    action: str,
    *,
    note: str | None = None,
    staff_id: int | None = None,
    satisfied: bool | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Take one step on a report (in the caller's transaction); the report as it now stands."""
    step = STEPS.get(action)
    if step is None:
        raise InvalidReport(f"action={action!r} is not one of {', '.join(STEPS)}")
    note = (note or "").strip() or None
    if step.needs_note and not note:
        raise InvalidReport(f"{action} ({step.label}) needs a note saying what was done or why")
    if note and len(note) > MAX_NOTE:
        raise InvalidReport(f"note has {len(note)} characters; at most {MAX_NOTE}")
    who.require(step.roles, f"{action} ({step.label})")
    now = now or dt.datetime.now(dt.UTC)
    r = _locked(conn, report_id)
    if not r.grid_code or not who.covers(r.grid_code):
        raise Forbidden(
            f"report {report_id} is in grid {r.grid_code}, outside this account's scope"
        )
    if r.duplicate_of is not None:
        raise Conflict(
            f"report {report_id} is a duplicate of report {r.duplicate_of} and is handled with "
            f"it; act on report {r.duplicate_of}"
        )
    if r.status not in step.from_statuses:
        raise Conflict(
            f"report {report_id} is {r.status}; {action} ({step.label}) applies to a report "
            f"that is {' or '.join(sorted(step.from_statuses))}"
        )

    status, level, assignee = step.to_status or r.status, r.handler_level, r.assignee_id
    closes = escalates = rates = False  # what the step sets besides status and handler
    if action == "close":
        # 核查: verified by someone other than who fed back.
        if who.account_id is not None and _last_feedback_by(conn, report_id) == who.account_id:
            raise Forbidden(
                f"report {report_id} was fed back by this account; another operator verifies "
                "and closes it"
            )
        closes = True
    elif action == "cancel":
        closes = True
    elif action == "escalate":
        if level == "county":
            raise Conflict(
                f"report {report_id} is already with the county departments; supervise it "
                "(督办) rather than escalate"
            )
        # From a person (worker, chief) to the village committee, then the town, the county.
        level, assignee, status = NEXT_LEVEL.get(level or "", "village"), None, "dispatched"
        escalates = True
    elif action == "reassign":
        if staff_id is None:
            raise InvalidReport("reassign needs staff_id: the grid worker who takes it over")
        ok = sql.execute(conn, "reports/reassign_target", s=staff_id, v=r.village_code).first()
        if ok is None or not who.covers(ok.code):
            raise InvalidReport(f"staff_id={staff_id} is not a grid worker in this account's scope")
        if not ok.on_duty:
            raise InvalidReport(f"staff_id={staff_id} is off duty; choose someone on duty")
        assignee, level, status = staff_id, ok.role, "dispatched"
    elif action == "evaluate":
        if satisfied is None:
            raise InvalidReport("evaluate needs satisfied=true or false (the call-back verdict)")
        rates = True

    sql.execute(
        conn,
        "reports/update_case",
        status=status,
        level=level,
        assignee=assignee,
        now=now,
        satisfied=satisfied,
        closes=closes,
        escalates=escalates,
        rates=rates,
        id=report_id,
    )
    sql.execute(
        conn,
        "reports/insert_case_event",
        id=report_id,
        now=now,
        action=action,
        from_status=r.status,
        to_status=status,
        account=who.account_id,
        username=who.username,
        assignee=assignee,
        level=level,
        note=note,
        satisfied=satisfied,
    )
    return intake.read_report(conn, report_id) | {"history": history(conn, report_id)}


INTAKE_LABELS = {"dispatch": "派遣", "register": "登记"}


def case_file(conn: Connection, who: Principal, report_id: int) -> dict[str, Any]:
    """A report with its whole loop, for a case handler whose scope covers its grid."""
    who.require(CASE_HANDLERS, "reading a case file")
    found = intake.read_report(conn, report_id)
    grid = found["grid"]["code"] if found["grid"] else ""
    who.require_scope(grid or "(no grid)", f"report {report_id}")
    return found | {"history": history(conn, report_id)}


def history(conn: Connection, report_id: int) -> list[dict[str, Any]]:
    """Every step of a report, oldest first, starting with its intake (from the report row)."""
    first = sql.execute(conn, "reports/intake_step", id=report_id).first()
    if first is None:
        raise NotFound(f"report {report_id} does not exist")
    kind = "dispatch" if first.dispatched_at is not None else "register"
    steps: list[dict[str, Any]] = [
        {
            "at": first.reported_at,
            "action": kind,
            "label": INTAKE_LABELS[kind],
            "from_status": None,
            "to_status": "dispatched" if kind == "dispatch" else "registered",
            "username": "intake",
            "assignee_id": None,
            "handler_level": None,
            "note": f"duplicate of report {first.duplicate_of}" if first.duplicate_of else None,
            "satisfied": None,
        }
    ]
    rows = sql.execute(conn, "reports/case_events", id=report_id).mappings()
    return steps + [dict(r) | {"label": STEPS[r["action"]].label} for r in rows]


# What a resident reads for each status (the Open311 status stays open/closed).
STATUS_LABELS = {
    "submitted": "已提交 · received",
    "registered": "已登记 · registered",
    "dispatched": "已派遣 · sent to the grid",
    "in_progress": "处理中 · being handled",
    "resolved": "已处置，待核查 · handled, being checked",
    "closed": "已办结 · closed",
    "cancelled": "不予立案 · not taken up",
}
# Notes written for the reporter (feedback, the reason for a cancel); the rest stay inside.
PUBLIC_NOTES = frozenset({"resolve", "cancel"})


def progress(conn: Connection, report_id: int) -> dict[str, Any]:
    """A report as its reporter follows it: status, grid, handler level, time limit, each step.

    Public like Open311's request: no exact point (the grid's), no names, no operators' notes.
    A duplicate follows its original's loop.
    """
    found = intake.read_report(conn, report_id)
    followed = found["duplicate_of"] or report_id
    own = history(conn, report_id)
    case_steps = history(conn, followed) if followed != report_id else own
    # The case's steps (its original's, for a supporter), and this reporter's own verdict: the
    # original reporter's verdict is theirs, not a supporter's to read.
    taken = [s for s in case_steps if s["username"] != REPORTER]
    taken += [s for s in own if s["username"] == REPORTER]
    steps = [
        {
            "at": s["at"],
            "action": s["action"],
            "label": s["label"],
            # The reporter's own words on their verdict are theirs to see.
            "note": s["note"] if s["action"] in PUBLIC_NOTES or s["username"] == REPORTER else None,
            "by_reporter": s["username"] == REPORTER,
            "satisfied": s["satisfied"],
        }
        for s in sorted(taken, key=lambda s: s["at"])
    ]
    # A supporter's clock and handler are its original's: that is the case being worked.
    case = intake.read_report(conn, followed) if followed != report_id else found
    status = found["effective_status"]
    return {
        "id": found["id"],
        "service_code": found["service_code"],
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "reported_at": found["reported_at"],
        "due_at": case["due_at"],
        "closed_at": case["closed_at"],
        "grid": found["grid"],
        "village": found["village"],
        "handler_level": case["handler"]["level"],
        "public_point": found["public_point"],
        "duplicate_of": found["duplicate_of"],
        "supporters": found["supporters"],
        "feedback": found["feedback"],
        "rated_by_reporter": any(s["by_reporter"] for s in steps),
        "steps": steps,
    }


RESIDENT_FORM_KEY = "resident-web"  # the residents' web form's own API key (api/routers/residents)
REPORTER = "reporter"  # report_event.username of a step the reporter took


def reporter_verdict(
    conn: Connection,
    report_id: int,
    receipt: str,
    satisfied: bool,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The reporter's own verdict on a closed report (群众评价), once, proven by the receipt.

    The receipt is the Idempotency-Key the residents' form made for the report: only the phone
    that filed it has it, so no account is needed and nobody else can answer for the reporter.
    """
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise InvalidReport(f"note has {len(note)} characters; at most {MAX_NOTE}")
    row = sql.execute(conn, "reports/lock_for_verdict", id=report_id, who=REPORTER).first()
    if row is None:
        raise NotFound(f"report {report_id} does not exist")
    if (
        row.key_name != RESIDENT_FORM_KEY
        or not row.idempotency_key
        or not hmac.compare_digest(row.idempotency_key.encode(), (receipt or "").encode())
    ):
        raise Forbidden(
            f"this receipt is not the one report {report_id} was filed with; use the link "
            "from the phone that filed it"
        )
    if row.status != "closed":
        raise Conflict(f"report {report_id} is {row.status}; it can be rated once it is closed")
    if row.rated:
        raise Conflict(f"report {report_id} has already been rated by its reporter")
    now = now or dt.datetime.now(dt.UTC)
    sql.execute(conn, "reports/record_verdict", s=satisfied, now=now, id=report_id)
    sql.execute(
        conn,
        "reports/insert_verdict_event",
        id=report_id,
        now=now,
        who=REPORTER,
        note=note,
        s=satisfied,
    )
    return progress(conn, report_id)
