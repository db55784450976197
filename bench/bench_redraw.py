"""Balance every village of Deqing: gisgrid against GerryChain ReCom and spopt max-p.

All three partition the same block graphs (gisgrid's blocks of the demo county's current
generation, households counted from the register) for the same band. Per method: share of the
grids of feasible villages inside the band, worst deviation from the band, mean Polsby-Popper,
cut edges, households moved from the current grids (best one-to-one matching of new to old
grids by households, the same measure for everyone) and runtime; three runs (seeds 0, 1, 2),
medians, machine load before and after.

Which villages: gisgrid and ReCom run on the whole county (all 193 villages, or the
BENCH_VILLAGES sample when set); spopt max-p only on a sample (BENCH_SPOPT_VILLAGES, default
48: every 4th village by code), since it ran past an hour on the whole county; its table
compares it with gisgrid's and ReCom's plans of the same sample villages. Both are printed.

How each is timed (the same way for both timed methods): each method's graphs are built
before its clock starts, fresh for every run (gisgrid's `BlockGraph`; ReCom's networkx graph
and GerryChain `Graph`), and their build times are printed apart. Inside the clock: all of
the method's own work from that graph (gisgrid: choosing k, METIS start, repair, search;
ReCom: the same METIS + repair start, the `Partition`, the chain). Scoring ReCom's states
against gisgrid's figures is the bench's measurement, not the chain's work: its clock is
stopped while a state is scored.

- gisgrid: `balance.balance_village` (METIS start, repair, local search; k from the band).
- GerryChain 1.0 ReCom: the same k and the same start as gisgrid (its METIS + repair start),
  population = households, `pop_target` = households / k and `epsilon` the largest that keeps
  an even split inside the band (so each ReCom split lands in the band), contiguity checked;
  RECOM_STEPS steps per village, the best plan seen kept (band violation, then mean PP).
  "Equal balance", per village piece: the chain's time until its first state whose band
  violation is no worse than gisgrid's on that piece (`equal_s`), and until its first state
  that also has a mean Polsby-Popper no lower than gisgrid's there (`quality_s`, gisgrid's
  balance *and* compactness: the figure the 10x target is read against). A piece that never
  gets there counts its whole chain (which flatters ReCom: it would need more steps).
- spopt max-p (MaxPHeuristic): households as the threshold variable with the band's minimum as
  floor, block centroids as the attributes (so regions are compact), per connected piece;
  `max_iterations_construction` MAXP_CONSTRUCTION and `max_iterations_sa` MAXP_SA. spopt 0.7.0
  (the newest release the package index here offers) can loop forever in its simulated
  annealing: when every block it may move lies inside its region (no neighbour in another),
  `_perform_sa` drops them, picks the same list again, and never cools or counts a move
  (py-spy on a stalled run: t = 1, ni_move_ct = 0, for minutes, on a 15-block village). Upstream
  fixed it in pysal/spopt#506 (merged 2026-02-10, after 0.7.0): a block is a candidate only if
  it borders another region. The bench applies that one-line fix to the installed spopt and
  says so (BENCH_SPOPT_AS_RELEASED=1 runs the release as it is). spopt's time is bounded either
  way: each village piece at most SPOPT_PIECE_S seconds, each run at most SPOPT_BUDGET_S; a
  village past either bound is named and printed, and the sample's table then compares all
  three methods on the villages spopt finished in every run (never a silent skip).
"""

from __future__ import annotations

import inspect
import os
import random
import signal
import statistics
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
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
# The seed of the first run (runs take seeds FIRST_SEED, FIRST_SEED + 1, ...): a long run (spopt
# on the whole county) can be taken in parts, each part's runs still beside their peers.
FIRST_SEED = int(os.environ.get("BENCH_FIRST_SEED", "0"))
RECOM_STEPS = 100
# spopt's defaults are 99 and 10: about 15x slower again, hours for the sample on 2 cores.
MAXP_CONSTRUCTION = 20
MAXP_SA = 3
SPOPT_RUNS = int(os.environ.get("BENCH_SPOPT_RUNS", "3"))
# The hard bounds on spopt's time (seconds): per village piece, and per run.
SPOPT_PIECE_S = float(os.environ.get("BENCH_SPOPT_PIECE_S", "180"))
SPOPT_BUDGET_S = float(os.environ.get("BENCH_SPOPT_BUDGET_S", "1800"))
SPOPT_AS_RELEASED = os.environ.get("BENCH_SPOPT_AS_RELEASED", "") not in ("", "0")
# gisgrid and ReCom: every village (0), or every k-th (by code) to N. spopt: a sample of that
# set, the same way (it ran past an hour for all 193 on a loaded 2-core machine).
VILLAGES = int(os.environ.get("BENCH_VILLAGES", "0"))
SPOPT_VILLAGES = int(os.environ.get("BENCH_SPOPT_VILLAGES", "48"))


