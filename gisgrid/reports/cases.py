"""The closed loop of a report (事件闭环), as centers are judged by it.

Longli's seven steps (gisgrid/reports/stages.py) over the city-management workflow (CJJ/T 106):
a resident's or hotline report is collected (收集) and checked on site by the grid worker (核查;
a false or duplicate one is cancelled with a reason, 不予立案); it is analysed, classed and
registered (立案, 三事分流: gisgrid/reports/triage.py), which dispatches it and starts its clock
(派遣); it is handled (处置): accepted (受理) and fed back (处置反馈), a 大家事 after the village
council has deliberated (村民议事); what a level cannot solve goes up (上报: village, town, county)
and a town or county whistles to a named department (吹哨), whose own clock starts and which
reports for duty (报到), handles and feeds back to the town; a center chases late cases (督办);
an operator verifies on site and closes it with a closing code (核查结案,
gisgrid/reports/outcomes.py) or sends it back; the reporter's verdict or the call-back (回访)
follows, and an unsatisfied verdict within GISGRID_REOPEN_DAYS reopens it to its handler.

Every step is a row in `report_event`, written in the same transaction as the change, under a row
lock so two people cannot both act on the same state. A department handler sees and acts on the
cases sent to their department only.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import CASE_HANDLERS, Principal, Role, audit
from gisgrid.errors import Conflict, Forbidden, InvalidReport, NotFound
from gisgrid.media import report_photos
from gisgrid.reports import intake
from gisgrid.reports.departments import department_row, owner_of
from gisgrid.reports.intake import IntakeConfig
from gisgrid.reports.outcomes import check_cancel_reason, check_outcome
from gisgrid.reports.stages import STAGES
from gisgrid.reports.triage import LABELS as TRIAGE_LABELS
from gisgrid.reports.triage import ROUTES, check_class, choose_class

FIELD = frozenset({Role.grid_worker, Role.grid_chief})
OPERATORS = frozenset({Role.village_operator, Role.town_operator, Role.county_operator, Role.admin})
HANDLERS = FIELD | OPERATORS | {Role.department_handler}
# Household leaders (联户长) take part in the affairs of their households (自家事).
HOUSEHOLD = frozenset({Role.household_leader})
# Who whistles to a department (吹哨): the towns and the county.
WHISTLERS = frozenset({Role.town_operator, Role.county_operator, Role.admin})
# Who convenes the village council (村民议事) for a 大家事: the village, its grid chiefs, above.
COUNCIL = frozenset(
    {Role.grid_chief, Role.village_operator, Role.town_operator, Role.county_operator, Role.admin}
)
# Who handles a case at each level once it has gone up (上报): the next level's handlers.
NEXT_LEVEL = {"village": "town", "town": "county"}
OPEN = frozenset({"dispatched", "in_progress"})
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
    from_stages: frozenset[str] | None = None  # None: any stage


STEPS = {
    s.name: s
    for s in (
        Step(
            "check",
            "核查",
            frozenset({"submitted"}),
            None,
            FIELD | OPERATORS,
            from_stages=frozenset({"collected"}),
        ),
        Step(
            "register",
            "立案",
            frozenset({"submitted"}),
            "dispatched",
            FIELD | OPERATORS,
            from_stages=frozenset({"checked"}),
        ),
        Step("accept", "受理", frozenset({"dispatched"}), "in_progress", HANDLERS | HOUSEHOLD),
        Step("deliberate", "村民议事", OPEN, "in_progress", COUNCIL, needs_note=True),
        Step("resolve", "处置反馈", OPEN, "resolved", HANDLERS | HOUSEHOLD, needs_note=True),
        Step("close", "核查结案", frozenset({"resolved"}), "closed", OPERATORS),
        Step(
            "return", "核查退回", frozenset({"resolved"}), "in_progress", OPERATORS, needs_note=True
        ),
        Step("escalate", "上报", OPEN, None, HANDLERS, needs_note=True),
        Step("reassign", "改派", OPEN, None, OPERATORS),
        Step("reclass", "改类", OPEN, None, OPERATORS, needs_note=True),
        # 督办: the center chases a case that is late or close to its limit; the status and
        # clock stay, the handler sees it on the map and the note says what is expected.
        Step("supervise", "督办", OPEN, None, OPERATORS, needs_note=True),
        Step(
            "cancel",
            "不予立案",
            frozenset({"submitted", "registered", "dispatched"}),
            "cancelled",
            OPERATORS | FIELD,
            needs_note=True,
        ),
        Step("evaluate", "回访", frozenset({"closed"}), None, OPERATORS),
        # 即知即改: a worker fixes on the spot what they found on patrol and closes it with an
        # after photo (only their own patrol report: gisgrid.reports.field).
        Step(
            "fix_on_spot",
            "即知即改",
            frozenset({"dispatched", "in_progress"}),
            "closed",
            FIELD,
            needs_note=True,
        ),
    )
}
# Steps recorded by the loop itself, not taken by anyone directly.
EVENT_LABELS = {"reopen": "重新办理"}
# Steps a client may not take through act() alone: they belong to a larger action.
INTERNAL_STEPS = frozenset({"fix_on_spot"})
MAX_KEY = 255


def _label(action: str) -> str:
    step = STEPS.get(action)
    return step.label if step else EVENT_LABELS.get(action, action)


def _last_feedback_by(conn: Connection, report_id: int) -> int | None:
    return sql.scalar(conn, "reports/last_resolver", id=report_id)  # type: ignore[no-any-return]


def _check_department_handler(who: Principal, r: Any, report_id: int) -> None:
    """A department sees the cases sent to it and no other (404, as if it were not there)."""
    if who.role == Role.department_handler and (
        who.department_id is None or r["department_id"] != who.department_id
    ):
        raise NotFound(
            f"report {report_id} is not among the cases sent to department "
            f"{who.department or '(this account is bound to none)'}"
        )


@dataclass(frozen=True)
class CaseAction:
    """One step a caller asks to take on a case, as the phone, the wall or a script sends it."""

    action: str
    note: str | None = None
    staff_id: int | None = None  # reassign: the grid worker taking it over
    satisfied: bool | None = None  # evaluate: the call-back verdict
    department: str | None = None  # escalate: the department to whistle to (吹哨)
    triage: str | None = None  # register/reclass: the class (三事分流)
    outcome: str | None = None  # close, or resolve as the handler's claim
    outcome_reason: str | None = None
    reason: str | None = None  # cancel: why not registered
    idempotency_key: str | None = None
    seen: dt.datetime | None = None  # when the caller last saw the case


def act(
    conn: Connection,
    who: Principal,
    report_id: int,
    asked: CaseAction,
    *,
    config: IntakeConfig | None = None,
    now: dt.datetime | None = None,
    internal: bool = False,
) -> dict[str, Any]:
    """Take one step on a report (in the caller's transaction); the report as it now stands.

    With an `idempotency_key`, a step already taken under that key on this report is not taken
    again: the report as it stands comes back with `replayed: true` (a phone re-sending a step
    whose answer it never heard must not meet a 409 for its own first try). With `seen` (when
    the caller last saw the case), a step someone else took since (改派, 上报, 结案 ...) is a
    409 naming it: a step queued offline does not overrule what happened meanwhile.
    """
    action = asked.action
    step = STEPS.get(action)
    if step is None or (action in INTERNAL_STEPS and not internal):
        offered = ", ".join(s for s in STEPS if s not in INTERNAL_STEPS)
        raise InvalidReport(f"action={action!r} is not one of {offered}")
    if asked.idempotency_key is not None and not 0 < len(asked.idempotency_key) <= MAX_KEY:
        raise InvalidReport(f"Idempotency-Key must be 1-{MAX_KEY} characters")
    note = (asked.note or "").strip() or None
    if step.needs_note and not note:
        raise InvalidReport(f"{action} ({step.label}) needs a note saying what was done or why")
    if note and len(note) > MAX_NOTE:
        raise InvalidReport(f"note has {len(note)} characters; at most {MAX_NOTE}")
    if asked.department is not None and action != "escalate":
        raise InvalidReport(f"department is for escalate (吹哨), not for {action}")
    who.require(step.roles, f"{action} ({step.label})")
    config = config or IntakeConfig()
    now = now or dt.datetime.now(dt.UTC)
    r = sql.one(
        conn,
        "reports/case_locked",
        lambda: NotFound(f"report {report_id} does not exist"),
        id=report_id,
    )
    if not r["grid_code"] or not who.covers(r["grid_code"]):
        raise who.outside_scope(
            f"{action} ({step.label})",
            r["grid_code"] or "（无网格）",
            f"report {report_id} is in grid {r['grid_code']}, outside this account's scope",
        )
    if asked.idempotency_key:
        taken = sql.first(conn, "reports/step_by_key", id=report_id, key=asked.idempotency_key)
        if taken is not None:
            if taken.action != action:
                raise Conflict(
                    f"Idempotency-Key {asked.idempotency_key!r} was used for step "
                    f"{taken.action} on report {report_id}; use a new key for a new step"
                )
            return (
                intake.read_report(conn, report_id)
                | {"history": history(conn, report_id)}
                | {"replayed": True}
            )
    if asked.seen is not None:
        if asked.seen.tzinfo is None:
            raise InvalidReport(f"seen={asked.seen.isoformat()} needs a time zone")
        since = sql.first(
            conn, "reports/changed_since", id=report_id, seen=asked.seen, account=who.account_id
        )
        if since is not None:
            label = STEPS[since.action].label if since.action in STEPS else since.action
            raise Conflict(
                f"report {report_id} was changed after you saw it: {since.action} ({label}) by "
                f"{since.username} at {since.at.isoformat()}; {action} was not taken"
            )
    _check_department_handler(who, r, report_id)
    if who.role == Role.household_leader and r["triage"] != "private":
        raise Forbidden(
            f"report {report_id} is {TRIAGE_LABELS.get(r['triage'] or '', r['triage'])}; a "
            "household leader (联户长) takes part in 自家事 (private affairs) only",
            reason="case.private_only",
            report=report_id,
            triage=TRIAGE_LABELS.get(r["triage"] or "", r["triage"] or "未分类"),
        )
    if r["duplicate_of"] is not None:
        raise Conflict(
            f"report {report_id} is a duplicate of report {r['duplicate_of']} and is handled with "
            f"it; act on report {r['duplicate_of']}"
        )
    if r["status"] not in step.from_statuses:
        raise Conflict(
            f"report {report_id} is {r['status']}; {action} ({step.label}) applies to a report "
            f"that is {' or '.join(sorted(step.from_statuses))}"
        )
    if step.from_stages is not None and r["stage"] not in step.from_stages:
        want = " or ".join(f"{s} ({STAGES[s].label})" for s in sorted(step.from_stages))
        have = STAGES[r["stage"]].label if r["stage"] in STAGES else r["stage"]
        raise Conflict(
            f"report {report_id} is at stage {r['stage']} ({have}); {action} ({step.label}) "
            f"applies at stage {want}"
        )

    state = dict(r)
    state["status"] = step.to_status or r["status"]
    detail: dict[str, Any] = {}
    grid = r["grid_code"]
    follow_up: str | None = None

    if action == "check":
        state["stage"], state["stage_due_at"] = "checked", config.stage_due(grid, "checked", now)
    elif action == "register":
        chosen, why = choose_class(r["category"], asked.triage, note)
        detail |= _route(conn, state, chosen.value, why)
        state["dispatched_at"] = now
        state["due_at"] = config.case_due(grid, r["category"], now)
        state["stage"] = "registered"
        state["stage_due_at"] = config.stage_due(grid, "registered", now)
    elif action == "reclass":
        if asked.triage is None:
            raise InvalidReport("reclass needs triage: private, collective or public")
        chosen = check_class(asked.triage)
        if chosen.value == r["triage"]:
            raise Conflict(f"report {report_id} is already {TRIAGE_LABELS[chosen.value]}")
        if r["department_id"] is not None:
            raise Conflict(
                f"report {report_id} is with department {r['department_code']}; it feeds back "
                "to the town first"
            )
        detail |= _route(conn, state, chosen.value, note)
        state["status"] = "dispatched"
        state["stage"] = "registered"
        state["stage_due_at"] = config.stage_due(grid, "registered", now)
    elif action == "accept":
        if r["department_id"] is not None and who.role == Role.department_handler:
            state["dept_accepted_at"] = now  # 报到
            detail["department"] = r["department_code"]
        state["stage"] = "handled"
        state["stage_due_at"] = _handling_due(state)
    elif action == "deliberate":
        if r["triage"] != "collective":
            raise Conflict(
                f"report {report_id} is {TRIAGE_LABELS.get(r['triage'] or '', r['triage'])}; "
                "the village council deliberates (村民议事) on 大家事 (collective affairs)"
            )
        state["stage"] = "handled"
        state["stage_due_at"] = _handling_due(state)
    elif action == "resolve":
        if r["triage"] == "collective" and not _deliberated(conn, report_id):
            raise Conflict(
                f"report {report_id} is 大家事 (collective affairs): the village council "
                "deliberates first (action deliberate, 村民议事, with its decision as the note)"
            )
        if asked.outcome is not None or asked.outcome_reason is not None:
            detail["outcome"], detail["outcome_reason"] = check_outcome(
                asked.outcome, asked.outcome_reason
            )
        if r["department_id"] is not None and who.role == Role.department_handler:
            state["dept_resolved_at"] = now
            detail["department"] = r["department_code"]
        state["stage"] = "fed_back"
        state["stage_due_at"] = config.stage_due(grid, "fed_back", now)
    elif action == "close":
        # 核查: verified by someone other than who fed back.
        if who.account_id is not None and _last_feedback_by(conn, report_id) == who.account_id:
            raise Forbidden(
                f"report {report_id} was fed back by this account; another operator verifies "
                "and closes it",
                reason="case.close_own_feedback",
                report=report_id,
            )
        outcome, outcome_reason = asked.outcome, asked.outcome_reason
        if outcome is None:
            claimed = _claimed_outcome(conn, report_id)
            outcome, outcome_reason = claimed if claimed else (None, outcome_reason)
        state["outcome"], state["outcome_reason"] = check_outcome(outcome, outcome_reason)
        detail["outcome"], detail["outcome_reason"] = state["outcome"], state["outcome_reason"]
        state["closed_at"] = now
        state["stage"], state["stage_due_at"] = "fed_back", None
    elif action == "return":
        state["stage"] = "handled"
        state["stage_due_at"] = _handling_due(state)
    elif action == "fix_on_spot":
        # 即知即改: found and fixed on patrol; closed at once, resolved (the after photo shows it).
        state["outcome"], state["outcome_reason"] = "resolved", None
        detail["outcome"] = "resolved"
        state["closed_at"] = now
        state["stage"], state["stage_due_at"] = "fed_back", None
    elif action == "cancel":
        if who.role in FIELD and r["stage"] not in ("collected", "checked"):
            raise Forbidden(
                f"report {report_id} is past its on-site check; a center operator cancels it",
                reason="case.cancel_past_check",
                report=report_id,
            )
        detail["reason"] = check_cancel_reason(asked.reason)
        state["closed_at"] = now
    elif action == "escalate":
        if asked.department is not None:
            detail |= _whistle(conn, who, state, asked.department, config, now)
        else:
            if r["handler_level"] == "department":
                raise Conflict(
                    f"report {report_id} is with department {r['department_code']}; it feeds back "
                    "to the town (resolve), which verifies it"
                )
            if r["handler_level"] == "county":
                raise Conflict(
                    f"report {report_id} is already with the county; whistle to a department "
                    "(department=CODE, 吹哨) or supervise it (督办) rather than escalate"
                )
            # From a person (worker, chief) to the village committee, then the town, the county.
            state["handler_level"] = NEXT_LEVEL.get(r["handler_level"] or "", "village")
            state["assignee_id"] = None
            state["stage"], state["stage_due_at"] = "escalated", r["due_at"]
        state["status"] = "dispatched"
        state["escalations"] = int(r["escalations"]) + 1
    elif action == "reassign":
        if asked.staff_id is None:
            raise InvalidReport("reassign needs staff_id: the grid worker who takes it over")
        ok = sql.execute(
            conn, "reports/reassign_target", s=asked.staff_id, v=r["village_code"]
        ).first()
        if ok is None or not who.covers(ok.code):
            raise InvalidReport(
                f"staff_id={asked.staff_id} is not a grid worker in this account's scope"
            )
        if not ok.on_duty:
            raise InvalidReport(f"staff_id={asked.staff_id} is off duty; choose someone on duty")
        state["assignee_id"], state["handler_level"], state["status"] = (
            asked.staff_id,
            ok.role,
            "dispatched",
        )
        state["stage"] = "registered"
        state["stage_due_at"] = config.stage_due(grid, "registered", now)
    elif action == "supervise":
        state["stage"] = "supervised"
        state["stage_due_at"] = config.stage_due(grid, "supervised", now)
    elif action == "evaluate":
        if asked.satisfied is None:
            raise InvalidReport("evaluate needs satisfied=true or false (the call-back verdict)")
        state["satisfied"] = asked.satisfied
        if not asked.satisfied and _within_reopen(r, config, now):
            follow_up = "reopen"

    _save(
        conn,
        report_id,
        now,
        action,
        r["status"],
        state,
        who,
        note,
        asked.satisfied,
        detail,
        idempotency_key=asked.idempotency_key,
    )
    if follow_up == "reopen":
        _reopen(conn, report_id, state, who, config, now)
    return intake.read_report(conn, report_id) | {
        "history": history(conn, report_id),
        "replayed": False,
    }


def _handling_due(state: dict[str, Any]) -> Any:
    """While a case is being handled its limit is the department's, if it has one, else its own."""
    return state["dept_due_at"] if state["department_id"] is not None else state["due_at"]


def _route(
    conn: Connection, state: dict[str, Any], triage: str, reason: str | None
) -> dict[str, Any]:
    """三事分流: give the case to whom its class goes to; what the step records."""
    route = ROUTES[check_class(triage)]
    state["triage"], state["triage_reason"] = triage, reason
    if route.level is None:  # 自家事: the grid's worker mediates; the household group is noted
        if state["assignee_id"] is None or state["handler_level"] in ("village", "town", "county"):
            who = sql.first(conn, "reports/grid_assignee", grid=state["grid_id"])
            state["assignee_id"] = who["id"] if who else None
            state["handler_level"] = who["role"] if who else "village"
        state["group_id"] = sql.scalar(
            conn, "reports/spot_group", grid=state["grid_id"], report=state["id"]
        )
    else:
        state["assignee_id"], state["handler_level"] = None, route.level
    return {"triage": triage, "handler_level": state["handler_level"]}


def _whistle(
    conn: Connection,
    who: Principal,
    state: dict[str, Any],
    code: str,
    config: IntakeConfig,
    now: dt.datetime,
) -> dict[str, Any]:
    """吹哨: send the case to a named department of its county and start that department's clock."""
    if who.role not in WHISTLERS:
        allowed = ", ".join(sorted(r.value for r in WHISTLERS))
        raise Forbidden(
            f"whistling to a department (吹哨) is for {allowed}, not {who.role}",
            reason="auth.role",
            action="whistling to a department (吹哨)",
            role=str(who.role),
            allowed=sorted(r.value for r in WHISTLERS),
        )
    dept = department_row(conn, state["grid_code"][:6], code)
    if state["department_id"] == dept["id"] and state["dept_resolved_at"] is None:
        raise Conflict(f"report {state['id']} is with department {code} already")
    cal = config.calendar_for(state["grid_code"])
    state["department_id"] = dept["id"]
    state["dept_sent_at"] = now
    state["dept_respond_by"] = cal.due(now, int(dept["response_hours"]), 8)
    state["dept_due_at"] = cal.due(now, int(dept["feedback_hours"]), 8)
    state["dept_accepted_at"] = state["dept_resolved_at"] = None
    state["handler_level"], state["assignee_id"] = "department", None
    state["stage"], state["stage_due_at"] = "escalated", state["dept_respond_by"]
    return {"department": dept["code"], "department_name": dept["name"]}


def _deliberated(conn: Connection, report_id: int) -> bool:
    return bool(sql.scalar(conn, "reports/case_has_step", id=report_id, action="deliberate"))


def _claimed_outcome(conn: Connection, report_id: int) -> tuple[str, str | None] | None:
    """The closing code the last feedback stated, if it stated one."""
    detail = sql.scalar(conn, "reports/case_last_detail", id=report_id, action="resolve")
    if detail and detail.get("outcome"):
        return detail["outcome"], detail.get("outcome_reason")
    return None


def _within_reopen(r: Any, config: IntakeConfig, now: dt.datetime) -> bool:
    closed = r["closed_at"]
    return closed is not None and now - closed <= dt.timedelta(days=config.reopen_days)


CASE_COLUMNS = (
    "status",
    "handler_level",
    "assignee_id",
    "updated_at",
    "dispatched_at",
    "due_at",
    "closed_at",
    "satisfied",
    "escalations",
    "triage",
    "triage_reason",
    "stage",
    "stage_due_at",
    "department_id",
    "dept_sent_at",
    "dept_respond_by",
    "dept_accepted_at",
    "dept_due_at",
    "dept_resolved_at",
    "outcome",
    "outcome_reason",
    "reopens",
    "group_id",
)


def _save(
    conn: Connection,
    report_id: int,
    now: dt.datetime,
    action: str,
    from_status: str | None,
    state: dict[str, Any],
    who: Principal | None,
    note: str | None,
    satisfied: bool | None,
    detail: dict[str, Any] | None = None,
    username: str | None = None,
    idempotency_key: str | None = None,
) -> None:
    """The case's new state written (updated now) and the step that made it recorded."""
    state["updated_at"] = now
    sql.execute(conn, "reports/case_update", id=report_id, **{k: state[k] for k in CASE_COLUMNS})
    sql.execute(
        conn,
        "reports/case_event",
        key=idempotency_key,
        report=report_id,
        at=now,
        action=action,
        from_status=from_status,
        to_status=state["status"],
        account=who.account_id if who else None,
        username=username or (who.username if who else "loop"),
        assignee=state["assignee_id"],
        level=state["handler_level"],
        note=note,
        satisfied=satisfied,
        detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
    )


def _reopen(
    conn: Connection,
    report_id: int,
    state: dict[str, Any],
    who: Principal | None,
    config: IntakeConfig,
    now: dt.datetime,
    username: str | None = None,
) -> None:
    """An unsatisfied verdict in time: the case goes back to its handler, and that is counted.

    It keeps its time limit (closing it again after the limit counts as late); the reopened round
    has a limit of its own as a stage: the category's time limit from now.
    """
    state["status"] = "in_progress"
    state["closed_at"] = None
    state["outcome"] = state["outcome_reason"] = None
    state["reopens"] = int(state["reopens"]) + 1
    if state["department_id"] is not None:
        state["dept_resolved_at"] = None
    state["stage"] = "handled"
    state["stage_due_at"] = config.case_due(state["grid_code"], state["category"], now)
    _save(
        conn,
        report_id,
        now,
        "reopen",
        "closed",
        state,
        who,
        "不满意，重新办理",
        None,
        {"reopens": state["reopens"]},
        username=username,
    )


INTAKE_LABELS = {"dispatch": "派遣", "register": "登记", "collect": "收集"}


def case_file(
    conn: Connection, who: Principal, report_id: int, client: str | None = None
) -> dict[str, Any]:
    """A report with its whole loop, for a case handler whose scope covers its grid."""
    who.require(CASE_HANDLERS, "reading a case file")
    found = intake.read_report(conn, report_id)
    grid = found["grid"]["code"] if found["grid"] else ""
    who.require_scope(grid or "(no grid)", f"report {report_id}")
    if who.role == Role.department_handler:
        dept = found["department"]
        if dept is None or dept["code"] != who.department:
            raise NotFound(
                f"report {report_id} is not among the cases sent to department "
                f"{who.department or '(this account is bound to none)'}"
            )
    # 公家事 not yet whistled: the department owning its category, for the town to whistle to.
    owner = (
        owner_of(conn, grid, found["service_code"])
        if found["triage"]["class"] == "public" and found["department"] is None and grid
        else None
    )
    # The reporter's call-back number is personal data: shown to handlers in scope, audited.
    reporter = sql.first(conn, "reports/reporter_of", id=report_id)
    contact = dict(reporter["reporter"] or {}) if reporter else {}
    if contact:
        audit.read_personal(
            conn, who, f"/api/v1/reports/{report_id}", "report", [report_id], client
        )
    return found | {
        "history": history(conn, report_id),
        "reporter": contact or None,
        "photos": report_photos(conn, report_id, staff=True),
        "suggested_department": owner,
    }


def history(conn: Connection, report_id: int) -> list[dict[str, Any]]:
    """Every step of a report, oldest first, starting with its intake (from the report row)."""
    first = sql.execute(conn, "reports/intake_step", id=report_id).first()
    if first is None:
        raise NotFound(f"report {report_id} does not exist")
    kind = sql.scalar(conn, "reports/case_intake_kind", id=report_id)
    steps: list[dict[str, Any]] = [
        {
            "at": first.reported_at,
            "action": kind,
            "label": INTAKE_LABELS[kind],
            "from_status": None,
            "to_status": {"dispatch": "dispatched", "register": "registered"}.get(
                kind, "submitted"
            ),
            "username": "intake",
            "assignee_id": None,
            "handler_level": None,
            "note": f"duplicate of report {first.duplicate_of}" if first.duplicate_of else None,
            "satisfied": None,
            "detail": None,
        }
    ]
    rows = sql.rows(conn, "reports/case_history", id=report_id)
    return steps + [dict(r) | {"label": _label(r["action"])} for r in rows]


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
PUBLIC_NOTES = frozenset({"resolve", "cancel", "reopen"})


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
    last_close = max((i for i, s in enumerate(steps) if s["action"] == "close"), default=None)
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
        # Where it is among the seven steps, its class, the department holding it, how it ended.
        "stage": case["stage"],
        "triage": {"class": case["triage"]["class"], "label": case["triage"]["label"]},
        "department": {"name": case["department"]["name"]} if case["department"] else None,
        "outcome": case["outcome"],
        "reopens": case["reopens"],
        # Rated since it was last closed (a reopened case is rated again when closed again).
        "rated_by_reporter": last_close is not None
        and any(s["by_reporter"] for s in steps[last_close:]),
        "steps": steps,
    }


