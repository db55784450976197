"""Publishing a draft: a new generation through the boundaries commit path and its checks.

The county's whole grid set is assembled (the draft's changed grids, every other current grid
as it is), checked by `boundaries.check.plan_import` exactly as an imported file is (codes,
validity, overlaps, nesting in villages, gaps) and committed by `boundaries.commit.commit_import`
in the caller's transaction: the new generation, lineage, and households, household groups,
open cases and staff moved all or nothing. A draft made from a generation that is no longer
current is refused with a Conflict listing what changed since.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import numpy as np
import pyproj
import shapely
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import Principal
from gisgrid.boundaries import RawBoundaries, commit_import, plan_import
from gisgrid.errors import Conflict, ImportRefused, StalePlan
from gisgrid.redraw.plans import load_plan, require_ready


def _stale(conn: Connection, plan: dict[str, Any], gen: dict[str, Any]) -> StalePlan:
    since = sql.frame(
        conn, "redraw/generations_since", county=plan["county_code"], since=gen["valid_from"]
    )
    villages = sql.frame(conn, "redraw/plan_villages", id=plan["id"])["village_code"].tolist()
    ch = sql.first(
        conn, "redraw/village_grid_changes", base=plan["generation_id"], villages=villages
    )
    changed = list(ch["changed"] or []) if ch else []
    added = list(ch["added"] or []) if ch else []
    gens = "; ".join(
        f"{r.name} (valid from {r.valid_from.isoformat()}, {r.grids} grids)"
        for r in since.itertuples()
    )
    where = (
        f"in the draft's villages {len(changed)} grid(s) were reshaped or retired "
        f"({', '.join(changed[:10])}{'...' if len(changed) > 10 else ''}) and {len(added)} "
        f"added ({', '.join(added[:10])}{'...' if len(added) > 10 else ''})"
        if changed or added
        else "the draft's villages themselves did not change"
    )
    return StalePlan(
        f"plan {plan['id']} was drawn on generation {gen['name']!r}, which is no longer "
        f"current: published since: {gens or 'a generation'}; {where}. Draw the plan again "
        "from the current generation",
        reason="plan.stale",
        plan=plan["id"],
        generation=gen["name"],
        since=[(r.name, r.valid_from.isoformat(), int(r.grids)) for r in since.itertuples()],
        changed=changed,
        added=added,
    )


def publish_plan(
    conn: Connection,
    who: Principal,
    plan_id: int,
    *,
    valid_from: dt.datetime | None = None,
    generation: str | None = None,
) -> dict[str, Any]:
    """Commit a ready draft as a new generation in the caller's transaction."""
    plan = load_plan(conn, who, plan_id, "publishing a redraw plan", lock=True)
    if plan["status"] == "published":
        raise Conflict(
            f"plan {plan_id} is already published as generation {plan['published_generation_id']}",
            reason="plan.already_published",
            plan=plan_id,
            generation=plan["published_generation_id"],
        )
    require_ready(plan, "published", reason="plan.not_ready_publish")
    # Lock the base generation: a concurrent publish of another draft waits here, then finds
    # the generation closed and is refused.
    gen = sql.first(conn, "redraw/lock_generation", id=plan["generation_id"])
    assert gen is not None  # the plan's foreign key keeps it
    if gen["valid_to"] is not None:
        raise _stale(conn, plan, dict(gen))
    raw = _county_grids(conn, plan)
    checked = plan_import(conn, raw, "grid")
    if checked.errors:
        found = [p for p in checked.problems if p["severity"] == "error"]
        first = "; ".join(p["message"] for p in found)
        raise ImportRefused(
            f"the draft fails the boundaries checks with {checked.errors} error(s), nothing "
            f"was written: {first[:800]}",
            reason="plan.fails_checks",
            errors=checked.errors,
            problems=found[:5],  # each said again by its kind and values (api/errors.py)
        )
    summary = commit_import(
        conn,
        checked,
        generation=generation,
        valid_from=valid_from,
        description=f"redraw plan {plan_id}: {plan['mode']} of {plan['unit_code']}, band "
        f"{plan['band_min']}-{plan['band_max']} households (by {who.username})",
    )
    new_gen = summary["generation"]
    sql.execute(
        conn,
        "redraw/plan_published",
        id=plan_id,
        generation_id=new_gen["id"],
        message=f"published as generation {new_gen['name']}",
    )
    report = checked.report(committed=True)
    return {
        "plan": plan_id,
        "generation": new_gen,
        "checks": {
            "errors": report["errors"],
            "warnings": report["warnings"],
            "problem_counts": report["problem_counts"],
        },
        "commit": summary,
    }


def _county_grids(conn: Connection, plan: dict[str, Any]) -> RawBoundaries:
    """Every grid of the county after publishing: the draft's changed ones, the rest as is."""
    cur = sql.frame(conn, "redraw/county_grids", county_prefix=plan["county_code"][:6])
    draft = sql.frame(conn, "redraw/plan_grid_shapes", id=plan["id"])
    villages = set(draft["village_code"])
    changed = draft[draft["changed"]]
    # Outside the draft's villages every grid stays; inside, the draft's unchanged grids keep
    # their stored geometry (so lineage says `unchanged`) and the rest is the draft's.
    outside = ~cur["village_code"].isin(villages)
    unchanged = cur["code"].isin(set(draft["code"]) - set(changed["code"]))
    keep = cur[outside | unchanged]
    vnames = dict(
        sql.frame(conn, "redraw/unit_names", codes=sorted(villages))[["code", "name"]].itertuples(
            False, None
        )
    )
    old_names = dict(zip(cur["code"], cur["name"], strict=True))
    names = [
        old_names.get(c) or f"{vnames.get(c[:12], c[:12])}第{int(c[-3:])}网格"
        for c in changed["code"]
    ]
    codes = np.concatenate([keep["code"].to_numpy(dtype=object), changed["code"].to_numpy()])
    geoms = np.concatenate(
        [shapely.from_wkb(keep["wkb"].to_numpy()), shapely.from_wkb(changed["wkb"].to_numpy())]
    )
    digest = hashlib.sha256(
        b"".join(shapely.to_wkb(geoms)) + "|".join(map(str, codes)).encode()
    ).hexdigest()
    return RawBoundaries(
        source_name=f"redraw plan {plan['id']}",
        sha256=digest,
        format="redraw",
        crs=pyproj.CRS.from_epsg(4326),
        codes=codes,
        names=np.array(list(keep["name"]) + names, dtype=object),
        parents=None,
        geoms=geoms,
    )
