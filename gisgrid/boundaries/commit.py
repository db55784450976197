"""Committing a checked import, all or nothing, inside the caller's transaction.

Grids become a new generation: current from its valid_from, the previous one closed at that
instant, a lineage from overlap, and households, household groups, open reports and staff moved
to the new grid rows. Towns, villages and counties are replaced in place; their previous name and
boundary go to admin_unit_history. Any failure raises, and the caller's rollback leaves no trace.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.boundaries.check import ImportPlan
from gisgrid.divisions import unit_code
from gisgrid.errors import ImportRefused, InvalidImport
from gisgrid.models import STORAGE_SRID
from gisgrid.sql import copy_frame

MIN_LINEAGE_SHARE = 0.05  # below 5% of both grids' areas an overlap is a moved edge, not descent


def _ewkb(geoms: np.ndarray) -> np.ndarray:
    return shapely.to_wkb(shapely.set_srid(geoms, STORAGE_SRID), hex=True, include_srid=True)


def commit_import(
    conn: Connection,
    plan: ImportPlan,
    *,
    generation: str | None = None,
    valid_from: dt.datetime | None = None,
    description: str | None = None,
    lock_timeout_ms: int = 10_000,
    progress: Callable[[str], None] = lambda m: None,
) -> dict[str, Any]:
    """Write a checked plan in the caller's transaction; refuse if it has any error."""
    if plan.errors:
        first = "; ".join(p["message"] for p in plan.problems if p["severity"] == "error")[:600]
        raise ImportRefused(
            f"the import has {plan.errors} error(s), so nothing was written: {first}"
        )
    if not len(plan.codes):
        raise InvalidImport("the file has no features; nothing to commit")
    # Fail fast rather than queue behind a long transaction (and hold our own locks meanwhile).
    sql.execute(conn, "boundaries/set_lock_timeout", v=f"{lock_timeout_ms}ms")
    # JIT compilation costs seconds on these one-off statements and saves nothing.
    sql.execute(conn, "boundaries/jit_off")
    now = sql.execute(conn, "boundaries/transaction_time").scalar_one()
    valid_from = valid_from or now
    if valid_from.tzinfo is None:
        raise InvalidImport(f"valid_from={valid_from.isoformat()} needs a time zone (e.g. +08:00)")
    if valid_from > now + dt.timedelta(minutes=1):
        raise InvalidImport(
            f"valid_from={valid_from.isoformat()} is in the future; scheduled redraws are not "
            "supported, commit on the day (or give a past date)"
        )
    if plan.level == "grid":
        return _commit_grids(conn, plan, generation, valid_from, description, progress)
    return _commit_units(conn, plan, valid_from, progress)


def _log(conn: Connection, plan: ImportPlan, generation_id: int | None, summary: dict) -> int:
    return int(
        sql.execute(
            conn,
            "boundaries/log_import",
            l=plan.level,
            c=plan.county_code,
            g=generation_id,
            s=plan.source.get("name"),
            h=plan.source.get("sha256"),
            crs=plan.source.get("crs"),
            n=len(plan.codes),
            summary=json.dumps(summary, default=str),
        ).scalar_one()
    )


