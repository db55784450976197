"""Draft plans (方案): asked for, computed in the background, read, listed, discarded.

A plan row says what was asked (unit, band, mode, seed), from which generation, and how far
the work is (`status` queued -> running -> ready | failed, then published; `progress` 0..1).
The draft itself is two tables: which draft grid each block is in (`redraw_plan_block`) and
the draft grids with their figures and geometry (`redraw_plan_grid`). Any worker process can
answer for any plan because everything is in the database.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine

from gisgrid import sql
from gisgrid.access import MAP_EDITORS, Principal
from gisgrid.divisions import unit_code, unit_prefix
from gisgrid.errors import Conflict, GisGridError, InvalidCode, NotFound
from gisgrid.geojson import row_feature
from gisgrid.models import STORAGE_SRID
from gisgrid.redraw import blocks as blockmod
from gisgrid.redraw.balance import Band, BlockGraph, balance_village, choose_k
from gisgrid.redraw.blocks import VillageBlocks
from gisgrid.redraw.grids import graph_of, mutual_majority, village_grids
from gisgrid.redraw.minimal import minimal_change

log = logging.getLogger(__name__)

MODES = ("balance", "minimal_change")
PLAN_ROLES = MAP_EDITORS  # planners, county operators and admins
OPEN = ("queued", "running")


def parse_band(band: Any) -> Band:
    """A band from [min, max], (min, max) or "min,max"; InvalidCode naming what was given."""
    vals = band.split(",") if isinstance(band, str) else band
    try:
        lo, hi = (int(v) for v in vals)
    except (TypeError, ValueError):
        raise InvalidCode(
            f"band={band!r} is not two whole numbers of households; give [min, max], "
            "e.g. [150, 300]",
            reason="plan.band",
            band=band,
        ) from None
    return Band(lo, hi)


def _scope_check(who: Principal, unit: str, action: str) -> None:
    who.require(PLAN_ROLES, action)
    who.require_scope(unit_prefix(unit), action)


def create_plan(
    conn: Connection,
    who: Principal,
    unit: str,
    band: Any,
    mode: str = "balance",
    seed: int = 0,
) -> dict[str, Any]:
    """Queue a draft for a village, town or county; the caller commits, then runs it."""
    try:
        code = unit_code(unit)
    except InvalidCode as exc:  # said again with its reason: the planner's page shows it
        raise InvalidCode(str(exc), reason="unit.code", code=unit) from None
    _scope_check(who, code, "drafting a redraw plan")
    b = parse_band(band)
    if mode not in MODES:
        raise InvalidCode(
            f"mode={mode!r} must be one of {', '.join(MODES)}", reason="plan.mode", mode=mode
        )
    if not isinstance(seed, int) or seed < 0:
        raise InvalidCode(
            f"seed={seed!r} must be a whole number >= 0", reason="plan.seed", seed=seed
        )
    sql.one(
        conn,
        "redraw/unit",
        lambda: NotFound(
            f"no county, town or village has code {code} (asked for {unit!r})",
            reason="plan.unit_unknown",
            code=code,
        ),
        code=code,
    )
    county = code[:6] + "000000"
    gen = sql.one(
        conn,
        "redraw/current_generation",
        lambda: NotFound(
            f"county {county} has no current grid generation to redraw",
            reason="plan.no_generation",
            county=county,
        ),
        county=county,
    )
    plan_id = sql.scalar(
        conn,
        "redraw/insert_plan",
        county=county,
        unit=code,
        mode=mode,
        band_min=b.lo,
        band_max=b.hi,
        seed=seed,
        generation_id=gen["id"],
        account_id=who.account_id,
        username=who.username,
    )
    return {"id": int(plan_id), "status": "queued", "unit": code, "generation": gen["name"]}


def load_plan(
    conn: Connection, who: Principal, plan_id: int, action: str, *, lock: bool = False
) -> dict[str, Any]:
    """The plan row, after the role and scope checks (locked FOR UPDATE when asked)."""
    who.require(PLAN_ROLES, action)
    unknown = partial(
        NotFound,
        f"no plan has id {plan_id}; GET /api/v1/plans lists the drafts",
        reason="plan.unknown",
        plan=plan_id,
    )
    row = sql.one(conn, "redraw/plan", unknown, id=plan_id)
    who.require_scope(unit_prefix(row["unit_code"]), action)
    if lock:
        sql.execute(conn, "redraw/plan_for_update", id=plan_id)
        # Read again under the lock (a plan discarded meanwhile is unknown, not a crash).
        row = sql.one(conn, "redraw/plan", unknown, id=plan_id)
    return dict(row)


def require_ready(plan: dict[str, Any], done: str, *, reason: str) -> None:
    """Refuse (Conflict) a step only a ready draft takes; `done` says which ("edited")."""
    if plan["status"] != "ready":
        raise Conflict(
            f"plan {plan['id']} is {plan['status']}; only a ready draft can be {done}",
            reason=reason,
            plan=plan["id"],
            status=plan["status"],
        )


def _status(row: dict[str, Any]) -> dict[str, Any]:
    status = "failed" if row["stalled"] else row["status"]
    return {
        "id": row["id"],
        "unit": row["unit_code"],
        "unit_name": row.get("unit_name"),
        "mode": row["mode"],
        "band": [row["band_min"], row["band_max"]],
        "seed": row["seed"],
        "status": status,
        "progress": round(float(row["progress"]), 3),
        "message": "the worker stopped reporting; run the plan again"
        if row["stalled"]
        else row["message"],
        "error": row["error"],
        # Why it failed, as a reason and its values (said in Chinese by the API and the CLI).
        "failure": {"reason": "plan.stalled", "params": {}}
        if row["stalled"]
        else (row["summary"] or {}).get("failure")
        if row["status"] == "failed"
        else None,
        "generation": {
            "id": row["generation_id"],
            "name": row["generation"],
            "current": not row["generation_replaced"],
        },
        "published_generation_id": row["published_generation_id"],
        "created_by": row["username"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


def get_plan(
    conn: Connection,
    who: Principal,
    plan_id: int,
    *,
    geometry: bool = True,
    village: str | None = None,
) -> dict[str, Any]:
    """Status with progress; once ready, the draft grids (GeoJSON) and the summary."""
    row = load_plan(conn, who, plan_id, "reading a redraw plan")
    out = _status(row)
    out["summary"] = row["summary"] or {}
    if row["status"] in ("ready", "published"):
        out["grids"] = plan_grids(conn, plan_id, geometry=geometry, village=village)
    return out


# A draft grid's properties as the statement names them (then the renamed and rounded ones).
PLAN_GRID_COLUMNS = (
    "code",
    "village_name",
    "households",
    "care_households",
    "open_reports",
    "blocks",
    "in_band",
    "changed",
)


def plan_grids(
    conn: Connection, plan_id: int, *, geometry: bool = True, village: str | None = None
) -> dict[str, Any]:
    """A draft's grids as a GeoJSON FeatureCollection."""
    rows = sql.rows(conn, "redraw/plan_grids", id=plan_id, geometry=geometry, village=village)
    feats = [
        row_feature(
            r,
            "code",
            PLAN_GRID_COLUMNS,
            village=r["village_code"],
            area_km2=round(r["area_m2"] / 1e6, 4),
            polsby_popper=round(r["polsby_popper"], 4),
        )
        for r in rows
    ]
    return {"type": "FeatureCollection", "numberReturned": len(feats), "features": feats}


