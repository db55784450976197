"""Redraw core: blocks, balance and minimal change on small graphs with known answers, and
every village of the demo county balanced (band, one polygon per grid, nested, covering)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import shapely
from sqlalchemy import Engine, text

from gisgrid.access.accounts import Principal, Role
from gisgrid.boundaries.crs import metric
from gisgrid.redraw import plans
from gisgrid.redraw.balance import Band, BlockGraph, balance_village, choose_k, grid_figures
from gisgrid.redraw.blocks import cut_village
from gisgrid.redraw.minimal import minimal_change

ADMIN = Principal(account_id=0, username="test-redraw", role=Role.admin, scope="")


def lattice(rows: int, cols: int, households: list[int]) -> BlockGraph:
    """A rows x cols lattice of 100 m square blocks (4-neighbour adjacency)."""
    n = rows * cols
    edges, shared = [], []
    for r, c in itertools.product(range(rows), range(cols)):
        i = r * cols + c
        if c + 1 < cols:
            edges.append((i, i + 1))
            shared.append(100.0)
        if r + 1 < rows:
            edges.append((i, i + cols))
            shared.append(100.0)
    return BlockGraph.from_edges(
        np.array(households),
        np.full(n, 10_000.0),
        np.full(n, 400.0),
        np.array(edges),
        np.array(shared),
    )


def connected(g: BlockGraph, labels: np.ndarray) -> bool:
    """Every label's blocks form one connected piece."""
    for lab in np.unique(labels):
        members = np.flatnonzero(labels == lab)
        if g.components(members)[members].max() > 0:
            return False
    return True


def brute_force_minimal(
    g: BlockGraph, start: np.ndarray, band: Band, labels: int
) -> tuple[int, int]:
    """(violation, households moved) of the best plan over every labelling: the known optimum."""
    best = (10**9, 10**9)
    hh = g.households
    nbr = [g.neighbours(i).tolist() for i in range(g.n)]

    def pieces_ok(assign: tuple[int, ...]) -> bool:
        seen: set[int] = set()
        for lab in set(assign):
            members = [i for i in range(g.n) if assign[i] == lab]
            stack, reach = [members[0]], {members[0]}
            while stack:
                i = stack.pop()
                for j in nbr[i]:
                    if assign[j] == lab and j not in reach:
                        reach.add(j)
                        stack.append(j)
            if len(reach) != len(members):
                return False
            seen |= reach
        return True

    for assign in itertools.product(range(labels), repeat=g.n):
        if not pieces_ok(assign):
            continue
        lab = np.array(assign)
        load = np.bincount(lab, weights=hh, minlength=labels)
        used = np.unique(lab)
        violation = int(band.deviation(load[used]).sum())
        moved = int(hh[lab != start].sum())
        best = min(best, (violation, moved))
    return best


@pytest.mark.parametrize(
    "households, start, band",
    [
        # Left grid too big (4 x 60): two of its blocks next to the right grid move (60 each).
        ([60, 60, 40, 10, 60, 60, 40, 10], [0, 0, 1, 1, 0, 0, 1, 1], Band(100, 200)),
        # One grid too small: it takes the cheapest connected blocks of its neighbour.
        ([50, 20, 30, 35, 15, 25, 45, 5], [0, 0, 0, 1, 1, 1, 1, 1], Band(90, 130)),
        # Too big for any neighbour to absorb: the optimum opens a new grid.
        ([90, 90, 90, 10, 90, 90, 90, 10], [0, 0, 0, 0, 0, 0, 1, 1], Band(150, 300)),
    ],
)
def test_minimal_change_hits_the_known_optimum(
    households: list[int], start: list[int], band: Band
) -> None:
    g = lattice(2, 4, households)
    start_arr = np.array(start)
    res = minimal_change(g, start_arr, band)
    want = brute_force_minimal(g, start_arr, band, labels=int(start_arr.max()) + 2)
    assert (res.violation, res.moved) == want
    assert res.optimal
    assert connected(g, res.labels)
    load = np.bincount(res.labels, weights=g.households)
    assert (band.deviation(load[np.unique(res.labels)]) == 0).all() == (want[0] == 0)


def test_minimal_change_leaves_an_in_band_village_alone() -> None:
    g = lattice(2, 3, [50] * 6)
    res = minimal_change(g, np.array([0, 0, 0, 1, 1, 1]), Band(100, 200))
    assert not res.changed and res.moved == 0 and res.optimal


