"""What publishing a draft would change: households, open cases and staff per grid, the
households and cases that change grid, the lineage that would be recorded, and a diff layer.

It reads what the boundaries commit path would do and applies the same rules, without writing:
households and open cases go to the draft grid covering their point (the lowest code on a
shared edge), else to the successor of their grid; the successor is the new grid holding the
largest share of the old one; lineage is classified from overlap exactly as `sql/lineage.sql`
does (an overlap under 5% of the smaller grid is a moved edge, not descent). Overlaps come from
the blocks: they are cut along the current grid lines, so a block lies in one current grid and
one draft grid and the areas add up exactly.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import Principal
from gisgrid.boundaries import MIN_LINEAGE_SHARE
from gisgrid.errors import Conflict
from gisgrid.redraw.plans import load_plan

STAFF_ROLES = ("grid_chief", "full_time", "part_time")


def lineage(blocks: pd.DataFrame, names: dict[str, str], new_names: dict[str, str]) -> pd.DataFrame:
    """Lineage rows (old_code, new_code, relation, overlap_m2, shares) from block areas.

    `blocks`: current_grid, grid_code (draft) and area_m2 per block.
    """
    b = blocks[blocks["current_grid"].fillna("") != ""]
    pairs = b.groupby(["current_grid", "grid_code"], as_index=False)["area_m2"].sum()
    old_area = b.groupby("current_grid")["area_m2"].sum()
    new_area = blocks.groupby("grid_code")["area_m2"].sum()
    pairs["old_m2"] = pairs["current_grid"].map(old_area)
    pairs["new_m2"] = pairs["grid_code"].map(new_area)
    sig = pairs[
        pairs["area_m2"] >= MIN_LINEAGE_SHARE * np.minimum(pairs["old_m2"], pairs["new_m2"])
    ]
    sig = sig.assign(
        share_of_old=sig["area_m2"] / sig["old_m2"],
        share_of_new=sig["area_m2"] / sig["new_m2"],
        n_new=sig.groupby("current_grid")["grid_code"].transform("size"),
        n_old=sig.groupby("grid_code")["current_grid"].transform("size"),
    )
    one = (sig["n_new"] == 1) & (sig["n_old"] == 1)
    same = (sig["current_grid"] == sig["grid_code"]) & (
        sig["current_grid"].map(names) == sig["grid_code"].map(new_names)
    )
    whole = (sig["share_of_old"] >= 0.99) & (sig["share_of_new"] >= 0.99)
    relation = np.select(
        [one & ~whole, one & same, one, sig["n_old"] == 1, sig["n_new"] == 1],
        ["reshaped", "unchanged", "renamed", "split", "merged"],
        default="redrawn",
    )
    out = pd.DataFrame(
        {
            "old_code": sig["current_grid"],
            "new_code": sig["grid_code"],
            "relation": relation,
            "overlap_m2": sig["area_m2"].round(1),
            "share_of_old": sig["share_of_old"].round(4),
            "share_of_new": sig["share_of_new"].round(4),
        }
    )
    retired = sorted(set(old_area.index) - set(out["old_code"]))
    created = sorted(set(new_area.index) - set(out["new_code"]))
    extra = [{"old_code": c, "new_code": None, "relation": "retired"} for c in retired] + [
        {"old_code": None, "new_code": c, "relation": "created"} for c in created
    ]
    if extra:
        out = pd.concat([out, pd.DataFrame(extra)], ignore_index=True)
    return out.sort_values(["old_code", "new_code"], na_position="last").reset_index(drop=True)


def successors(lin: pd.DataFrame) -> dict[str, str]:
    """Each old grid's successor: the new grid holding the largest share of it."""
    d = lin.dropna(subset=["old_code", "new_code"]).sort_values(
        ["old_code", "share_of_old", "new_code"], ascending=[True, False, True]
    )
    return dict(d.drop_duplicates("old_code")[["old_code", "new_code"]].itertuples(False, None))