def _sample(codes: list[str], n: int) -> list[str]:
    """Every k-th code to n (all when n is 0 or not smaller)."""
    return codes[:: len(codes) // n][:n] if 0 < n < len(codes) else list(codes)


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
        villages = _sample(villages, VILLAGES)
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


def run_gisgrid(
    vbs: dict[str, Any], seed: int
) -> tuple[dict[str, np.ndarray], float, float, dict[str, float]]:
    """gisgrid's plans, its time from the block graphs, the graphs' time, and time per village."""
    t0 = time.perf_counter()
    graphs = {code: graph_of(vb) for code, vb in vbs.items()}  # fresh: no cache from a run
    t_graphs = time.perf_counter() - t0
    out: dict[str, np.ndarray] = {}
    per: dict[str, float] = {}
    t0 = time.perf_counter()
    for code, g in graphs.items():
        tv = time.perf_counter()
        out[code] = balance_village(g, BAND, seed=seed).labels
        per[code] = time.perf_counter() - tv  # for the sample's table: the same villages
    return out, time.perf_counter() - t0, t_graphs, per


def run_recom(
    vbs: dict[str, Any], seed: int, ours: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], float, dict[str, float], dict[str, float]]:
    """ReCom per village piece: labels, total time, the times to gisgrid's results, and the
    chain's time per village.

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

    total = equal = quality = t_graphs = 0.0
    missed = unmatched = pieces = 0
    out: dict[str, np.ndarray] = {}
    per: dict[str, float] = {}
    for code, vb in vbs.items():
        per[code] = 0.0
        t0 = time.perf_counter()
        g = graph_of(vb)
        t_graphs += time.perf_counter() - t0
        labels = np.zeros(g.n, dtype=np.int64)
        offset = 0
        for members in _pieces(g):
            pieces += 1
            t0 = time.perf_counter()
            sub = subgraph(g, members)
            t_graphs += time.perf_counter() - t0
            mine = np.unique(ours[code][members], return_inverse=True)[1]
            target, target_pp = _score(sub, mine, BAND)
            h = int(sub.households.sum())
            k, _ = choose_k(h, BAND)
            k = min(k, sub.n)
            reached = matched = None
            if k <= 1:
                sl = np.zeros(sub.n, dtype=np.int64)
                reached = matched = elapsed = 0.0
            else:
                # The peer's graph, built before its clock starts (as gisgrid's BlockGraph is).
                t0 = time.perf_counter()
                nxg = nx.Graph()
                for i in range(sub.n):
                    nxg.add_node(i, households=int(sub.households[i]))
                src = np.repeat(np.arange(sub.n), np.diff(sub.indptr))
                for a, b in zip(src, sub.indices, strict=True):
                    if a < b:
                        nxg.add_edge(int(a), int(b))
                graph = Graph.from_networkx(nxg)
                t_graphs += time.perf_counter() - t0
                clock = time.perf_counter()  # elapsed = now - clock; scoring moves it on
                start = start_partition(sub, k, seed)  # the same start as gisgrid's search
                k = int(start.max()) + 1
                ideal = h / k
                eps = max(0.01, min((BAND.hi - ideal) / ideal, (ideal - BAND.lo) / ideal))
                part = Partition(
                    graph,
                    {i: int(start[i]) for i in range(sub.n)},
                    updaters={"population": _tally},
                )
                chain = MarkovChain(
                    proposal_fn=_recom_proposal(recom, ideal, eps, seed),
                    constraints=[contiguous],
                    acceptance_fn=always_accept,
                    initial_partition=part,
                    total_steps=RECOM_STEPS,
                    rng=random.Random(seed),
                )
                best = None
                for state in chain:
                    now = time.perf_counter() - clock  # the chain's time to this state
                    paused = time.perf_counter()
                    lab = np.array([state.assignment[i] for i in range(sub.n)])
                    lab = np.unique(lab, return_inverse=True)[1]
                    sc = _score(sub, lab, BAND)
                    if reached is None and sc[0] <= target + 1e-9:
                        reached = now
                    if matched is None and sc[0] <= target + 1e-9 and sc[1] >= target_pp - 1e-9:
                        matched = now
                    if best is None or (sc[0], -sc[1]) < (best[0][0], -best[0][1]):
                        best = (sc, lab)
                    clock += time.perf_counter() - paused  # scoring is not the chain's work
                sl = best[1] if best else start
                elapsed = time.perf_counter() - clock
            total += elapsed
            per[code] += elapsed
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
            "graphs_s": t_graphs,
        },
        per,
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


class _Bound(Exception):
    """spopt ran past one of the bench's bounds on its time."""


