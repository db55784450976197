"""Functional departments (职能部门) a town or county whistles to (吹哨), and who report for duty.

Each county has its own: a code (住建 ZJ, 城管执法 CG ...), a name, the report categories it owns,
how soon it must accept a case whistled to it (报到, working hours) and feed back (限时办理反馈,
working hours from the whistle). Department handlers are accounts bound to one department
(`gisgrid users create --role department_handler --department CODE`); they see and act on the
cases sent to their department only (gisgrid/reports/cases.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import CASE_HANDLERS, Principal, Role, department_among
from gisgrid.divisions import get_unit, unit_prefix
from gisgrid.errors import Forbidden, InvalidCode, NotFound
from gisgrid.reports import intake
from gisgrid.reports.taxonomy import WORKING_DAY_HOURS, category

CODE = re.compile(r"^[A-Z][A-Z0-9_-]{0,15}$")
# Who may list a department's cases besides its own handlers: the centers above it.
CENTERS = frozenset({Role.town_operator, Role.county_operator, Role.admin})


@dataclass(frozen=True)
class DepartmentSpec:
    """A department to add to a county."""

    code: str
    name: str
    categories: tuple[str, ...]
    response_hours: int
    feedback_hours: int


def hours_label(hours: float) -> str:
    """'4 个工作小时' or '5 个工作日', as a limit is said."""
    if hours >= WORKING_DAY_HOURS and hours % WORKING_DAY_HOURS == 0:
        return f"{int(hours // WORKING_DAY_HOURS)} 个工作日"
    return f"{hours:g} 个工作小时"


def check_spec(spec: DepartmentSpec) -> None:
    """InvalidCode naming the field unless the department can be stored."""
    if not CODE.match(spec.code):
        raise InvalidCode(
            f"department code {spec.code!r} must be 1-16 capital letters, digits, - or _, "
            "starting with a letter (e.g. ZJ)"
        )
    if not spec.name.strip():
        raise InvalidCode(f"department {spec.code} needs a name")
    for code in spec.categories:
        try:
            category(code)
        except NotFound as exc:
            raise InvalidCode(f"department {spec.code}: {exc}") from None
    if not 0 < spec.response_hours <= spec.feedback_hours:
        raise InvalidCode(
            f"department {spec.code}: response_hours={spec.response_hours} must be > 0 and at "
            f"most feedback_hours={spec.feedback_hours} (报到 comes before 反馈)"
        )


def add_departments(
    conn: Connection, county: str, specs: Iterable[DepartmentSpec], generated: bool = False
) -> int:
    """Add (or update by code) a county's departments in the caller's transaction; how many."""
    county = unit_prefix(county)[:6]
    get_unit(conn, county)  # NotFound if the county is not loaded
    n = 0
    for spec in specs:
        check_spec(spec)
        sql.execute(
            conn,
            "reports/department_upsert",
            county=county,
            code=spec.code,
            name=spec.name,
            categories=list(spec.categories),
            response_hours=spec.response_hours,
            feedback_hours=spec.feedback_hours,
            generated=generated,
        )
        n += 1
    return n


def _public(row: Any, with_handlers: bool) -> dict[str, Any]:
    out = {
        "code": row["code"],
        "name": row["name"],
        "categories": [
            {"code": c, "name": category(c).name_zh} for c in sorted(row["categories"] or [])
        ],
        "response_hours": int(row["response_hours"]),
        "response_limit": hours_label(row["response_hours"]),
        "feedback_hours": int(row["feedback_hours"]),
        "feedback_limit": hours_label(row["feedback_hours"]),
        "handler_count": len(row["handlers"] or []),
        "open_cases": int(row["open_cases"]),
        "generated": bool(row["generated"]),
    }
    if with_handlers:
        out["handlers"] = row["handlers"] or []
    return out


def list_departments(conn: Connection, who: Principal, county: str) -> dict[str, Any]:
    """A county's departments: codes, names, categories, limits; handlers for staff in scope."""
    unit = get_unit(conn, county)
    if unit["level"] != "county":
        raise InvalidCode(f"county={county!r} is a {unit['level']}; give a 6-digit county code")
    code = unit["code"][:6]
    rows = sql.rows(conn, "reports/departments", county=code)
    # Handlers' account names are for the people who work with them, not the public.
    staff = not who.is_public and who.role in CASE_HANDLERS and who.scope[:6] in ("", code)
    return {
        "county": {"code": unit["code"], "name": unit["name"]},
        "departments": [_public(r, staff) for r in rows],
        "generated": any(r["generated"] for r in rows),
        "note": (
            "GENERATED demo departments: a realistic set for the demo county, not its real "
            "government's list"
            if any(r["generated"] for r in rows)
            else None
        ),
    }


def department_row(conn: Connection, county: str, code: str) -> Any:
    """One department of a county by code, or NotFound listing the county's codes."""
    county = county[:6]
    return department_among(sql.rows(conn, "reports/departments", county=county), county, code)


def departments_of(conn: Connection, county: str) -> list[dict[str, Any]]:
    """A county's departments as stored: id, code, name, categories and limits (no access check:
    for the core itself, e.g. the demo generator)."""
    return [
        {
            "id": int(r["id"]),
            "code": r["code"],
            "name": r["name"],
            "categories": list(r["categories"] or []),
            "response_hours": int(r["response_hours"]),
            "feedback_hours": int(r["feedback_hours"]),
        }
        for r in sql.rows(conn, "reports/departments", county=county[:6])
    ]


def owner_of(conn: Connection, county: str, service_code: str) -> dict[str, str] | None:
    """The department owning a category in a county (who to whistle to), if any."""
    for r in sql.rows(conn, "reports/departments", county=county[:6]):
        if service_code in (r["categories"] or []):
            return {"code": r["code"], "name": r["name"]}
    return None


def department_cases(
    conn: Connection,
    who: Principal,
    county: str,
    code: str,
    open_only: bool = True,
    limit: int = 500,
) -> dict[str, Any]:
    """Cases whistled to a department: for its own handlers, and centers for their area."""
    who.require(CENTERS | {Role.department_handler}, "listing a department's cases")
    dept = department_row(conn, county, code)
    if who.role == Role.department_handler and who.department_id != dept["id"]:
        raise Forbidden(
            f"this account acts for department {who.department or '(none)'}, not {code}; "
            "a department sees the cases sent to it only",
            reason="department.other",
            mine=who.department or "（无）",
            code=code,
        )
    if who.scope and who.scope[:6] != county[:6]:
        raise who.outside_scope(
            "listing a department's cases",
            county[:6],
            f"county {county[:6]} is outside your scope {who.scope}",
        )
    rows = sql.rows(
        conn,
        "reports/department_cases",
        department=dept["id"],
        scope=who.scope,
        open_only=open_only,
        limit=limit,
    )
    return {
        "department": {"code": dept["code"], "name": dept["name"]},
        "cases": [intake.summary(r) for r in rows],
    }