def _place(frame_xy: pd.DataFrame, codes: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """The draft grid covering each point (lowest code on a shared edge), '' if none or no point."""
    out = np.full(len(frame_xy), "", dtype=object)
    has = frame_xy["x"].notna().to_numpy()
    if not has.any():
        return out
    order = np.argsort(codes)
    tree = shapely.STRtree(geoms[order])
    pts = shapely.points(frame_xy.loc[has, ["x", "y"]].to_numpy(dtype=float))
    pi, gi = tree.query(pts, predicate="intersects")
    o = np.lexsort((gi, pi))  # per point, lowest code first, as locate does
    pi, gi = pi[o], gi[o]
    first = np.unique(pi, return_index=True)[1]
    idx = np.flatnonzero(has)
    out[idx[pi[first]]] = codes[order][gi[first]]
    return out


def plan_impact(conn: Connection, who: Principal, plan_id: int) -> dict[str, Any]:
    """The impact preview of a ready draft (nothing is written)."""
    plan = load_plan(conn, who, plan_id, "previewing a redraw plan's impact")
    if plan["status"] not in ("ready", "published"):
        raise Conflict(
            f"plan {plan_id} is {plan['status']}; the impact needs a ready draft",
            reason="plan.not_ready_impact",
            plan=plan_id,
            status=plan["status"],
        )
    villages = sql.frame(conn, "redraw/plan_villages", id=plan_id)["village_code"].tolist()
    draft = sql.frame(conn, "redraw/plan_grid_shapes", id=plan_id)
    dgeom = shapely.from_wkb(draft["wkb"].to_numpy())
    dcodes = draft["code"].to_numpy(dtype=object)
    cur = sql.frame(conn, "redraw/current_grid_info", villages=villages)
    names = dict(zip(cur["code"], cur["name"], strict=True))
    vnames = dict(
        sql.frame(conn, "redraw/unit_names", codes=villages)[["code", "name"]].itertuples(
            False, None
        )
    )
    new_names = {
        c: names[c] if c in names else f"{vnames.get(c[:12], c[:12])}第{int(c[-3:])}网格"
        for c in dcodes
    }
    blocks = sql.frame(
        conn, "redraw/plan_blocks", id=plan_id, village=None, wkb=True, geojson=False
    )
    lin = lineage(blocks, names, new_names)
    succ = successors(lin)
    # Households and open cases: by point into the draft, else their grid's successor.
    hh = sql.frame(conn, "redraw/impact_households", villages=villages)
    hh["new"] = _place(hh, dcodes, dgeom)
    hh.loc[hh["new"] == "", "new"] = hh["grid_code"].map(succ).fillna("")
    rp = sql.frame(conn, "redraw/impact_reports", villages=villages)
    rp["new"] = _place(rp, dcodes, dgeom)
    rp.loc[rp["new"] == "", "new"] = rp["grid_code"].map(succ).fillna("")
    # Staff follow their grid's successor; household leaders their group's new grid.
    st = sql.frame(conn, "redraw/impact_staff", villages=villages)
    group_new = (
        hh.dropna(subset=["group_id"])
        .groupby(["group_id", "new"])
        .size()
        .reset_index(name="n")
        .sort_values(["group_id", "n", "new"], ascending=[True, False, True])
        .drop_duplicates("group_id")
        .set_index("group_id")["new"]
    )
    st["new"] = st["grid_code"].map(succ)
    leaders = st["role"] == "household_leader"
    st.loc[leaders, "new"] = (
        st.loc[leaders, "group_id"].map(group_new).fillna(st.loc[leaders, "new"])
    )
    workers = st[st["role"].isin(STAFF_ROLES)]
    per_grid = _per_grid(cur, draft, hh, rp, workers)
    moves = (
        pd.concat(
            [
                hh[hh["grid_code"] != hh["new"]].assign(kind="households"),
                rp[rp["grid_code"] != rp["new"]].assign(kind="open_cases"),
            ]
        )
        .groupby(["grid_code", "new", "kind"])
        .size()
        .unstack(fill_value=0)
        .reset_index()
        .rename(columns={"grid_code": "from", "new": "to"})
    )
    for col in ("households", "open_cases"):
        if col not in moves:
            moves[col] = 0
    counts = lin["relation"].value_counts().to_dict()
    return {
        "plan": plan_id,
        "villages": villages,
        "households_changing_grid": int((hh["grid_code"] != hh["new"]).sum()),
        "open_cases_changing_grid": int((rp["grid_code"] != rp["new"]).sum()),
        "households": int(len(hh)),
        "open_cases": int(len(rp)),
        "grids_without_staff": sorted(
            r["code"] for r in per_grid if r["staff_after"] == 0 and r["households_after"]
        ),
        "grids": per_grid,
        "moves": [
            {
                "from": r["from"],
                "to": r["to"] or None,
                "households": int(r["households"]),
                "open_cases": int(r["open_cases"]),
            }
            for r in moves.sort_values("households", ascending=False).to_dict("records")
        ],
        "lineage": [
            {k: (None if pd.isna(v) else v) for k, v in r.items()} for r in lin.to_dict("records")
        ],
        "lineage_counts": {str(k): int(v) for k, v in sorted(counts.items())},
        "diff": _diff_layer(blocks, names),
    }


def _per_grid(
    cur: pd.DataFrame,
    draft: pd.DataFrame,
    hh: pd.DataFrame,
    rp: pd.DataFrame,
    staff: pd.DataFrame,
) -> list[dict[str, Any]]:
    codes = sorted(set(cur["code"]) | set(draft["code"]))
    out = []
    hb, ha = hh["grid_code"].value_counts(), hh["new"].value_counts()
    rb, ra = rp["grid_code"].value_counts(), rp["new"].value_counts()
    sb, sa = staff["grid_code"].value_counts(), staff["new"].value_counts()
    in_draft, in_cur = set(draft["code"]), set(cur["code"])
    for c in codes:
        out.append(
            {
                "code": c,
                "households_before": int(hb.get(c, 0)) if c in in_cur else None,
                "households_after": int(ha.get(c, 0)) if c in in_draft else None,
                "open_cases_before": int(rb.get(c, 0)) if c in in_cur else None,
                "open_cases_after": int(ra.get(c, 0)) if c in in_draft else None,
                "staff_before": int(sb.get(c, 0)) if c in in_cur else None,
                "staff_after": int(sa.get(c, 0)) if c in in_draft else None,
            }
        )
    return out


def _diff_layer(blocks: pd.DataFrame, names: dict[str, str]) -> dict[str, Any]:
    """Areas that change grid, one feature per (from, to) pair: the map's diff layer."""
    moved = blocks[blocks["current_grid"].fillna("") != blocks["grid_code"]]
    feats = []
    if not moved.empty:
        geoms = shapely.from_wkb(moved["wkb"].to_numpy())
        for (a, b), idx in moved.groupby(["current_grid", "grid_code"]).indices.items():
            g = shapely.union_all(geoms[idx])
            feats.append(
                {
                    "type": "Feature",
                    "geometry": json.loads(shapely.to_geojson(g)),
                    "properties": {
                        "from": a or None,
                        "to": b,
                        "households": int(moved["households"].to_numpy()[idx].sum()),
                        "area_m2": round(float(moved["area_m2"].to_numpy()[idx].sum()), 1),
                    },
                }
            )
    return {"type": "FeatureCollection", "numberReturned": len(feats), "features": feats}
