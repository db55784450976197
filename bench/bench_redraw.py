"""Balance every village of Deqing: gisgrid against GerryChain ReCom and spopt max-p.

All three partition the same block graphs (gisgrid's blocks of the demo county's current
generation, households counted from the register) for the same band. Per method: share of the
grids of feasible villages inside the band, worst deviation from the band, mean Polsby-Popper,
cut edges, households moved from the current grids (best one-to-one matching of new to old
grids by households, the same measure for everyone) and runtime; three runs (seeds 0, 1, 2),
medians, machine load before and after.

- gisgrid: `balance.balance_village` (METIS start, repair, local search; k from the band).
- GerryChain 1.0 ReCom: the same k and the same start as gisgrid (its METIS + repair start),
  population = households, `pop_target` = households / k and `epsilon` the largest that keeps
  an even split inside the band (so each ReCom split lands in the band), contiguity checked;
  RECOM_STEPS steps per village, the best plan seen kept (band violation, then mean PP). Its
  time "at equal balance" is the time until each village first reached gisgrid's violation
  (villages that never did count their whole chain).
- spopt max-p (MaxPHeuristic): households as the threshold variable with the band's minimum as
  floor, block centroids as the attributes (so regions are compact), per connected piece.
"""

from __future__ import annotations

import os
import random
import statistics
import time
import warnings
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from bench.common import demo_engine
from gisgrid import sql
from gisgrid.redraw import blocks as blockmod
from gisgrid.redraw.balance import (
    Band,
    BlockGraph,
    balance_village,
    choose_k,
    grid_figures,
    start_partition,
    subgraph,
)
from gisgrid.redraw.grids import graph_of

COUNTY = "441226"
BAND = Band(100, 200)
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
RECOM_STEPS = 100
MAXP_CONSTRUCTION = 3  # spopt defaults: 99 and 10 (about 30x slower; see bench/README.md)
MAXP_SA = 1
# spopt's max-p takes about 10 s per village here even so: one run by default (BENCH_SPOPT_RUNS).
SPOPT_RUNS = int(os.environ.get("BENCH_SPOPT_RUNS", "1"))
# Every method on the same villages: all of them, or every k-th (by code) to N when the peers'
# hours do not fit (spopt alone ran past an hour for all 193 on a loaded 2-core machine).
VILLAGES = int(os.environ.get("BENCH_VILLAGES", "0"))


