"""A village's draft grids from its blocks' labels: codes, geometry, households and shape.

Codes follow the 15-digit scheme (village code + 3-digit sequence, DB11/T 2157-2023). A draft
grid keeps a current grid's code when it is that grid in substance: in minimal change, the grid
the solver kept; in balance, a grid holding most of a current grid's area that is itself mostly
that grid (mutual majority). Every other grid gets a new sequence above the highest the village
has ever used, numbered west to east, north to south (rows of about one grid's height, from the
north, each read from the west), so a code never names two different areas over time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from gisgrid.boundaries import metric
from gisgrid.errors import Conflict
from gisgrid.redraw.balance import Band, BlockGraph, grid_figures
from gisgrid.redraw.blocks import VillageBlocks


def graph_of(vb: VillageBlocks) -> BlockGraph:
    """The block graph of a village (households must be counted first)."""
    return BlockGraph.from_edges(vb.households, vb.area_m2, vb.perimeter_m, vb.edges, vb.shared_m)


@dataclass
class VillageGrids:
    """One village's draft grids (one row each) and each block's grid code."""

    grids: pd.DataFrame  # code, village_code, households, ..., geom (WGS84)
    block_codes: np.ndarray  # per block


def mutual_majority(vb: VillageBlocks, labels: np.ndarray) -> dict[int, str]:
    """Labels that are a current grid in substance: most of its area, and mostly it."""
    k = int(labels.max()) + 1 if len(labels) else 0
    codes = sorted({c for c in vb.grid_code if c})
    if not codes or not k:
        return {}
    col = {c: i for i, c in enumerate(codes)}
    gi = np.array([col.get(c, -1) for c in vb.grid_code])
    ok = gi >= 0
    overlap = np.zeros((k, len(codes)))
    np.add.at(overlap, (labels[ok], gi[ok]), vb.area_m2[ok])
    label_area = np.bincount(labels, weights=vb.area_m2, minlength=k)
    grid_area = overlap.sum(axis=0)
    keep = (overlap > 0.5 * label_area[:, None]) & (overlap > 0.5 * grid_area[None, :])
    return {int(lab): codes[int(c)] for lab, c in zip(*np.nonzero(keep), strict=True)}


def village_grids(
    vb: VillageBlocks,
    labels: np.ndarray,
    band: Band,
    keep: dict[int, str],
    max_seq: int,
    village_name: str,
    lon: float,
) -> VillageGrids:
    """Assemble the grids of one village: union of blocks, codes, names and figures."""
    labels = np.asarray(labels, dtype=np.int64)
    uniq, labels = np.unique(labels, return_inverse=True)
    present = set(uniq.tolist())
    keep = {int(np.searchsorted(uniq, lab)): c for lab, c in keep.items() if lab in present}
    k = len(uniq)
    g = graph_of(vb)
    fig = grid_figures(g, labels, k)
    order = np.argsort(labels, kind="stable")
    members = np.split(order, np.flatnonzero(np.diff(labels[order])) + 1)
    geoms = np.array([_union(vb.geoms[m]) for m in members], dtype=object)
    codes = np.full(k, "", dtype=object)
    for lab, code in keep.items():
        codes[lab] = code
    fresh = np.flatnonzero(codes == "")
    if len(fresh):
        if max_seq + len(fresh) > 999:
            raise Conflict(
                f"village {vb.village} would need grid sequence numbers up to "
                f"{max_seq + len(fresh)}, beyond 999 (3 digits); retire old codes first",
                reason="plan.sequence_full",
                village=vb.village,
                seq=max_seq + len(fresh),
            )
        rank = _west_east_north_south(geoms[fresh], lon)
        for pos, lab in zip(rank.tolist(), fresh.tolist(), strict=True):
            codes[lab] = f"{vb.village}{max_seq + 1 + pos:03d}"
    hh = np.bincount(labels, weights=vb.households, minlength=k).astype(np.int64)
    current_sets: dict[str, set[int]] = {}
    for i, c in enumerate(vb.grid_code):
        current_sets.setdefault(c, set()).add(i)
    changed = np.array(
        [current_sets.get(codes[j]) != set(map(int, members[j])) for j in range(k)], dtype=bool
    )
    grids = pd.DataFrame(
        {
            "code": codes,
            "name": [f"{village_name}第{int(c[-3:])}网格" for c in codes],
            "village_code": vb.village,
            "households": hh,
            "care_households": np.bincount(labels, weights=vb.care, minlength=k).astype(np.int64),
            "open_reports": np.bincount(labels, weights=vb.reports, minlength=k).astype(np.int64),
            "blocks": np.bincount(labels, minlength=k),
            "area_m2": fig["area"],
            "perimeter_m": fig["perimeter"],
            "polsby_popper": fig["polsby_popper"],
            "in_band": band.deviation(hh) == 0,
            "changed": changed,
            "geom": geoms,
        }
    )
    return VillageGrids(grids=grids, block_codes=codes[labels])


def _union(geoms: np.ndarray) -> shapely.Geometry:
    if len(geoms) == 1:
        return geoms[0]
    try:
        return shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:  # not a clean coverage after all: the slow, safe union
        return shapely.union_all(geoms)


def _west_east_north_south(geoms: np.ndarray, lon: float) -> np.ndarray:
    """Rank of each geometry read in rows from the north, each row from the west."""
    pts = metric(shapely.point_on_surface(geoms), lon)
    xy = shapely.get_coordinates(pts)
    area = shapely.area(metric(geoms, lon))
    height = math.sqrt(float(np.median(area))) if len(area) else 1.0
    row = np.floor((xy[:, 1].max() - xy[:, 1]) / max(height, 1.0)).astype(np.int64)
    order = np.lexsort((xy[:, 0], row))
    rank = np.empty(len(geoms), dtype=np.int64)
    rank[order] = np.arange(len(geoms))
    return rank