RESIDENT_FORM_KEY = "resident-web"  # the residents' web form's own API key (api/routers/residents)
REPORTER = "reporter"  # report_event.username of a step the reporter took


def check_receipt(row: Any, report_id: int, receipt: str, remedy: str) -> None:
    """The receipt a resident's phone keeps proves the report is theirs (the residents' form's
    Idempotency-Key); any other is a 403 saying `remedy`."""
    if (
        row["key_name"] != RESIDENT_FORM_KEY
        or not row["idempotency_key"]
        or not hmac.compare_digest(row["idempotency_key"].encode(), (receipt or "").encode())
    ):
        raise Forbidden(
            f"this receipt is not the one report {report_id} was filed with; {remedy}",
            reason="receipt.mismatch",
            report=report_id,
        )


def reporter_verdict(
    conn: Connection,
    report_id: int,
    receipt: str,
    satisfied: bool,
    note: str | None = None,
    now: dt.datetime | None = None,
    config: IntakeConfig | None = None,
) -> dict[str, Any]:
    """The reporter's own verdict on a closed report (群众评价), once per closing, by receipt.

    The receipt is the Idempotency-Key the residents' form made for the report: only the phone
    that filed it has it, so no account is needed and nobody else can answer for the reporter.
    An unsatisfied verdict within GISGRID_REOPEN_DAYS of closing reopens the case.
    """
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise InvalidReport(f"note has {len(note)} characters; at most {MAX_NOTE}")
    row = sql.one(
        conn,
        "reports/verdict_state",
        lambda: NotFound(f"report {report_id} does not exist"),
        id=report_id,
        who=REPORTER,
    )
    check_receipt(row, report_id, receipt, "use the link from the phone that filed it")
    if row["status"] != "closed":
        raise Conflict(f"report {report_id} is {row['status']}; it can be rated once it is closed")
    if row["rated"]:
        raise Conflict(f"report {report_id} has already been rated by its reporter")
    config = config or IntakeConfig()
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
    # A supporter's verdict is its own; the case it joined is its original's to reopen.
    if not satisfied and row["duplicate_of"] is None:
        state = sql.first(conn, "reports/case_locked", id=report_id)
        assert state is not None
        if _within_reopen(state, config, now):
            _reopen(conn, report_id, dict(state), None, config, now, username=REPORTER)
    return progress(conn, report_id)


LEVELS_ABOVE_GRID = frozenset({"village", "town", "county"})


def handlers_of_grid(conn: Connection, who: Principal, grid: str) -> dict[str, dict[str, Any]]:
    """Each open case of a grid: its handler level and escalations (report id as a string)."""
    who.require(CASE_HANDLERS | {Role.household_leader}, "reading who handles cases")
    who.require_scope(grid, "reading who handles cases")
    return {
        str(r["id"]): {
            "level": r["handler_level"],
            "escalated": r["handler_level"] in LEVELS_ABOVE_GRID,
            "escalations": int(r["escalations"]),
        }
        for r in sql.rows(conn, "reports/open_handlers", grid=grid)
    }