def list_plans(conn: Connection, who: Principal, limit: int = 100) -> list[dict[str, Any]]:
    """Drafts inside the caller's scope, newest first."""
    who.require(PLAN_ROLES, "listing redraw plans")
    rows = sql.rows(conn, "redraw/plans", scope=who.scope, limit=limit)
    return [
        {
            "id": r["id"],
            "unit": r["unit_code"],
            "unit_name": r["unit_name"],
            "mode": r["mode"],
            "band": [r["band_min"], r["band_max"]],
            "status": r["status"],
            "progress": round(float(r["progress"]), 3),
            "message": r["message"],
            "generation": {
                "id": r["generation_id"],
                "name": r["generation"],
                "current": not r["generation_replaced"],
            },
            "created_by": r["username"],
            "created_at": r["created_at"].isoformat(),
            "totals": r["totals"],
        }
        for r in rows
    ]


def discard_plan(conn: Connection, who: Principal, plan_id: int) -> dict[str, Any]:
    """Delete a draft that is not published (a published one is history: kept)."""
    row = load_plan(conn, who, plan_id, "discarding a redraw plan", lock=True)
    if row["status"] == "published":
        raise Conflict(
            f"plan {plan_id} was published as generation {row['published_generation_id']}; "
            "a published plan is kept as the record of that redraw",
            reason="plan.published_kept",
            plan=plan_id,
            generation=row["published_generation_id"],
        )
    sql.execute(conn, "redraw/delete_plan", id=plan_id)
    return {"id": plan_id, "discarded": True}