@contextmanager
def _bounded(seconds: float) -> Iterator[None]:
    """Raise _Bound after `seconds`: spopt's loops are Python, so the alarm stops them."""

    def ring(signum: int, frame: Any) -> None:
        raise _Bound

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _pick_move_area_fixed(
    labels: Any,
    region_lists: Any,
    region_spatial_attrs: Any,
    threshold_array: Any,
    weight: Any,
    distance_matrix: Any,
    threshold: Any,
) -> list[Any]:
    """spopt 0.7.0's `_pick_move_area` with upstream's fix (pysal/spopt#506), nothing else.

    A block may move only if it borders another region: otherwise `_perform_sa` discards every
    candidate, asks again for the same ones and loops forever without cooling.
    """
    from scipy.sparse.csgraph import connected_components

    potential_areas = []
    for k, v in region_spatial_attrs.items():
        rla = np.array(region_lists[k])
        rasa = threshold_array[rla]
        lost_sa = v - rasa
        pas_indices = np.where(lost_sa > threshold)[0]
        if pas_indices.size > 0:
            for pasi in pas_indices:
                left_areas = np.delete(rla, pasi)
                ws = weight.sparse
                cc = connected_components(ws[left_areas, :][:, left_areas])
                if cc[0] == 1 and set(weight.neighbors[rla[pasi]]) - set(left_areas):
                    potential_areas.append(rla[pasi])
    return potential_areas


@contextmanager
def _spopt_max_p() -> Iterator[str]:
    """The installed spopt, with pysal/spopt#506 applied unless it has it (or is asked as is)."""
    import spopt
    import spopt.region.maxp as maxp

    released = maxp._pick_move_area
    has_fix = "weight.neighbors[rla[pasi]]" in inspect.getsource(released)
    if has_fix:
        said = f"spopt {spopt.__version__} (has the fix of pysal/spopt#506)"
    elif SPOPT_AS_RELEASED:
        said = f"spopt {spopt.__version__} as released (without pysal/spopt#506: may not end)"
    else:
        said = (
            f"spopt {spopt.__version__} with upstream's fix of its endless annealing loop "
            "(pysal/spopt#506, merged 2026-02-10, in no release installable here) applied by "
            "the bench"
        )
        maxp._pick_move_area = _pick_move_area_fixed
    try:
        yield said
    finally:
        maxp._pick_move_area = released


def run_maxp(
    vbs: dict[str, Any], seed: int
) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, str]]:
    """spopt max-p per village piece, bounded: plans and seconds of the villages it finished,
    and why each other village has none (a piece past SPOPT_PIECE_S, or the run past
    SPOPT_BUDGET_S)."""
    import geopandas as gpd
    import libpysal
    import shapely
    from spopt.region import MaxPHeuristic

    np.random.seed(seed)
    random.seed(seed)
    start = time.perf_counter()
    out: dict[str, np.ndarray] = {}
    per: dict[str, float] = {}
    stopped: dict[str, str] = {}
    for code, vb in vbs.items():
        left = SPOPT_BUDGET_S - (time.perf_counter() - start)
        if left <= 0:
            stopped[code] = f"not reached: the run's bound of {SPOPT_BUDGET_S:.0f} s was spent"
            continue
        t0 = time.perf_counter()
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
                left = SPOPT_BUDGET_S - (time.perf_counter() - start)
                bound = min(SPOPT_PIECE_S, left)
                tp = time.perf_counter()
                try:
                    with warnings.catch_warnings(), _bounded(bound):
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
                            max_iterations_construction=MAXP_CONSTRUCTION,
                            max_iterations_sa=MAXP_SA,
                        )
                        model.solve()
                except _Bound:
                    which = "the piece's" if bound == SPOPT_PIECE_S else "the run's"
                    stopped[code] = (
                        f"stopped at {which} bound after {time.perf_counter() - tp:.0f} s "
                        f"(a piece of {sub.n} blocks, {int(sub.households.sum())} households)"
                    )
                    break
                sl = np.unique(np.asarray(model.labels_), return_inverse=True)[1]
            labels[members] = sl + offset
            offset += int(sl.max()) + 1
        per[code] = time.perf_counter() - t0
        if code not in stopped:
            out[code] = labels
    return out, per, stopped


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