def _load() -> tuple[dict[str, Any], float]:
    engine = demo_engine(COUNTY)
    from gisgrid.patrols import roads

    with engine.begin() as conn:
        if not roads.has_network(conn, COUNTY):
            print("generating the demo county's road network first", flush=True)
            roads.generate_demo_network(conn, COUNTY, progress=lambda m: None)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        county = COUNTY + "000000"
        gen = sql.first(conn, "redraw/current_generation", county=county)
        assert gen is not None
        villages = sorted(sql.frame(conn, "redraw/unit_villages", prefix=COUNTY)["code"])
        if 0 < VILLAGES < len(villages):
            villages = villages[:: len(villages) // VILLAGES][:VILLAGES]
        vbs = blockmod.village_blocks(conn, gen["id"], villages)
        hh = sql.frame(conn, "redraw/plan_households", villages=villages)
        rp = sql.frame(conn, "redraw/plan_reports", villages=villages)
    blockmod.count_in_blocks(vbs, hh, rp)
    engine.dispose()
    return vbs, time.perf_counter() - t0


def _pieces(g: BlockGraph) -> list[np.ndarray]:
    comp = g.components()
    return [np.flatnonzero(comp == c) for c in range(int(comp.max()) + 1)] if g.n else []


def _score(g: BlockGraph, labels: np.ndarray, band: Band) -> tuple[float, float]:
    k = int(labels.max()) + 1
    f = grid_figures(g, labels, k)
    return float(band.deviation(f["households"]).sum()), float(f["polsby_popper"].mean())


def run_gisgrid(vbs: dict[str, Any], seed: int) -> tuple[dict[str, np.ndarray], float]:
    t0 = time.perf_counter()
    out = {code: balance_village(graph_of(vb), BAND, seed=seed).labels for code, vb in vbs.items()}
    return out, time.perf_counter() - t0


def run_recom(
    vbs: dict[str, Any], seed: int, ours: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], float, dict[str, float]]:
    """ReCom per village piece: labels, total time, and the times to gisgrid's results.

    `equal_s` counts, per piece, the chain up to the first state whose band violation is no
    worse than gisgrid's on that piece; `quality_s` up to the first state that also matches
    gisgrid's mean Polsby-Popper there (a piece that never does counts its whole chain, and is
    counted in `missed` / `unmatched`).
    """
    import networkx as nx
    from gerrychain import Graph, MarkovChain, Partition
    from gerrychain.accept import always_accept
    from gerrychain.constraints import contiguous
    from gerrychain.proposals import recom

    total = equal = quality = 0.0
    missed = unmatched = pieces = 0
    out: dict[str, np.ndarray] = {}
    for code, vb in vbs.items():
        g = graph_of(vb)
        labels = np.zeros(g.n, dtype=np.int64)
        offset = 0
        for members in _pieces(g):
            pieces += 1
            sub = subgraph(g, members)
            mine = np.unique(ours[code][members], return_inverse=True)[1]
            target, target_pp = _score(sub, mine, BAND)
            h = int(sub.households.sum())
            k, _ = choose_k(h, BAND)
            k = min(k, sub.n)
            t0 = time.perf_counter()
            reached = matched = None
            if k <= 1:
                sl = np.zeros(sub.n, dtype=np.int64)
                reached = matched = 0.0
            else:
                start = start_partition(sub, k, seed)  # the same start as gisgrid's search
                k = int(start.max()) + 1
                nxg = nx.Graph()
                for i in range(sub.n):
                    nxg.add_node(i, households=int(sub.households[i]))
                src = np.repeat(np.arange(sub.n), np.diff(sub.indptr))
                for a, b in zip(src, sub.indices, strict=True):
                    if a < b:
                        nxg.add_edge(int(a), int(b))
                ideal = h / k
                eps = max(0.01, min((BAND.hi - ideal) / ideal, (ideal - BAND.lo) / ideal))
                part = Partition(
                    Graph.from_networkx(nxg),
                    {i: int(start[i]) for i in range(sub.n)},
                    updaters={"population": _tally},
                )
                chain = MarkovChain(
                    proposal=_recom_proposal(recom, ideal, eps, seed),
                    constraints=[contiguous],
                    accept=always_accept,
                    initial_state=part,
                    total_steps=RECOM_STEPS,
                    rng=random.Random(seed),
                )
                best = None
                for state in chain:
                    lab = np.array([state.assignment[i] for i in range(sub.n)])
                    lab = np.unique(lab, return_inverse=True)[1]
                    sc = _score(sub, lab, BAND)
                    if reached is None and sc[0] <= target + 1e-9:
                        reached = time.perf_counter() - t0
                    if matched is None and sc[0] <= target + 1e-9 and sc[1] >= target_pp - 1e-9:
                        matched = time.perf_counter() - t0
                    if best is None or (sc[0], -sc[1]) < (best[0][0], -best[0][1]):
                        best = (sc, lab)
                sl = best[1] if best else start
            elapsed = time.perf_counter() - t0
            total += elapsed
            equal += elapsed if reached is None else reached
            quality += elapsed if matched is None else matched
            missed += reached is None
            unmatched += matched is None
            labels[members] = sl + offset
            offset += int(sl.max()) + 1
        out[code] = labels
    return (
        out,
        total,
        {
            "equal_s": equal,
            "quality_s": quality,
            "missed": missed,
            "unmatched": unmatched,
            "pieces": pieces,
        },
    )


def _tally(partition: Any) -> dict[Any, int]:
    from gerrychain.updaters import Tally

    return Tally("households", alias="population")(partition)  # type: ignore[no-any-return]


