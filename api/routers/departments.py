"""Functional departments (职能部门): who a town or county whistles to, and their inboxes."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import ConnDep
from api.security import PrincipalDep
from gisgrid.reports import departments

router = APIRouter(prefix="/api/v1/departments", tags=["departments"])

CountyQ = Annotated[str, Query(description="6-digit county code", examples=["441226"])]


@router.get("")
def list_departments(conn: ConnDep, who: PrincipalDep, county: CountyQ) -> dict[str, Any]:
    """A county's departments: code, name, the categories they own, their 报到 and feedback
    limits in working hours, open cases; their handlers for signed-in staff of the county."""
    return departments.list_departments(conn, who, county)


@router.get("/{code}/cases")
def department_cases(
    conn: ConnDep,
    who: PrincipalDep,
    code: Annotated[str, Path(description="department code, e.g. ZJ")],
    county: CountyQ,
    open_only: Annotated[
        bool, Query(alias="open", description="only cases not yet closed or cancelled")
    ] = True,
) -> dict[str, Any]:
    """The cases whistled to a department (吹哨): for its own handlers, and the town and county
    centers above it (in their scope); waiting to report for duty (报到) first."""
    return departments.department_cases(conn, who, county, code, open_only=open_only)
