"""Edits on a draft: split a grid (along a line or into k balanced parts), merge two
neighbours, move a block to a neighbouring grid. Each re-checks the rules and the figures.

An edit that would leave a grid in pieces, cross a village boundary or empty a grid is refused
with a Conflict (409) that names the grid and why. Codes stay put where they can: a merge keeps
the lower (older) of the two codes, a split leaves the code with the largest part and
gives the others the next free numbers of the village, a move changes no code.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import numpy as np
import shapely
from shapely.ops import split
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import Principal
from gisgrid.errors import GridRuleBroken, InvalidCode, InvalidGeometry, NotFound
from gisgrid.redraw.balance import Band, partition, subgraph
from gisgrid.redraw.blocks import VillageBlocks
from gisgrid.redraw.grids import graph_of, village_grids
from gisgrid.redraw.plans import (
    load_plan,
    plan_grids,
    require_ready,
    totals,
    village_figures,
    write_villages,
)

OPS = ("split", "merge", "move")


def edit_plan(
    conn: Connection, who: Principal, plan_id: int, edit: dict[str, Any]
) -> dict[str, Any]:
    """Apply one edit to a ready draft; the village's new grids and the plan's new totals.

    `edit`: {"op": "split", "grid": CODE, "line": GeoJSON LineString} or {"op": "split",
    "grid": CODE, "parts": k}; {"op": "merge", "grids": [A, B]}; {"op": "move", "block": ID,
    "to": CODE}.
    """
    plan = load_plan(conn, who, plan_id, "editing a redraw plan", lock=True)
    require_ready(plan, "edited", reason="plan.not_editable")
    op = edit.get("op")
    if op not in OPS:
        raise InvalidCode(f"op={op!r} must be one of {', '.join(OPS)}", reason="edit.op", op=op)
    band = Band(plan["band_min"], plan["band_max"])
    village = _village_of_edit(conn, plan_id, op, edit)
    vb, codes, names = _load_village(conn, plan_id, village)
    labels = np.array([names.index(c) for c in codes], dtype=np.int64)
    keep = {i: c for i, c in enumerate(names)}
    if op == "merge":
        labels, keep, what = _merge(vb, labels, keep, edit)
    elif op == "move":
        labels, what = _move(vb, labels, names, edit)
    else:  # split: the grid's blocks go to the sides of a line, or to k balanced parts
        code = edit["grid"]
        j = names.index(code)
        members = np.flatnonzero(labels == j)
        if "line" in edit:
            side, how = _sides_of_line(vb, members, code, edit["line"])
        else:
            side, how = _balanced_sides(vb, members, code, edit.get("parts", 2), band, plan["seed"])
        what = {"op": "split", "grid": code} | how
        labels, keep, what = _apply_parts(vb, labels, keep, j, members, side, what)
    _check_contiguous(vb, labels, keep)
    max_seq = max(
        int(sql.scalar(conn, "redraw/village_max_seq", id=plan_id, village=village) or 0), 0
    )
    lon = float(shapely.centroid(shapely.envelope(vb.geoms[0])).x)
    vname = _village_name(conn, village)
    vg = village_grids(vb, labels, band, keep, max_seq, vname, lon)
    bad = vg.grids[shapely.get_num_geometries(vg.grids["geom"].to_numpy()) > 1]
    if len(bad):
        pieces = len(shapely.get_parts(bad["geom"].iloc[0]))
        raise GridRuleBroken(
            f"the edit would leave grid {bad['code'].iloc[0]} as {pieces} polygons; "
            "a grid must be one piece",
            reason="edit.polygons",
            grid=bad["code"].iloc[0],
            pieces=pieces,
        )
    write_villages(conn, plan_id, [(vb, vg)])
    summary = _update_summary(conn, plan, band, village, vb, vg)
    return {
        "plan": plan_id,
        "edit": what,
        "village": village,
        "grids": plan_grids(conn, plan_id, village=village),
        "totals": summary["totals"],
    }


def _village_of_edit(conn: Connection, plan_id: int, op: str, edit: dict[str, Any]) -> str:
    if op == "move":
        block = edit.get("block")
        if not isinstance(block, int):
            raise InvalidCode(
                f"block={block!r} must be a block id (GET /api/v1/plans/{{id}}/blocks)",
                reason="edit.block_id",
                block=block,
                plan=plan_id,
            )
        row = sql.one(
            conn,
            "redraw/plan_block_village",
            lambda: NotFound(
                f"block {block} is not part of plan {plan_id}",
                reason="edit.block_unknown",
                block=block,
                plan=plan_id,
            ),
            id=plan_id,
            block=block,
        )
        return str(row["village_code"])
    grids: Any = edit.get("grids") if op == "merge" else [edit.get("grid")]
    if (
        not isinstance(grids, list)
        or not grids
        or not all(isinstance(g, str) and len(g) == 15 and g.isdigit() for g in grids)
    ):
        raise InvalidCode(
            f"{'grids' if op == 'merge' else 'grid'}={grids if op == 'merge' else grids[0]!r} "
            "must name draft grid codes (15 digits)",
            reason="edit.grid_codes",
            value=grids if op == "merge" else grids[0],
        )
    if op == "merge" and len(set(grids)) != 2:
        raise InvalidCode(
            f"grids={grids!r}: a merge takes exactly two different grids",
            reason="edit.merge_two",
            grids=grids,
        )
    villages = set()
    for g in grids:
        row = sql.one(
            conn,
            "redraw/plan_grid_village",
            # partial, not lambda: the error is built with this loop's grid.
            partial(
                NotFound,
                f"grid {g} is not in plan {plan_id}",
                reason="edit.grid_unknown",
                grid=g,
                plan=plan_id,
            ),
            id=plan_id,
            code=g,
        )
        villages.add(row["village_code"])
    if len(villages) > 1:
        raise GridRuleBroken(
            f"grids {grids[0]} and {grids[1]} are in different villages "
            f"({', '.join(sorted(villages))}); a grid never crosses a village boundary",
            reason="edit.cross_village",
            a=grids[0],
            b=grids[1],
            villages="、".join(sorted(villages)),
        )
    return villages.pop()


def _load_village(
    conn: Connection, plan_id: int, village: str
) -> tuple[VillageBlocks, list[str], list[str]]:
    b = sql.frame(conn, "redraw/plan_blocks", id=plan_id, village=village, wkb=True, geojson=False)
    e = sql.frame(conn, "redraw/plan_block_edges", id=plan_id, villages=[village])
    pos = {int(i): k for k, i in enumerate(b["block_id"])}
    edges = np.array(
        [
            [pos[int(a)], pos[int(c)]]
            for a, c in zip(e["a"], e["b"], strict=True)
            if int(a) in pos and int(c) in pos
        ],
        dtype=np.int64,
    ).reshape(-1, 2)
    keep = np.array(
        [int(a) in pos and int(c) in pos for a, c in zip(e["a"], e["b"], strict=True)], dtype=bool
    )
    current = b["current_grid"].fillna("").to_numpy(dtype=object)
    hh = b["households"].to_numpy(dtype=np.int64)
    vb = VillageBlocks(
        village=village,
        geoms=shapely.from_wkb(b["wkb"].to_numpy()),
        area_m2=b["area_m2"].to_numpy(dtype=float),
        perimeter_m=b["perimeter_m"].to_numpy(dtype=float),
        grid_code=current,
        edges=edges,
        shared_m=e["shared_m"].to_numpy(dtype=float)[keep],
        road_m=e["road_m"].to_numpy(dtype=float)[keep],
        ids=b["block_id"].to_numpy(dtype=np.int64),
        households=hh,
        care=b["care_households"].to_numpy(dtype=np.int64),
        reports=b["open_reports"].to_numpy(dtype=np.int64),
        by_grid={
            (i, str(c)): int(h) for i, (c, h) in enumerate(zip(current, hh, strict=True)) if c
        },
    )
    codes = b["grid_code"].tolist()
    return vb, codes, sorted(set(codes))


def _merge(
    vb: VillageBlocks, labels: np.ndarray, keep: dict[int, str], edit: dict[str, Any]
) -> tuple[np.ndarray, dict[int, str], dict[str, Any]]:
    a_code, b_code = edit["grids"]
    inv = {c: i for i, c in keep.items()}
    a, b = inv[a_code], inv[b_code]
    ea, eb = labels[vb.edges[:, 0]], labels[vb.edges[:, 1]]
    if not (((ea == a) & (eb == b)) | ((ea == b) & (eb == a))).any():
        raise GridRuleBroken(
            f"grids {a_code} and {b_code} share no boundary: merged they would be two polygons, "
            "and a grid must be one piece",
            reason="edit.merge_apart",
            a=a_code,
            b=b_code,
        )
    # The merged grid keeps the older (lower) code: a split undone by a merge gets its code back.
    winner, loser = (a, b) if a_code < b_code else (b, a)
    labels = np.where(labels == loser, winner, labels)
    keep = {i: c for i, c in keep.items() if i != loser}
    return labels, keep, {"op": "merge", "grids": [a_code, b_code], "kept": keep[winner]}


def _move(
    vb: VillageBlocks, labels: np.ndarray, names: list[str], edit: dict[str, Any]
) -> tuple[np.ndarray, dict[str, Any]]:
    to = edit.get("to")
    if to not in names:
        raise GridRuleBroken(
            f"to={to!r} is not a grid of this block's village {vb.village}; a block moves only "
            f"to a grid of its own village ({', '.join(names)})",
            reason="edit.move_other_village",
            to=to,
            village=vb.village,
            grids="、".join(names),
        )
    b = int(np.flatnonzero(vb.ids == edit["block"])[0])
    src, dst = int(labels[b]), names.index(to)
    if src == dst:
        raise _move_refused(
            edit, to, f"block {edit['block']} is already in grid {to}", reason="edit.move_same"
        )
    g = graph_of(vb)
    if not (labels[g.neighbours(b)] == dst).any():
        raise _move_refused(
            edit,
            to,
            f"block {edit['block']} does not touch grid {to}: the grid would be two polygons; "
            "move a block on the grid's edge",
            reason="edit.move_apart",
        )
    rest = np.flatnonzero(labels == src)
    rest = rest[rest != b]
    if not len(rest):
        raise _move_refused(
            edit,
            names[src],
            f"block {edit['block']} is all that is left of grid {names[src]}; merge the grids "
            "instead",
            reason="edit.move_last",
        )
    comp = g.components(rest)[rest]
    if comp.max() > 0:
        raise _move_refused(
            edit,
            names[src],
            f"moving block {edit['block']} would cut grid {names[src]} in {comp.max() + 1} "
            "pieces; a grid must be one piece",
            reason="edit.move_cuts",
            pieces=int(comp.max()) + 1,
        )
    labels = labels.copy()
    labels[b] = dst
    return labels, {"op": "move", "block": edit["block"], "from": names[src], "to": to}


def _move_refused(
    edit: dict[str, Any], grid: str, message: str, *, reason: str, **more: int
) -> GridRuleBroken:
    """A block move a grid rule refuses, naming the block and the grid for the Chinese words."""
    return GridRuleBroken(message, reason=reason, block=edit["block"], grid=grid, **more)


def _sides_of_line(
    vb: VillageBlocks, members: np.ndarray, code: str, drawn: Any
) -> tuple[np.ndarray, dict[str, Any]]:
    """Which side of the drawn line each of the grid's blocks lies on (-1: none claimed it)."""
    try:
        line = shapely.from_geojson(json.dumps(drawn))
    except (shapely.errors.GEOSException, TypeError, ValueError) as exc:
        raise InvalidGeometry(
            f"line is not a GeoJSON LineString: {exc}", reason="edit.line_unreadable"
        ) from None
    if shapely.get_type_id(line) != 1 or line.is_empty:
        raise InvalidGeometry(
            f"line is a {line.geom_type}; draw a LineString across grid {code} (WGS84 lon/lat)",
            reason="edit.line_type",
            kind=line.geom_type,
            grid=code,
        )
    grid = shapely.union_all(vb.geoms[members])
    pieces = shapely.get_parts(split(grid, line)) if grid.intersects(line) else []
    if len(pieces) < 2:
        raise GridRuleBroken(
            f"the line does not cross grid {code} from edge to edge; draw it through the grid",
            reason="edit.line_misses",
            grid=code,
        )
    rep = shapely.point_on_surface(vb.geoms[members])
    side = np.full(len(members), -1)
    pi, bi = shapely.STRtree(pieces).query(rep, predicate="intersects")
    _, first = np.unique(pi, return_index=True)
    side[pi[first]] = bi[first]
    used = np.unique(side[side >= 0])
    if len(used) < 2:
        raise GridRuleBroken(
            f"every block of grid {code} lies on one side of the line (blocks follow roads and "
            "settlement gaps; a block goes with its centre): draw the line elsewhere",
            reason="edit.line_one_side",
            grid=code,
        )
    return side, {"by": "line"}


