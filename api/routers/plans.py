"""Redraw plans: draft (in the background), read, list, edit, preview the impact, publish."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Body, Query, Request, Response
from pydantic import BaseModel, Field

from api import errors
from api.deps import ConnDep, PlanDep
from api.params import aware
from api.security import PrincipalDep
from gisgrid.redraw import edits, impact, plans, publish

router = APIRouter(prefix="/api/v1/plans", tags=["redraw"])


class PlanRequest(BaseModel):
    """What to draw: a unit, the households-per-grid band, the mode and a seed."""

    unit: str = Field(description="6-digit county, 9-digit town or 12-digit village code")
    band: list[int] = Field(
        min_length=2, max_length=2, description="[min, max] households per grid"
    )
    mode: Literal["balance", "minimal_change"] = "balance"
    seed: int = Field(default=0, ge=0)


class PublishRequest(BaseModel):
    """When the new generation starts (default now) and its name (default county-date)."""

    valid_from: dt.datetime | None = None
    generation: str | None = None


def _runner(request: Request) -> plans.PlanRunner:
    runner: plans.PlanRunner = request.app.state.plan_runner
    return runner


@router.post("", status_code=202)
def create(
    request: Request,
    conn: ConnDep,
    who: PrincipalDep,
    body: PlanRequest,
    background: BackgroundTasks,
    response: Response,
) -> dict[str, Any]:
    """Queue a draft; the work runs in the background (poll GET /api/v1/plans/{id})."""
    out = plans.create_plan(conn, who, body.unit, body.band, body.mode, body.seed)
    # After the response: the request's transaction has committed, so the worker sees the row.
    background.add_task(_runner(request).submit, out["id"])
    response.headers["Location"] = f"/api/v1/plans/{out['id']}"
    return out


@router.get("")
def list_all(
    conn: ConnDep,
    who: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Drafts in your scope, newest first."""
    return [errors.plan_words(p) for p in plans.list_plans(conn, who, limit)]


@router.get("/{plan_id}")
def get_one(
    plan: PlanDep,
    geometry: Annotated[bool, Query(description="include grid geometry")] = True,
    village: Annotated[str | None, Query(description="only this village's grids")] = None,
) -> dict[str, Any]:
    """Status and progress; once ready the draft grids (GeoJSON) and the summary."""
    return errors.plan_words(plans.get_plan(*plan, geometry=geometry, village=village))


@router.delete("/{plan_id}")
def discard(plan: PlanDep) -> dict[str, Any]:
    """Discard a draft."""
    return plans.discard_plan(*plan)


@router.get("/{plan_id}/blocks")
def blocks(
    plan: PlanDep, village: Annotated[str, Query(description="12-digit village code")]
) -> dict[str, Any]:
    """A village's blocks in the draft (GeoJSON), each with its draft grid."""
    return plans.plan_blocks(*plan, village)


@router.post("/{plan_id}/edits")
def edit(
    plan: PlanDep,
    body: Annotated[
        dict[str, Any],
        Body(
            examples=[
                {"op": "split", "grid": "441226101201001", "parts": 2},
                {"op": "merge", "grids": ["441226101201001", "441226101201002"]},
                {"op": "move", "block": 1234, "to": "441226101201002"},
            ]
        ),
    ],
) -> dict[str, Any]:
    """Split (along a line or into k parts), merge two neighbours, or move a block."""
    return edits.edit_plan(*plan, body)


@router.get("/{plan_id}/impact")
def preview(plan: PlanDep) -> dict[str, Any]:
    """What publishing would change: per grid, households and cases moving, lineage, diff."""
    return impact.plan_impact(*plan)


@router.post("/{plan_id}/publish")
def publish_one(plan: PlanDep, body: PublishRequest | None = None) -> dict[str, Any]:
    """Publish the draft as a new generation (boundaries checks and commit, all or nothing)."""
    body = body or PublishRequest()
    return publish.publish_plan(
        *plan, valid_from=aware(body.valid_from), generation=body.generation
    )