def plan_blocks(conn: Connection, who: Principal, plan_id: int, village: str) -> dict[str, Any]:
    """A village's blocks in a draft as GeoJSON (for moving one on the map)."""
    load_plan(conn, who, plan_id, "reading a redraw plan's blocks")
    rows = sql.rows(
        conn,
        "redraw/plan_blocks",
        id=plan_id,
        village=unit_code(village),
        wkb=False,
        geojson=True,
    )
    feats = [
        row_feature(
            r,
            "block_id",
            block=r["block_id"],
            grid=r["grid_code"],
            current_grid=r["current_grid"],
            households=r["households"],
            area_m2=round(r["area_m2"], 1),
        )
        for r in rows
    ]
    return {"type": "FeatureCollection", "numberReturned": len(feats), "features": feats}


# --- Running a plan -------------------------------------------------------------------------


# A plan's steps in the core's words (the row's message, logs); the API and the command line
# say them in Chinese by the same keys (api/errors.py).
STEPS = {
    "plan.step_reading": "reading the villages",
    "plan.step_blocks": "{detail}",
    "plan.step_drawing": "drawing {villages} villages",
    "plan.step_village": "village {i} of {n}: {code}",
    "plan.step_writing": "writing the draft",
}


@dataclass(frozen=True)
class PlanStep:
    """How far a plan's work is: the share done, and the step's reason and values."""

    share: float
    reason: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return STEPS[self.reason].format(**self.params)


def _reporter(
    engine: Engine, plan_id: int, progress: Callable[[PlanStep], None]
) -> Callable[..., None]:
    """Write progress in its own short transaction so any reader sees it at once."""
    last = [0.0]

    def report(share: float, reason: str, force: bool = False, **params: Any) -> None:
        step = PlanStep(share, reason, params)
        progress(step)
        message = str(step)
        now = time.monotonic()
        if not force and now - last[0] < 0.5:
            return
        last[0] = now
        with engine.begin() as conn:
            sql.execute(
                conn,
                "redraw/plan_progress",
                id=plan_id,
                status="running",
                progress=round(share, 3),
                message=message,
            )

    return report


def run_plan(
    engine: Engine, plan_id: int, progress: Callable[[PlanStep], None] = lambda s: None
) -> dict[str, Any]:
    """Compute a queued draft and store it; the plan row says `ready` (or `failed`, and why)."""
    with engine.connect() as conn:
        row = sql.one(
            conn, "redraw/plan", lambda: NotFound(f"no plan has id {plan_id}"), id=plan_id
        )
    report = _reporter(engine, plan_id, progress)
    try:
        summary = _compute(engine, dict(row), report)
    except Exception as exc:
        with engine.begin() as conn:
            mark_failed(conn, plan_id, exc)
        raise
    return summary


def mark_failed(conn: Connection, plan_id: int, exc: BaseException, reason: str = "") -> None:
    """Say on the plan row that its work stopped, with the error's reason and values kept."""
    if isinstance(exc, GisGridError) and exc.reason:
        failure = {"reason": exc.reason, "params": exc.params}
    else:  # not a refusal the core foresaw: its kind is named, its English kept for the log
        failure = {"reason": reason or "plan.crashed", "params": {"kind": type(exc).__name__}}
    try:
        stored = json.dumps({"failure": failure}, default=_json)
    except TypeError:  # a value JSON cannot hold must not hide the failure: said as text
        stored = json.dumps({"failure": failure}, default=str)
    sql.execute(conn, "redraw/plan_failed", id=plan_id, error=f"{exc}"[:2000], failure=stored)