def _table(title: str, rows: dict[str, dict[str, float]], ref: dict[str, float]) -> None:
    print(
        f"\n{title}\n{'method':18} {'grids':>6} {'in band':>8} {'worst dev':>9} "
        f"{'mean PP':>8} {'cut edges':>9} {'moved':>7} {'runtime s':>10}"
    )
    for name, r in rows.items():
        runtime = f"{r['runtime_s']:10.2f}" if "runtime_s" in r else f"{'-':>10}"
        print(
            f"{name:18} {r['grids']:6.0f} {r['share_in_band']:8.2%} {r['worst_deviation']:9.0f} "
            f"{r['mean_pp']:8.3f} {r['cut_edges']:9.0f} {r['moved']:7.0f} {runtime}"
        )
    print(
        f"{'current grids':18} {ref['grids']:6.0f} {ref['share_in_band']:8.2%} "
        f"{ref['worst_deviation']:9.0f} {ref['mean_pp']:8.3f} {ref['cut_edges']:9.0f} "
        f"{0:7.0f} {'-':>10}"
    )


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def _sample_rows(
    svbs: dict[str, Any],
    runs: dict[str, list[tuple[dict[str, np.ndarray], dict[str, float]]]],
    done: list[str],
) -> dict[str, list[dict[str, float]]]:
    """Every method's figures and time on the same villages (those spopt finished)."""
    same = {c: svbs[c] for c in done}
    return {
        name: [measure(same, p) | {"runtime_s": sum(t[c] for c in done)} for p, t in per_run]
        for name, per_run in runs.items()
        if per_run
    }