def test_balance_is_contiguous_in_band_and_compact() -> None:
    rng = np.random.default_rng(1)
    g = lattice(6, 6, rng.integers(5, 40, 36).tolist())
    total = int(g.households.sum())
    band = Band(total // 5, total // 3)
    plan = balance_village(g, band, seed=3)
    assert connected(g, plan.labels)
    fig = grid_figures(g, plan.labels, plan.k)
    assert (band.deviation(fig["households"]) == 0).all(), fig["households"]
    # Compact: squares of blocks beat strips (a 1 x 6 strip of blocks scores 0.44).
    assert fig["polsby_popper"].mean() > 0.5


def test_choose_k_says_why_a_village_cannot_fit() -> None:
    assert choose_k(80, Band(100, 200)) == (
        1,
        "80 households is below the band's minimum 100: one grid for the whole village",
    )
    k, note = choose_k(310, Band(200, 300))
    assert k == 1 and "cannot be split" in (note or "")
    assert choose_k(450, Band(100, 200)) == (3, None)
    with pytest.raises(Exception, match="band=\\[300, 100\\]"):
        Band(300, 100)


def test_cut_village_covers_the_village_without_overlaps() -> None:
    rng = np.random.default_rng(2)
    village = shapely.Polygon([(0, 0), (0.03, 0), (0.03, 0.02), (0.012, 0.026), (0, 0.02)])
    village = shapely.transform(village, lambda xy: xy + [112.0, 23.0])
    grids = np.array(
        [
            shapely.intersection(village, shapely.box(112.0, 23.0, 112.015, 23.03)),
            shapely.intersection(village, shapely.box(112.015, 23.0, 112.04, 23.03)),
        ]
    )
    roads = np.array(
        [
            shapely.LineString([(111.99, 23.01), (112.05, 23.012)]),
            shapely.LineString([(112.008, 22.99), (112.009, 23.04)]),
        ]
    )
    xy = rng.uniform((112.0, 23.0), (112.03, 23.02), (400, 2))
    xy = xy[shapely.contains_xy(village, xy[:, 0], xy[:, 1])]
    vb = cut_village("990000001001", village, roads, np.array(["a", "b"]), grids, xy, 112.0)
    union = shapely.union_all(vb.geoms)
    assert abs(union.area - village.area) / village.area < 1e-9
    gm = metric(vb.geoms, 112.0)
    a, b = shapely.STRtree(gm).query(gm, predicate="intersects")
    keep = a < b
    assert shapely.area(shapely.intersection(gm[a[keep]], gm[b[keep]])).max() < 1e-3
    # Blocks are cut along the grid line: each lies in one grid.
    inside = [max(shapely.area(shapely.intersection(blk, grids)) / blk.area) for blk in vb.geoms]
    assert min(inside) > 0.999
    assert set(vb.grid_code) == {"a", "b"}
    # The graph is connected and some shared boundary runs along the roads.
    g = BlockGraph.from_edges(np.ones(len(vb)), vb.area_m2, vb.perimeter_m, vb.edges, vb.shared_m)
    assert g.components().max() == 0
    assert vb.road_m.sum() > 500


def test_every_demo_village_balanced(own_engine: Engine, demo_county: str) -> None:
    """Band, one polygon per grid, nesting and cover for every grid of the demo county."""
    band = Band(100, 200)
    with own_engine.begin() as conn:
        made = plans.create_plan(conn, ADMIN, "441226", [band.lo, band.hi], "balance", 1)
    summary = plans.run_plan(own_engine, made["id"])
    with own_engine.connect() as conn:
        draft = plans.get_plan(conn, ADMIN, made["id"])
        villages = {
            r.code: shapely.from_wkb(r.wkb)
            for r in conn.execute(
                text(
                    "SELECT code, ST_AsBinary(geom) AS wkb FROM admin_unit "
                    "WHERE level = 'village' AND code LIKE '441226%'"
                )
            )
        }
    feats = draft["grids"]["features"]
    notes = {v["code"]: v["note"] for v in summary["villages"] if v.get("note")}
    feasible = {v["code"] for v in summary["villages"] if v["feasible"]}
    assert len({f["properties"]["village"] for f in feats}) == len(villages) == 193
    geoms = np.array([shapely.from_geojson(json.dumps(f["geometry"])) for f in feats])
    props = [f["properties"] for f in feats]
    # Band: every grid of a village the band can fit; the others are explained.
    out = [p for p in props if not p["in_band"]]
    assert all(p["village"] in notes or p["village"] in feasible for p in out)
    feasible_grids = [p for p in props if p["village"] in feasible]
    share = sum(p["in_band"] for p in feasible_grids) / len(feasible_grids)
    assert share >= 0.99, share
    assert all(p["village"] in notes for p in out if p["village"] not in feasible)
    # Contiguity: one polygon per grid.
    assert (shapely.get_num_geometries(geoms) == 1).all()
    # Nesting and cover: inside the village, the village's grids cover it within 0.5% of its
    # area, no overlaps between grids.
    lon = 112.0
    by_village: dict[str, list[int]] = {}
    for i, p in enumerate(props):
        by_village.setdefault(p["village"], []).append(i)
    gm = metric(geoms, lon)
    for code, idx in by_village.items():
        vg = metric(np.array([villages[code]]), lon)[0]
        mine = gm[idx]
        assert shapely.area(shapely.difference(mine, shapely.buffer(vg, 1.0))).max() < 1.0
        covered = shapely.area(shapely.union_all(mine))
        assert abs(covered - vg.area) / vg.area < 0.005, code
        assert abs(shapely.area(mine).sum() - covered) / vg.area < 1e-6, f"overlap in {code}"
    assert draft["summary"]["totals"]["mean_polsby_popper"] > 0.5
