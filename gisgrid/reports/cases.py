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

from sqlalchemy import Connection, text

from gisgrid import sql
from gisgrid.access import CASE_HANDLERS, Principal, Role, audit
from gisgrid.errors import Conflict, Forbidden, InvalidReport, NotFound
from gisgrid.media import report_photos
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
# Steps a client may not take through act() alone: they belong to a larger action.
INTERNAL_STEPS = frozenset({"fix_on_spot"})
MAX_KEY = 255


def _locked(conn: Connection, report_id: int) -> Any:
    row = conn.execute(
        text(
            "SELECT r.id, r.status::text AS status, r.duplicate_of, r.handler_level, "
            "r.assignee_id, g.code AS grid_code, g.village_code "
            "FROM report r LEFT JOIN grid g ON g.id = r.grid_id WHERE r.id = :id "
            "FOR UPDATE OF r"
        ),
        {"id": report_id},
    ).first()
    if row is None:
        raise NotFound(f"report {report_id} does not exist")
    return row


def _last_feedback_by(conn: Connection, report_id: int) -> int | None:
    return conn.execute(
        text(
            "SELECT account_id FROM report_event WHERE report_id = :id AND action = 'resolve' "
            "ORDER BY at DESC, id DESC LIMIT 1"
        ),
        {"id": report_id},
    ).scalar()


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
    idempotency_key: str | None = None,
    internal: bool = False,
    seen: dt.datetime | None = None,
) -> dict[str, Any]:
    """Take one step on a report (in the caller's transaction); the report as it now stands.

    With an `idempotency_key`, a step already taken under that key on this report is not taken
    again: the report as it stands comes back with `replayed: true` (a phone re-sending a step
    whose answer it never heard must not meet a 409 for its own first try). With `seen` (when
    the caller last saw the case), a step someone else took since (改派, 上报, 结案 ...) is a
    409 naming it: a step queued offline does not overrule what happened meanwhile.
    """
    step = STEPS.get(action)
    if step is None or (action in INTERNAL_STEPS and not internal):
        offered = ", ".join(s for s in STEPS if s not in INTERNAL_STEPS)
        raise InvalidReport(f"action={action!r} is not one of {offered}")
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_KEY:
        raise InvalidReport(f"Idempotency-Key must be 1-{MAX_KEY} characters")
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
    if idempotency_key:
        taken = sql.first(conn, "reports/step_by_key", id=report_id, key=idempotency_key)
        if taken is not None:
            if taken.action != action:
                raise Conflict(
                    f"Idempotency-Key {idempotency_key!r} was used for step {taken.action} on "
                    f"report {report_id}; use a new key for a new step"
                )
            return (
                intake.read_report(conn, report_id)
                | {"history": history(conn, report_id)}
                | {"replayed": True}
            )
    if seen is not None:
        if seen.tzinfo is None:
            raise InvalidReport(f"seen={seen.isoformat()} needs a time zone")
        since = sql.first(
            conn, "reports/changed_since", id=report_id, seen=seen, account=who.account_id
        )
        if since is not None:
            label = STEPS[since.action].label if since.action in STEPS else since.action
            raise Conflict(
                f"report {report_id} was changed after you saw it: {since.action} ({label}) by "
                f"{since.username} at {since.at.isoformat()}; {action} was not taken"
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
    sets = ["updated_at = :now"]
    if action == "close":
        # 核查: verified by someone other than who fed back.
        if who.account_id is not None and _last_feedback_by(conn, report_id) == who.account_id:
            raise Forbidden(
                f"report {report_id} was fed back by this account; another operator verifies "
                "and closes it"
            )
        sets.append("closed_at = :now")
    elif action in ("cancel", "fix_on_spot"):
        sets.append("closed_at = :now")
    elif action == "escalate":
        if level == "county":
            raise Conflict(
                f"report {report_id} is already with the county departments; supervise it "
                "(督办) rather than escalate"
            )
        # From a person (worker, chief) to the village committee, then the town, the county.
        level, assignee, status = NEXT_LEVEL.get(level or "", "village"), None, "dispatched"
        sets.append("escalations = escalations + 1")
    elif action == "reassign":
        if staff_id is None:
            raise InvalidReport("reassign needs staff_id: the grid worker who takes it over")
        ok = conn.execute(
            text(
                "SELECT s.on_duty, g.code, a.role::text AS role FROM staff s "
                "JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL "
                "JOIN grid g ON g.id = a.grid_id AND g.valid_to IS NULL "
                "WHERE s.id = :s AND a.role IN ('full_time', 'grid_chief', 'part_time') "
                "ORDER BY (g.village_code = :v) DESC LIMIT 1"
            ),
            {"s": staff_id, "v": r.village_code},
        ).first()
        if ok is None or not who.covers(ok.code):
            raise InvalidReport(f"staff_id={staff_id} is not a grid worker in this account's scope")
        if not ok.on_duty:
            raise InvalidReport(f"staff_id={staff_id} is off duty; choose someone on duty")
        assignee, level, status = staff_id, ok.role, "dispatched"
    elif action == "evaluate":
        if satisfied is None:
            raise InvalidReport("evaluate needs satisfied=true or false (the call-back verdict)")
        sets.append("satisfied = :satisfied")

    conn.execute(
        text(
            "UPDATE report SET status = CAST(:status AS report_status), handler_level = :level, "
            f"assignee_id = :assignee, {', '.join(sets)} WHERE id = :id"
        ),
        {
            "status": status,
            "level": level,
            "assignee": assignee,
            "now": now,
            "satisfied": satisfied,
            "id": report_id,
        },
    )
    conn.execute(
        text(
            "INSERT INTO report_event (report_id, at, action, from_status, to_status, "
            "account_id, username, assignee_id, handler_level, note, satisfied, "
            "idempotency_key) "
            "VALUES (:id, :now, :action, :from_status, :to_status, :account, :username, "
            ":assignee, :level, :note, :satisfied, :key)"
        ),
        {
            "id": report_id,
            "now": now,
            "action": action,
            "from_status": r.status,
            "to_status": status,
            "account": who.account_id,
            "username": who.username,
            "assignee": assignee,
            "level": level,
            "note": note,
            "satisfied": satisfied,
            "key": idempotency_key,
        },
    )
    return intake.read_report(conn, report_id) | {
        "history": history(conn, report_id),
        "replayed": False,
    }


INTAKE_LABELS = {"dispatch": "派遣", "register": "登记"}


def case_file(
    conn: Connection, who: Principal, report_id: int, client: str | None = None
) -> dict[str, Any]:
    """A report with its whole loop, for a case handler whose scope covers its grid."""
    who.require(CASE_HANDLERS, "reading a case file")
    found = intake.read_report(conn, report_id)
    grid = found["grid"]["code"] if found["grid"] else ""
    who.require_scope(grid or "(no grid)", f"report {report_id}")
    # The reporter's call-back number is personal data: shown to handlers in scope, audited.
    reporter = sql.first(conn, "reports/reporter_of", id=report_id)
    contact = dict(reporter["reporter"] or {}) if reporter else {}
    if contact:
        audit.record(
            conn,
            who,
            "read_personal",
            method="GET",
            path=f"/api/v1/reports/{report_id}",
            object_type="report",
            object_ids=[report_id],
            client=client,
        )
    return found | {
        "history": history(conn, report_id),
        "reporter": contact or None,
        "photos": report_photos(conn, report_id, staff=True),
    }


def history(conn: Connection, report_id: int) -> list[dict[str, Any]]:
    """Every step of a report, oldest first, starting with its intake (from the report row)."""
    first = conn.execute(
        text("SELECT reported_at, dispatched_at, duplicate_of FROM report WHERE id = :id"),
        {"id": report_id},
    ).first()
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
    rows = conn.execute(
        text(
            "SELECT at, action, from_status, to_status, username, assignee_id, handler_level, "
            "note, satisfied FROM report_event WHERE report_id = :id ORDER BY at, id"
        ),
        {"id": report_id},
    ).mappings()
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
    row = conn.execute(
        text(
            # A supporter rates when the case it joined is closed: that is its outcome too.
            "SELECT coalesce(o.status, r.status)::text AS status, r.idempotency_key, "
            "k.name AS key_name, EXISTS (SELECT 1 FROM report_event e WHERE e.report_id = r.id "
            "AND e.action = 'evaluate' AND e.username = :who) AS rated "
            "FROM report r LEFT JOIN api_key k ON k.id = r.api_key_id "
            "LEFT JOIN report o ON o.id = r.duplicate_of WHERE r.id = :id FOR UPDATE OF r"
        ),
        {"id": report_id, "who": REPORTER},
    ).first()
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
    conn.execute(
        text("UPDATE report SET satisfied = :s, updated_at = :now WHERE id = :id"),
        {"s": satisfied, "now": now, "id": report_id},
    )
    conn.execute(
        text(
            "INSERT INTO report_event (report_id, at, action, from_status, to_status, "
            "username, note, satisfied) VALUES (:id, :now, 'evaluate', 'closed', 'closed', "
            ":who, :note, :s)"
        ),
        {"id": report_id, "now": now, "who": REPORTER, "note": note, "s": satisfied},
    )
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