def _compute(engine: Engine, plan: dict[str, Any], report: Callable[..., None]) -> dict[str, Any]:
    t0 = time.monotonic()
    band = Band(plan["band_min"], plan["band_max"])
    report(0.01, "plan.step_reading", force=True)
    with engine.begin() as conn:
        vrows = sql.frame(conn, "redraw/unit_villages", prefix=unit_prefix(plan["unit_code"]))
        if vrows.empty:
            raise NotFound(
                f"unit {plan['unit_code']} has no villages with a boundary",
                reason="plan.no_villages",
                unit=plan["unit_code"],
            )
        villages = vrows["code"].tolist()
        names = dict(zip(vrows["code"], vrows["name"], strict=True))
        blocks = blockmod.village_blocks(
            conn,
            plan["generation_id"],
            villages,
            progress=lambda m: report(0.05, "plan.step_blocks", detail=m),
        )
        households = sql.frame(conn, "redraw/plan_households", villages=villages)
        reports = sql.frame(conn, "redraw/plan_reports", villages=villages)
        maxseq = dict(
            sql.frame(conn, "redraw/max_grid_seq", villages=villages)[
                ["village_code", "seq"]
            ].itertuples(index=False, name=None)
        )
    blockmod.count_in_blocks(blocks, households, reports)
    lon = float(
        np.mean([shapely.centroid(shapely.envelope(vb.geoms[0])).x for vb in blocks.values()])
    )
    report(0.1, "plan.step_drawing", force=True, villages=len(villages))
    parts, villages_out = [], []
    for i, code in enumerate(villages):
        vb = blocks.get(code)
        if vb is None or not len(vb):
            continue
        labels, keep, info = _draw_village(vb, band, plan["mode"], plan["seed"])
        info["notes"] = village_notes(vb, band, info)
        vg = village_grids(vb, labels, band, keep, int(maxseq.get(code, 0)), names[code], lon)
        parts.append((vb, vg))
        info.update(village_figures(vb, vg, band, names[code]))
        villages_out.append(info)
        report(
            0.1 + 0.8 * (i + 1) / len(villages),
            "plan.step_village",
            i=i + 1,
            n=len(villages),
            code=code,
        )
    tot = totals([vg.grids for _, vg in parts], villages_out, band)
    tot["runtime_s"] = round(time.monotonic() - t0, 2)
    summary: dict[str, Any] = {"villages": villages_out, "totals": tot}
    report(0.95, "plan.step_writing", force=True)
    with engine.begin() as conn:
        write_villages(conn, plan["id"], parts)
        sql.execute(
            conn,
            "redraw/plan_ready",
            id=plan["id"],
            message=_ready_message(tot),
            summary=json.dumps(summary, default=_json),
        )
    return summary


# What a village's note says, as keys and values (the English `note` stays beside them for
# logs; the API's readers and `gisgrid plan` say them in Chinese by the same keys).
NOTES = {
    "note.below_min": "{households} households, below the band's minimum {lo}: one grid",
    "note.no_fit": "{households} households fit no whole number of grids of {lo}-{hi}: {k}",
    "note.pieces": "{pieces} unconnected pieces, grids per piece",
    "note.not_optimal": "the best plan found, not proven optimal",
}


def village_notes(vb: VillageBlocks, band: Band, info: dict[str, Any]) -> list[dict[str, Any]]:
    """Why a village's draft is not the plain case: the band does not fit, islands, no proof."""
    total = int(vb.households.sum())
    k, why = choose_k(total, band)
    notes: list[dict[str, Any]] = []
    if why is not None:
        reason = "note.below_min" if total < band.lo else "note.no_fit"
        notes.append(
            {
                "reason": reason,
                "params": {"households": total, "lo": band.lo, "hi": band.hi, "k": k},
            }
        )
    pieces = int(graph_of(vb).components().max()) + 1 if len(vb) else 0
    if pieces > 1:
        notes.append({"reason": "note.pieces", "params": {"pieces": pieces}})
    if info.get("optimal") is False:
        notes.append({"reason": "note.not_optimal", "params": {}})
    return notes


