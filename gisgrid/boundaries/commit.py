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
from sqlalchemy import Connection, text

from gisgrid import sql
from gisgrid.boundaries.check import ImportPlan
from gisgrid.divisions.codes import unit_code
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
    conn.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": f"{lock_timeout_ms}ms"})
    # JIT compilation costs seconds on these one-off statements and saves nothing.
    conn.execute(text("SELECT set_config('jit', 'off', true)"))
    now = conn.execute(text("SELECT now()")).scalar_one()
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
        conn.execute(
            text(
                "INSERT INTO boundary_import (level, county_code, generation_id, source_name, "
                "sha256, crs, features, summary) VALUES (:l, :c, :g, :s, :h, :crs, :n, "
                "CAST(:summary AS jsonb)) RETURNING id"
            ),
            {
                "l": plan.level,
                "c": plan.county_code,
                "g": generation_id,
                "s": plan.source.get("name"),
                "h": plan.source.get("sha256"),
                "crs": plan.source.get("crs"),
                "n": len(plan.codes),
                "summary": json.dumps(summary, default=str),
            },
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
    if conn.execute(text("SELECT 1 FROM generation WHERE name = :n"), {"n": name}).first():
        raise InvalidImport(f"a generation named {name!r} already exists; choose another name")
    # Lock the county's current generation so two commits cannot both close it.
    prev = (
        conn.execute(
            text(
                "SELECT id, name, valid_from FROM generation WHERE county_code = :c "
                "AND valid_to IS NULL ORDER BY valid_from DESC LIMIT 1 FOR UPDATE"
            ),
            {"c": county},
        )
        .mappings()
        .first()
    )
    if prev is not None and valid_from <= prev["valid_from"]:
        raise InvalidImport(
            f"valid_from={valid_from.isoformat()} is not after the current generation "
            f"{prev['name']!r} (valid from {prev['valid_from'].isoformat()})"
        )
    progress(f"creating generation {name}")
    gen_id = conn.execute(
        text(
            "INSERT INTO generation (name, county_code, valid_from, description) "
            "VALUES (:n, :c, :f, :d) RETURNING id"
        ),
        {
            "n": name,
            "c": county,
            "f": valid_from,
            "d": description or f"imported from {plan.source.get('name')}",
        },
    ).scalar_one()
    if prev is not None:
        conn.execute(
            text("UPDATE generation SET valid_to = :f WHERE id = :id"),
            {"f": valid_from, "id": prev["id"]},
        )
    conn.execute(text("DROP TABLE IF EXISTS boundary_old_grid, boundary_successor"))
    conn.execute(
        text(
            "CREATE TEMP TABLE boundary_old_grid ON COMMIT DROP AS SELECT id FROM grid "
            "WHERE valid_to IS NULL AND village_code LIKE :p"
        ),
        {"p": prefix + "%"},
    )
    closed = conn.execute(
        text("UPDATE grid SET valid_to = :f WHERE id IN (SELECT id FROM boundary_old_grid)"),
        {"f": valid_from},
    ).rowcount
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
    for table in ("grid", "grid_part", "boundary_old_grid"):
        conn.execute(text(f"ANALYZE {table}"))  # noqa: S608 - fixed table names, not input
    progress("computing lineage from overlap")
    sql.execute(conn, "boundaries/lineage", gen=gen_id, min_share=MIN_LINEAGE_SHARE)
    conn.execute(
        text(
            "CREATE TEMP TABLE boundary_successor ON COMMIT DROP AS "
            "SELECT DISTINCT ON (old_grid_id) old_grid_id AS old_id, new_grid_id AS new_id "
            "FROM grid_lineage WHERE to_generation_id = :g AND new_grid_id IS NOT NULL "
            "ORDER BY old_grid_id, share_of_old DESC, new_code"
        ),
        {"g": gen_id},
    )
    relations: dict[str, int] = dict(
        conn.execute(
            text(
                "SELECT relation, count(*) FROM grid_lineage WHERE to_generation_id = :g "
                "GROUP BY relation ORDER BY relation"
            ),
            {"g": gen_id},
        ).all()
    )
    progress("moving households, household groups, open reports and staff")
    hh = [r[0] for r in sql.execute(conn, "boundaries/move_households", gen=gen_id)]
    rep = [r[0] for r in sql.execute(conn, "boundaries/move_reports", gen=gen_id)]
    progress(f"moved {len(hh):,} households and {len(rep):,} open reports")
    groups = sql.execute(conn, "boundaries/move_groups", gen=gen_id).rowcount
    staff = sql.execute(conn, "boundaries/move_staff", valid_from=valid_from).rowcount
    left = conn.execute(
        text(
            "SELECT (SELECT count(*) FROM household WHERE grid_id IN "
            "(SELECT id FROM boundary_old_grid)) AS households, "
            "(SELECT count(*) FROM report WHERE grid_id IN (SELECT id FROM boundary_old_grid) "
            "AND status NOT IN ('closed', 'cancelled')) AS reports"
        )
    ).one()
    unstaffed = (
        conn.execute(
            text(
                "SELECT g.code FROM grid g WHERE g.generation_id = :g AND NOT EXISTS ("
                "SELECT 1 FROM staff_assignment a WHERE a.grid_id = g.id AND a.valid_to IS NULL "
                "AND a.role <> 'household_leader') ORDER BY g.code"
            ),
            {"g": gen_id},
        )
        .scalars()
        .all()
    )
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
    archived = conn.execute(
        text(
            "INSERT INTO admin_unit_history (code, name, level, parent_code, valid_to, import_id, "
            "geom) SELECT code, name, level::text, parent_code, :f, :i, geom FROM admin_unit "
            "WHERE code = ANY(:codes)"
        ),
        {"f": valid_from, "i": import_id, "codes": codes},
    ).rowcount
    conn.execute(text("DROP TABLE IF EXISTS boundary_unit_in"))
    conn.execute(
        text(
            "CREATE TEMP TABLE boundary_unit_in (code text, name text, parent_code text, "
            "geom geometry(MultiPolygon, 4326)) ON COMMIT DROP"
        )
    )
    copy_frame(
        conn,
        "boundary_unit_in",
        pd.DataFrame(
            {"code": codes, "name": plan.names, "parent_code": parent, "geom": _ewkb(plan.geoms)}
        ),
    )
    written = conn.execute(
        text(
            "INSERT INTO admin_unit (code, name, level, parent_code, geom_generated, geom_source, "
            "geom) SELECT code, COALESCE(NULLIF(name, ''), code), CAST(:l AS unit_level), "
            "parent_code, false, :s, geom FROM boundary_unit_in "
            "ON CONFLICT (code) DO UPDATE SET name = COALESCE(NULLIF(EXCLUDED.name, ''), "
            "admin_unit.name), geom = EXCLUDED.geom, geom_generated = false, "
            "geom_source = EXCLUDED.geom_source"
        ),
        {
            "l": plan.level,
            "s": f"imported from {plan.source.get('name')} ({plan.source.get('crs')})",
        },
    ).rowcount
    summary = {
        "level": plan.level,
        "units_written": written,
        "units_archived": archived,
        "import_id": import_id,
        "note": "grids are not moved by a unit import; re-check grids against the new units",
    }
    conn.execute(
        text("UPDATE boundary_import SET summary = CAST(:s AS jsonb) WHERE id = :i"),
        {"s": json.dumps(summary), "i": import_id},
    )
    progress(f"wrote {written} {plan.level} units ({archived} previous versions kept)")
    return summary