def _balanced_sides(
    vb: VillageBlocks, members: np.ndarray, code: str, k: Any, band: Band, seed: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """The grid's blocks in k parts of balanced households, each part one piece."""
    if not isinstance(k, int) or not 2 <= k <= 20:
        raise InvalidCode(
            f"parts={k!r} must be a whole number from 2 to 20", reason="edit.parts", parts=k
        )
    if len(members) < k:
        raise GridRuleBroken(
            f"grid {code} has {len(members)} block(s); it cannot be split in {k}",
            reason="edit.parts_blocks",
            grid=code,
            blocks=len(members),
            parts=k,
        )
    sub = subgraph(graph_of(vb), members)
    h = int(sub.households.sum())
    # Balanced parts: the band is the plan's if k parts can meet it, else an even split +-10%.
    even = Band(max(1, int(h / k * 0.9)), max(1, int(np.ceil(h / k * 1.1))))
    use = band if h >= k * band.lo and h <= k * band.hi else even
    return partition(sub, k, use, seed=seed), {"parts": k}


def _apply_parts(
    vb: VillageBlocks,
    labels: np.ndarray,
    keep: dict[int, str],
    j: int,
    members: np.ndarray,
    side: np.ndarray,
    what: dict[str, Any],
) -> tuple[np.ndarray, dict[int, str], dict[str, Any]]:
    parts = [int(p) for p in np.unique(side) if p >= 0]
    area = {p: float(vb.area_m2[members[side == p]].sum()) for p in parts}
    main = max(parts, key=lambda p: area[p])
    labels = labels.copy()
    nxt = int(labels.max()) + 1
    # Blocks no piece claimed (a line through a block's centre) stay with the main part.
    side = np.where(side < 0, main, side)
    for p in parts:
        if p != main:
            labels[members[side == p]] = nxt
            nxt += 1
    keep = dict(keep)
    what = dict(what, kept=keep[j], parts=len(parts))
    return labels, keep, what


def _check_contiguous(vb: VillageBlocks, labels: np.ndarray, keep: dict[int, str]) -> None:
    g = graph_of(vb)
    for lab in np.unique(labels):
        members = np.flatnonzero(labels == lab)
        comp = g.components(members)[members]
        if comp.max() > 0:
            name = keep.get(int(lab))
            raise GridRuleBroken(
                f"the edit would leave {name or 'a new grid'} in {comp.max() + 1} pieces; a grid "
                "must be one piece (draw the line so each side is connected)",
                reason="edit.pieces" if name else "edit.pieces_new",
                grid=name,
                pieces=int(comp.max()) + 1,
            )


def _village_name(conn: Connection, village: str) -> str:
    row = sql.first(conn, "redraw/unit", code=village)
    return str(row["name"]) if row else village


def _update_summary(
    conn: Connection, plan: dict[str, Any], band: Band, village: str, vb: VillageBlocks, vg: Any
) -> dict[str, Any]:
    summary = dict(plan["summary"] or {})
    vill = list(summary.get("villages", []))
    old: dict[str, Any] = next((v for v in vill if v["code"] == village), {})
    fresh = dict(old, **village_figures(vb, vg, band, old.get("name", village)), edited=True)
    vill = [fresh if v["code"] == village else v for v in vill]
    grids = sql.frame(conn, "redraw/plan_grid_figures", id=plan["id"])
    summary["villages"] = vill
    tot = totals([grids], vill, band)
    tot["runtime_s"] = (summary.get("totals") or {}).get("runtime_s")
    tot["edits"] = int((summary.get("totals") or {}).get("edits", 0)) + 1
    summary["totals"] = tot
    sql.execute(conn, "redraw/plan_summary", id=plan["id"], summary=json.dumps(summary))
    return summary