def _draw_village(
    vb: VillageBlocks, band: Band, mode: str, seed: int
) -> tuple[np.ndarray, dict[int, str], dict[str, Any]]:
    """Labels per block, which labels keep a current code, and what happened in the village."""
    g = graph_of(vb)
    total = int(vb.households.sum())
    if mode == "minimal_change":
        codes = sorted({c for c in vb.grid_code if c})
        col = {c: i for i, c in enumerate(codes)}
        start = _start_labels(g, vb, col)
        stay = np.array(
            [vb.by_grid.get((b, vb.grid_code[b]), 0) for b in range(len(vb))], dtype=np.int64
        )
        res = minimal_change(g, start, band, stay, seed=seed)
        keep = {j: codes[j] for j in range(len(codes)) if (res.labels == j).any()}
        info = {
            "changed": res.changed,
            "optimal": res.optimal,
            "note": res.note,
            "feasible": choose_k(total, band)[1] is None,
        }
        return res.labels, keep, info
    vp = balance_village(g, band, seed=seed)
    return vp.labels, mutual_majority(vb, vp.labels), {"feasible": vp.feasible, "note": vp.note}


def _start_labels(g: BlockGraph, vb: VillageBlocks, col: dict[str, int]) -> np.ndarray:
    """Each block's current grid index; a block in no grid joins its neighbours' grid."""
    start = np.array([col.get(c, -1) for c in vb.grid_code], dtype=np.int64)
    for _ in range(len(start)):
        lost = np.flatnonzero(start < 0)
        if not len(lost):
            break
        for b in lost:
            nb = [int(start[n]) for n in g.neighbours(int(b)) if start[n] >= 0]
            if nb:
                start[b] = max(set(nb), key=nb.count)
    start[start < 0] = 0
    return start


def village_figures(vb: VillageBlocks, vg: Any, band: Band, name: str) -> dict[str, Any]:
    grids = vg.grids
    code_of_block = vg.block_codes
    moved = 0
    for (b, old), n in vb.by_grid.items():
        if code_of_block[b] != old:
            moved += n
    dev = band.deviation(grids["households"].to_numpy())
    return {
        "code": vb.village,
        "name": name,
        "households": int(vb.households.sum()),
        "grids_before": len({c for c in vb.grid_code if c}),
        "grids_after": len(grids),
        "in_band": int((dev == 0).sum()),
        "worst_deviation": int(dev.max()) if len(dev) else 0,
        "households_moved": int(moved),
        "blocks": len(vb),
    }


def totals(
    grid_frames: list[pd.DataFrame], villages: list[dict[str, Any]], band: Band
) -> dict[str, Any]:
    """County-wide (or unit-wide) figures of a draft."""
    g = pd.concat(grid_frames, ignore_index=True) if grid_frames else pd.DataFrame()
    if g.empty:
        return {"grids": 0}
    feasible_villages = {v["code"] for v in villages if v.get("feasible")}
    feas = g[g["village_code"].isin(feasible_villages)]
    dev = band.deviation(g["households"].to_numpy())
    return {
        "band": [band.lo, band.hi],
        "villages": len(villages),
        "villages_changed": sum(
            1 for v in villages if v.get("changed", True) and v["households_moved"] > 0
        ),
        "grids": len(g),
        "grids_in_band": int((dev == 0).sum()),
        "feasible_grids": len(feas),
        "feasible_grids_in_band": int(feas["in_band"].sum()),
        "share_in_band": round(float(feas["in_band"].mean()), 4) if len(feas) else None,
        "worst_deviation": int(dev.max()),
        "mean_polsby_popper": round(float(g["polsby_popper"].mean()), 4),
        "households": int(g["households"].sum()),
        "households_moved": int(sum(v["households_moved"] for v in villages)),
        "grids_changed": int(g["changed"].sum()),
    }


def _ready_message(t: dict[str, Any]) -> str:
    share = t.get("share_in_band")
    return (
        f"{t.get('grids', 0)} grids, "
        f"{'-' if share is None else f'{share:.1%}'} of feasible grids in band, "
        f"mean Polsby-Popper {t.get('mean_polsby_popper', 0):.3f}, "
        f"{t.get('households_moved', 0):,} households change grid"
    )