def _recom_proposal(recom: Any, ideal: float, eps: float, seed: int) -> Any:
    """ReCom with the band as its population bounds; a step it cannot make keeps the plan.

    GerryChain 1.0 raises when no adjacent pair can be split inside the bounds (a plan that
    starts out of band): that step is counted as a rejected proposal instead of ending the run.
    """
    from functools import partial

    from gerrychain.tree import bipartition_tree

    rng = random.Random(seed)
    split = partial(bipartition_tree, max_attempts=200, allow_pair_reselection=True)

    def propose(partition: Any, **_: Any) -> Any:
        try:
            return recom(
                partition,
                pop_col="households",
                pop_target=ideal,
                epsilon=eps,
                bipartition_tree_fn=split,
                rng=rng,
            )
        except Exception:  # noqa: BLE001 - MetagraphError / PopulationBalanceError: no move
            return partition

    return propose


def run_maxp(vbs: dict[str, Any], seed: int) -> tuple[dict[str, np.ndarray], float]:
    import geopandas as gpd
    import libpysal
    import shapely
    from spopt.region import MaxPHeuristic

    np.random.seed(seed)
    random.seed(seed)
    t0 = time.perf_counter()
    out: dict[str, np.ndarray] = {}
    for code, vb in vbs.items():
        g = graph_of(vb)
        labels = np.zeros(g.n, dtype=np.int64)
        offset = 0
        cxy = shapely.get_coordinates(shapely.centroid(vb.geoms))
        for members in _pieces(g):
            sub = subgraph(g, members)
            if sub.households.sum() < 2 * BAND.lo or sub.n < 3:
                sl = np.zeros(sub.n, dtype=np.int64)
            else:
                nbrs = {i: sub.neighbours(i).tolist() for i in range(sub.n)}
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    w = libpysal.weights.W(nbrs, silence_warnings=True)
                    gdf = gpd.GeoDataFrame(
                        {
                            "households": sub.households,
                            "x": cxy[members, 0] * 1e3,
                            "y": cxy[members, 1] * 1e3,
                        },
                        geometry=vb.geoms[members],
                    )
                    model = MaxPHeuristic(
                        gdf,
                        w,
                        ["x", "y"],
                        "households",
                        BAND.lo,
                        top_n=2,
                        max_iterations_construction=20,
                        max_iterations_sa=3,
                    )
                    model.solve()
                sl = np.unique(np.asarray(model.labels_), return_inverse=True)[1]
            labels[members] = sl + offset
            offset += int(sl.max()) + 1
        out[code] = labels
    return out, time.perf_counter() - t0