def main() -> None:
    load_before = os.getloadavg()
    vbs, t_blocks = _load()
    n_blocks = sum(len(v) for v in vbs.values())
    sample = _sample(sorted(vbs), SPOPT_VILLAGES)
    svbs = {c: vbs[c] for c in sample}
    print(
        f"Deqing {COUNTY}: {len(vbs)} villages"
        f"{' (a sample: BENCH_VILLAGES)' if VILLAGES else ' (the whole county)'}, "
        f"{n_blocks:,} blocks, "
        f"{sum(int(v.households.sum()) for v in vbs.values()):,} households; band "
        f"[{BAND.lo}, {BAND.hi}]; blocks read/cut in {t_blocks:.1f} s; "
        f"load before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}\n"
        f"gisgrid and GerryChain ReCom on all {len(vbs)}; spopt max-p on "
        + (
            f"{len(svbs)} of them (every {len(vbs) // len(svbs)}th by code, BENCH_SPOPT_VILLAGES)"
            if len(svbs) < len(vbs)
            else "the same villages"
        )
        + f", {min(SPOPT_RUNS, RUNS)} of the {RUNS} runs, bounded: {SPOPT_PIECE_S:.0f} s per "
        f"village piece, {SPOPT_BUDGET_S:.0f} s per run (BENCH_SPOPT_PIECE_S, "
        f"BENCH_SPOPT_BUDGET_S); max_iterations_construction={MAXP_CONSTRUCTION}, "
        f"max_iterations_sa={MAXP_SA}; seeds {FIRST_SEED}-{FIRST_SEED + RUNS - 1}",
        flush=True,
    )
    rows: dict[str, list[dict[str, float]]] = {"gisgrid": [], "GerryChain ReCom": []}
    # Per run, each method's plans and seconds per village: the sample's table is made at the
    # end, on the villages spopt finished in every run.
    sruns: dict[str, list[tuple[dict[str, np.ndarray], dict[str, float]]]] = {
        "gisgrid": [],
        "GerryChain ReCom": [],
        "spopt max-p": [],
    }
    stops: list[dict[str, str]] = []
    ratios: dict[str, list[float]] = {"whole": [], "equal": [], "quality": []}
    with _spopt_max_p() as spopt_said:
        print(spopt_said, flush=True)
        for run in range(RUNS):
            plans, t, tg, per = run_gisgrid(vbs, seed=FIRST_SEED + run)
            rows["gisgrid"].append(measure(vbs, plans) | {"runtime_s": t, "graphs_s": tg})
            sruns["gisgrid"].append((plans, per))
            print(f"run {run + 1}: gisgrid {t:.2f} s; ReCom next", flush=True)
            rplans, tr, extra, rper = run_recom(vbs, seed=FIRST_SEED + run, ours=plans)
            rows["GerryChain ReCom"].append(measure(vbs, rplans) | {"runtime_s": tr} | extra)
            sruns["GerryChain ReCom"].append((rplans, rper))
            ratios["whole"].append(tr / t)
            ratios["equal"].append(extra["equal_s"] / t)
            ratios["quality"].append(extra["quality_s"] / t)
            tm = float("nan")
            if run < SPOPT_RUNS:
                print(f"run {run + 1}: ReCom {tr:.2f} s; spopt max-p next", flush=True)
                mplans, mper, stopped = run_maxp(svbs, seed=FIRST_SEED + run)
                sruns["spopt max-p"].append((mplans, mper))
                stops.append(stopped)
                tm = sum(mper.values())
                for code, why in stopped.items():
                    print(f"run {run + 1}: spopt BOUND HIT, village {code}: {why}", flush=True)
            print(
                f"run {run + 1}: gisgrid {t:.2f} s, ReCom {tr:.2f} s (to gisgrid's balance and "
                f"compactness {extra['quality_s']:.2f} s: {extra['quality_s'] / t:.1f}x), "
                f"spopt max-p {tm:.1f} s on the sample (bounded villages' time included); "
                f"load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    load_after = os.getloadavg()
    med = {name: _median(runs) for name, runs in rows.items()}
    done = [c for c in sample if not any(c in st for st in stops)]
    smed = {name: _median(r) for name, r in _sample_rows(svbs, sruns, done).items()}
    _table(
        f"all {len(vbs)} villages: medians of {RUNS} runs",
        med,
        measure(vbs, current(vbs)),
    )
    unfinished = len(sample) - len(done)
    _table(
        f"the same {len(done)} villages for all three"
        + (
            f" (spopt's sample of {len(sample)}; {unfinished} left out: spopt hit its bound "
            "there in some run, named above)"
            if unfinished
            else f" (spopt's sample of {len(sample)}, every one finished by spopt)"
        )
        + f": medians of {RUNS} runs (spopt {min(SPOPT_RUNS, RUNS)}), runtime = the same villages",
        smed,
        measure({c: svbs[c] for c in done}, current({c: svbs[c] for c in done})),
    )
    if stops and unfinished:
        print(
            f"spopt hit its bound in {unfinished} of {len(sample)} villages: the sample's "
            "figures above leave them out for every method"
        )
    g, rc = med["gisgrid"], med["GerryChain ReCom"]
    sg, sr = smed["gisgrid"], smed["GerryChain ReCom"]
    sm = smed.get("spopt max-p")
    print(
        f"\ngraph building, outside the clocks: gisgrid BlockGraphs {g['graphs_s']:.2f} s, "
        f"ReCom networkx + GerryChain Graphs {rc['graphs_s']:.2f} s (medians)\n"
        f"ReCom {RECOM_STEPS} steps per village piece from gisgrid's start, best plan kept. "
        f"Ratios (ReCom time / gisgrid time, per run, median):\n"
        f"  to gisgrid's balance and compactness: {statistics.median(ratios['quality']):.1f}x "
        f"(ReCom {rc['quality_s']:.2f} s; {rc['unmatched']:.0f} of {rc['pieces']:.0f} village "
        f"pieces never got there and count their whole chain); target >= 10x\n"
        f"  to gisgrid's balance alone: {statistics.median(ratios['equal']):.1f}x "
        f"(ReCom {rc['equal_s']:.2f} s; {rc['missed']:.0f} pieces never did; the shared start "
        f"is mostly in band already)\n"
        f"  the whole chain: {statistics.median(ratios['whole']):.1f}x (ReCom "
        f"{rc['runtime_s']:.2f} s, gisgrid {g['runtime_s']:.2f} s)\n"
        f"mean Polsby-Popper {g['mean_pp']:.3f} vs {rc['mean_pp']:.3f} (ReCom), all villages; "
        f"on the same {len(done)}: gisgrid {sg['mean_pp']:.3f}, ReCom {sr['mean_pp']:.3f}, "
        f"spopt max-p {sm['mean_pp'] if sm else float('nan'):.3f}; spopt's time "
        f"{sm['runtime_s'] / sg['runtime_s'] if sm and sg['runtime_s'] else float('nan'):.0f}x "
        f"gisgrid's there; feasible grids in band {g['share_in_band']:.2%} (target >= 99%)"
    )
    print(
        f"load after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} "
        f"({os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