def _commit_grids(
    conn: Connection,
    plan: ImportPlan,
    name: str | None,
    valid_from: dt.datetime,
    description: str | None,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    county = plan.county_code
    assert county is not None  # plan_import refuses grids of a county that is not loaded
    prefix = county[:6]
    name = name or f"{prefix}-{valid_from:%Y%m%d-%H%M%S}"
    if sql.execute(conn, "boundaries/generation_exists", n=name).first():
        raise InvalidImport(f"a generation named {name!r} already exists; choose another name")
    # Lock the county's current generation so two commits cannot both close it.
    prev = sql.first(conn, "boundaries/lock_current_generation", c=county)
    if prev is not None and valid_from <= prev["valid_from"]:
        raise InvalidImport(
            f"valid_from={valid_from.isoformat()} is not after the current generation "
            f"{prev['name']!r} (valid from {prev['valid_from'].isoformat()})"
        )
    progress(f"creating generation {name}")
    gen_id = sql.execute(
        conn,
        "boundaries/insert_generation",
        n=name,
        c=county,
        f=valid_from,
        d=description or f"imported from {plan.source.get('name')}",
    ).scalar_one()
    if prev is not None:
        sql.execute(conn, "boundaries/close_generation", f=valid_from, id=prev["id"])
    sql.execute(conn, "boundaries/drop_redraw_tables")
    sql.execute(conn, "boundaries/collect_old_grids", p=prefix + "%")
    closed = sql.execute(conn, "boundaries/close_old_grids", f=valid_from).rowcount
    progress(f"closed {closed} grids; writing {len(plan.codes)} new grids")
    names = np.where(plan.names == "", plan.codes, plan.names)
    copy_frame(
        conn,
        "grid",
        pd.DataFrame(
            {
                "code": plan.codes,
                "name": names,
                "village_code": [str(c)[:12] for c in plan.codes],
                "generation_id": gen_id,
                "valid_from": valid_from.isoformat(),
                "geom_generated": False,
                "geom": _ewkb(plan.geoms),
            }
        ),
    )
    # Fresh statistics: the planner would otherwise take the new generation for one row.
    sql.execute(conn, "boundaries/analyze_new_grids")
    progress("computing lineage from overlap")
    sql.execute(conn, "boundaries/lineage", gen=gen_id, min_share=MIN_LINEAGE_SHARE)
    sql.execute(conn, "boundaries/collect_successors", g=gen_id)
    relations: dict[str, int] = dict(sql.execute(conn, "boundaries/lineage_counts", g=gen_id).all())
    progress("moving households, household groups, open reports and staff")
    moved = sql.execute(conn, "boundaries/move_points", gen=gen_id).all()
    hh = [by_point for kind, by_point in moved if kind == "household"]
    rep = [by_point for kind, by_point in moved if kind == "report"]
    progress(f"moved {len(hh):,} households and {len(rep):,} open reports")
    groups = sql.execute(conn, "boundaries/move_groups", gen=gen_id).rowcount
    staff = sql.execute(conn, "boundaries/move_staff", valid_from=valid_from).rowcount
    left = sql.execute(conn, "boundaries/left_on_closed_grids").one()
    unstaffed = sql.execute(conn, "boundaries/grids_without_staff", g=gen_id).scalars().all()
    summary = {
        "generation": {"id": gen_id, "name": name, "valid_from": valid_from.isoformat()},
        "previous_generation": prev["name"] if prev else None,
        "grids_closed": closed,
        "grids_created": len(plan.codes),
        "lineage": relations,
        "households_moved": {"by_point": sum(hh), "by_lineage": len(hh) - sum(hh)},
        "open_reports_moved": {"by_point": sum(rep), "by_lineage": len(rep) - sum(rep)},
        "household_groups_moved": groups,
        "staff_assignments_moved": staff,
        "left_on_closed_grids": {"households": left.households, "open_reports": left.reports},
        "grids_without_staff": unstaffed[:100],
        "grids_without_staff_count": len(unstaffed),
    }
    summary["import_id"] = _log(conn, plan, gen_id, summary)
    progress(f"committed generation {name}")
    return summary


def _commit_units(
    conn: Connection, plan: ImportPlan, valid_from: dt.datetime, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Replace county/town/village boundaries; keep the old ones in admin_unit_history."""
    codes = [unit_code(str(c)) for c in plan.codes]
    county = plan.county_code or codes[0][:6] + "000000"
    plan.county_code = county
    parents = {"county": None, "town": county, "village": None}
    parent = [parents[plan.level] if plan.level != "village" else c[:9] + "000" for c in codes]
    import_id = _log(conn, plan, None, {"level": plan.level, "units": len(codes)})
    archived = sql.execute(
        conn, "boundaries/archive_units", f=valid_from, i=import_id, codes=codes
    ).rowcount
    sql.execute(conn, "boundaries/drop_unit_input")
    sql.execute(conn, "boundaries/create_unit_input")
    copy_frame(
        conn,
        "boundary_unit_in",
        pd.DataFrame(
            {"code": codes, "name": plan.names, "parent_code": parent, "geom": _ewkb(plan.geoms)}
        ),
    )
    written = sql.execute(
        conn,
        "boundaries/upsert_units",
        l=plan.level,
        s=f"imported from {plan.source.get('name')} ({plan.source.get('crs')})",
    ).rowcount
    summary = {
        "level": plan.level,
        "units_written": written,
        "units_archived": archived,
        "import_id": import_id,
        "note": "grids are not moved by a unit import; re-check grids against the new units",
    }
    sql.execute(conn, "boundaries/update_import_summary", s=json.dumps(summary), i=import_id)
    progress(f"wrote {written} {plan.level} units ({archived} previous versions kept)")
    return summary