def measure(vbs: dict[str, Any], plans: dict[str, np.ndarray]) -> dict[str, float]:
    """The same figures for every method."""
    in_band = feasible_grids = grids = cut = moved = 0
    worst = 0.0
    pps: list[float] = []
    for code, vb in vbs.items():
        g = graph_of(vb)
        labels = plans[code]
        k = int(labels.max()) + 1
        f = grid_figures(g, labels, k)
        dev = BAND.deviation(f["households"])
        grids += k
        worst = max(worst, float(dev.max()))
        pps += f["polsby_popper"].tolist()
        feasible = choose_k(int(g.households.sum()), BAND)[1] is None
        if feasible:
            feasible_grids += k
            in_band += int((dev == 0).sum())
        src = np.repeat(np.arange(g.n), np.diff(g.indptr))
        cut += int((labels[src] != labels[g.indices]).sum() // 2)
        moved += _moved(vb, labels)
    return {
        "grids": grids,
        "share_in_band": in_band / feasible_grids if feasible_grids else 1.0,
        "worst_deviation": worst,
        "mean_pp": float(np.mean(pps)),
        "cut_edges": cut,
        "moved": moved,
    }


def _moved(vb: Any, labels: np.ndarray) -> int:
    """Households not in the new grid matched to their old grid (best one-to-one matching)."""
    olds = sorted({c for (_, c) in vb.by_grid})
    if not olds:
        return 0
    col = {c: i for i, c in enumerate(olds)}
    k = int(labels.max()) + 1
    m = np.zeros((k, len(olds)))
    for (b, c), n in vb.by_grid.items():
        m[labels[b], col[c]] += n
    r, c = linear_sum_assignment(-m)
    return int(m.sum() - m[r, c].sum())


def current(vbs: dict[str, Any]) -> dict[str, np.ndarray]:
    """Today's grids as block labels (the reference row)."""
    out = {}
    for code, vb in vbs.items():
        _, lab = np.unique(np.asarray(vb.grid_code, dtype=str), return_inverse=True)
        out[code] = lab
    return out


def main() -> None:
    load_before = os.getloadavg()
    vbs, t_blocks = _load()
    n_blocks = sum(len(v) for v in vbs.values())
    print(
        f"Deqing {COUNTY}: {len(vbs)} villages{' (a sample: BENCH_VILLAGES)' if VILLAGES else ''}, "
        f"{n_blocks:,} blocks, "
        f"{sum(int(v.households.sum()) for v in vbs.values()):,} households; band "
        f"[{BAND.lo}, {BAND.hi}]; blocks read/cut in {t_blocks:.1f} s; "
        f"load before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}",
        flush=True,
    )
    rows: dict[str, list[dict[str, float]]] = {
        "gisgrid": [],
        "GerryChain ReCom": [],
        "spopt max-p": [],
    }
    for run in range(RUNS):
        plans, t = run_gisgrid(vbs, seed=run)
        m = measure(vbs, plans) | {"runtime_s": t}
        rows["gisgrid"].append(m)
        print(f"run {run + 1}: gisgrid {t:.1f} s; ReCom next", flush=True)
        rplans, tr, extra = run_recom(vbs, seed=run, ours=plans)
        rows["GerryChain ReCom"].append(measure(vbs, rplans) | {"runtime_s": tr} | extra)
        tm = float("nan")
        if run < SPOPT_RUNS:
            mplans, tm = run_maxp(vbs, seed=run)
            rows["spopt max-p"].append(measure(vbs, mplans) | {"runtime_s": tm})
        print(
            f"run {run + 1}: gisgrid {t:.1f} s, ReCom {tr:.1f} s, max-p {tm:.1f} s; "
            f"load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    ref = measure(vbs, current(vbs))
    load_after = os.getloadavg()
    print(
        f"\n{'method':18} {'grids':>6} {'in band':>8} {'worst dev':>9} {'mean PP':>8} "
        f"{'cut edges':>9} {'moved':>7} {'runtime s':>10}"
    )
    med: dict[str, dict[str, float]] = {}
    for name, runs in rows.items():
        med[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        r = med[name]
        print(
            f"{name:18} {r['grids']:6.0f} {r['share_in_band']:8.2%} {r['worst_deviation']:9.0f} "
            f"{r['mean_pp']:8.3f} {r['cut_edges']:9.0f} {r['moved']:7.0f} {r['runtime_s']:10.2f}"
        )
    print(
        f"{'current grids':18} {ref['grids']:6.0f} {ref['share_in_band']:8.2%} "
        f"{ref['worst_deviation']:9.0f} {ref['mean_pp']:8.3f} {ref['cut_edges']:9.0f} "
        f"{0:7.0f} {'-':>10}"
    )
    g, rc, mp = med["gisgrid"], med["GerryChain ReCom"], med["spopt max-p"]
    print(
        f"\nmedians of {RUNS} runs (spopt max-p: {min(SPOPT_RUNS, RUNS)}); ReCom {RECOM_STEPS} "
        f"steps per village piece from gisgrid's start, best plan kept.\n"
        f"gisgrid vs ReCom: {rc['runtime_s'] / g['runtime_s']:.1f}x faster than the whole "
        f"chain; ReCom reached gisgrid's balance after {rc['equal_s']:.2f} s "
        f"({rc['missed']:.0f} of {rc['pieces']:.0f} village pieces never did) and gisgrid's "
        f"balance and compactness after {rc['quality_s']:.2f} s ({rc['unmatched']:.0f} pieces "
        f"never did): {rc['quality_s'] / g['runtime_s']:.1f}x gisgrid's time.\n"
        f"mean Polsby-Popper {g['mean_pp']:.3f} vs {rc['mean_pp']:.3f} (ReCom), "
        f"{mp['mean_pp']:.3f} (max-p); feasible grids in band {g['share_in_band']:.2%} "
        "(target >= 99%)"
    )
    print(
        f"load after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} "
        f"({os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