def _json(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    raise TypeError(type(v))


def _ewkb(geoms: np.ndarray) -> np.ndarray:
    geoms = np.asarray(geoms, dtype=object).copy()
    single = shapely.get_type_id(geoms) == 3
    geoms[single] = [shapely.MultiPolygon([g]) for g in geoms[single]]
    return shapely.to_wkb(shapely.set_srid(geoms, STORAGE_SRID), hex=True, include_srid=True)


def write_villages(conn: Connection, plan_id: int, parts: list[tuple[VillageBlocks, Any]]) -> None:
    """Replace the draft's blocks and grids in these villages (one COPY each)."""
    if not parts:
        return
    sql.execute(
        conn, "redraw/clear_plan_villages", id=plan_id, villages=[vb.village for vb, _ in parts]
    )
    pb = pd.concat(
        [
            pd.DataFrame(
                {
                    "plan_id": plan_id,
                    "block_id": vb.ids,
                    "village_code": vb.village,
                    "grid_code": vg.block_codes,
                    "households": vb.households,
                    "care_households": vb.care,
                    "open_reports": vb.reports,
                }
            )
            for vb, vg in parts
        ]
    )
    grids = pd.concat([vg.grids for _, vg in parts], ignore_index=True)
    pg = pd.DataFrame(
        {
            "plan_id": plan_id,
            "code": grids["code"],
            "village_code": grids["village_code"],
            "households": grids["households"],
            "care_households": grids["care_households"],
            "open_reports": grids["open_reports"],
            "blocks": grids["blocks"],
            "area_m2": grids["area_m2"],
            "polsby_popper": grids["polsby_popper"],
            "in_band": grids["in_band"],
            "changed": grids["changed"],
            "geom": _ewkb(grids["geom"].to_numpy()),
        }
    )
    sql.copy_frame(conn, "redraw_plan_block", pb)
    sql.copy_frame(conn, "redraw_plan_grid", pg)


# --- The background runner ------------------------------------------------------------------

_engines: dict[str, Engine] = {}


def _run_in_worker(database_url: str, plan_id: int) -> None:
    """Run one plan in a worker process (one engine per process, made on first use)."""
    from gisgrid.db import make_engine

    engine = _engines.get(database_url)
    if engine is None:
        engine = _engines[database_url] = make_engine(database_url)
    try:
        run_plan(engine, plan_id)
    except Exception:  # noqa: BLE001 - the plan row carries the error; the worker lives on
        log.exception("redraw plan %s failed", plan_id)


class PlanRunner:
    """Runs plans away from the request threads: a process pool the app owns (or threads)."""

    def __init__(self, database_url: str, workers: int = 1) -> None:
        self.database_url = database_url
        self.workers = workers
        self._pool: Executor | None = None

    def _executor(self) -> Executor:
        if self._pool is None:
            if self.workers > 0:
                import multiprocessing

                # spawn, not fork: the server process holds threads and open connections.
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context("spawn")
                )
            else:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="redraw")
        return self._pool

    def submit(self, plan_id: int) -> None:
        """Start a committed, queued plan; a plan whose worker dies is marked failed."""
        try:
            future = self._executor().submit(_run_in_worker, self.database_url, plan_id)
        except RuntimeError:
            # A process pool cannot start here (e.g. a script without a __main__ guard under
            # spawn): run plans on a thread instead rather than leave this one queued.
            log.exception("redraw: no worker process; running plans on a thread")
            self.shutdown()
            self.workers = 0
            future = self._executor().submit(_run_in_worker, self.database_url, plan_id)
        future.add_done_callback(lambda f: self._check(f, plan_id))

    def _check(self, future: Any, plan_id: int) -> None:
        if future.cancelled() or future.exception() is None:
            return
        from gisgrid.db import make_engine

        engine = make_engine(self.database_url)
        try:
            exc = future.exception()
            assert exc is not None
            with engine.begin() as conn:
                mark_failed(conn, plan_id, RuntimeError(f"the worker stopped: {exc}"), "plan.died")
        finally:
            engine.dispose()

    def shutdown(self) -> None:
        """Stop the pool (running plans finish first)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


@contextmanager
def runner(database_url: str, workers: int = 1) -> Iterator[PlanRunner]:
    """A PlanRunner shut down on exit."""
    r = PlanRunner(database_url, workers)
    try:
        yield r
    finally:
        r.shutdown()
