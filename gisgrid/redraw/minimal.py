"""Minimal change: bring out-of-band grids into the band moving as few households as possible.

The village's current grids are unions of its blocks (blocks are cut along grid lines), so the
start is exact. The problem is solved exactly as an integer program with OR-Tools CP-SAT:

- x[b, j] = 1 when block b goes to grid j; j ranges over the current grids and a few new ones
  (as many as the oversized grids could need); every block in exactly one grid;
- a used grid holds between band.lo and band.hi households, with slack variables so a village
  the band cannot fit still gets its least-violating plan (violation weighs more than every
  household in the village, so it is minimised first);
- cost: households of block b that are not in grid j today (all of them for a new grid);
- contiguity by lazy cuts: solve, find a grid in pieces, add the separator inequality
  x[i, j] + x[k, j] <= 1 + sum(x[n, j] for n in N(C)) for a block i of piece C and a block k
  of another piece (N(C): C's neighbours outside it) for every grid j, and solve again. When a
  solution is contiguous it is optimal for the full problem, because every cut is valid for
  every contiguous plan.

Only the grids that are out of band and their neighbours are free to change (the rest of the
village stays as it is); if that is infeasible, the neighbours' neighbours, then the village.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from gisgrid.redraw.balance import Band, BlockGraph

TIME_LIMIT_S = 10.0
MAX_ROUNDS = 200


@dataclass
class MinimalChange:
    """The result for one village: new label per block, households moved, proven optimal?"""

    labels: np.ndarray  # 0..m-1 keep the current grids' identities; m.. are new grids
    moved: int
    violation: int
    optimal: bool
    changed: bool
    note: str | None = None


def _free_grids(g: BlockGraph, start: np.ndarray, bad: np.ndarray, depth: int) -> np.ndarray:
    """Labels within `depth` grid-adjacency steps of the out-of-band grids."""
    m = int(start.max()) + 1
    src = np.repeat(np.arange(g.n), np.diff(g.indptr))
    la, lb = start[src], start[g.indices]
    adj = np.zeros((m, m), dtype=bool)
    adj[la, lb] = True
    free = np.zeros(m, dtype=bool)
    free[bad] = True
    for _ in range(depth):
        free = free | adj[free].any(axis=0)
    return np.flatnonzero(free)


def minimal_change(
    g: BlockGraph,
    start: np.ndarray,
    band: Band,
    cost_stay: np.ndarray | None = None,
    *,
    time_limit_s: float = TIME_LIMIT_S,
    seed: int = 0,
    max_free: int = 150,
) -> MinimalChange:
    """Fewest households moved so every grid is in band (or as close as the village allows).

    `start`: the current grid (0..m-1) of each block. `cost_stay[b]`: households of block b
    already in its start grid (default: all of them); a block's other households move wherever
    it goes.
    """
    start = np.asarray(start, dtype=np.int64)
    hh = g.households.astype(np.int64)
    stay = hh if cost_stay is None else np.asarray(cost_stay, dtype=np.int64)
    m = int(start.max()) + 1 if g.n else 0
    cur = np.bincount(start, weights=hh, minlength=m).astype(np.int64)
    bad = np.flatnonzero(band.deviation(cur) > 0)
    base_moved = int((hh - stay).sum())
    if not len(bad):
        return MinimalChange(start.copy(), base_moved, 0, True, False)
    if int(np.isin(start, _free_grids(g, start, bad, 1)).sum()) <= max_free:
        # Small enough to solve exactly: the out-of-band grids and their neighbours, wider
        # only if that cannot reach the band.
        best: MinimalChange | None = None
        for depth in (1, 2, m):
            free = _free_grids(g, start, bad, depth)
            res = _solve(g, start, start, band, hh, stay, free, time_limit_s, seed, max_free)
            if best is None or (res.violation, res.moved) < (best.violation, best.moved):
                best = res
            if res.violation == 0 or len(free) == m:
                break
        assert best is not None
        return best
    # A large village: one out-of-band grid at a time, worst first, with its neighbours.
    labels = start.copy()
    exact = True
    for _ in range(2 * len(bad)):
        load = np.bincount(labels, weights=hh)
        dev = band.deviation(load)
        dev[load == 0] = 0
        out = np.flatnonzero(dev > 0)
        if not len(out):
            break
        worst = out[np.argmax(dev[out])]
        res = _solve(
            g,
            start,
            labels,
            band,
            hh,
            stay,
            _free_grids(g, labels, np.array([worst]), 1),
            time_limit_s / 2,
            seed,
            max_free,
        )
        exact = False
        new_dev = band.deviation(np.bincount(res.labels, weights=hh))
        new_dev[np.bincount(res.labels, weights=hh) == 0] = 0
        if new_dev.sum() >= dev.sum():
            break
        labels = res.labels
    _, labels = np.unique(labels, return_inverse=True)
    load = np.bincount(labels, weights=hh)
    # Labels keep the current grids first: renumber so 0..m-1 are still today's grids.
    labels = _keep_identities(start, labels)
    moved = int((hh - np.where(labels == start, stay, 0)).sum())
    return MinimalChange(
        labels,
        moved,
        int(band.deviation(load).sum()),
        exact,
        bool((labels != start).any()),
        "large village: one out-of-band grid at a time with its neighbours (not proven optimal)",
    )


def _keep_identities(start: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Relabel so a grid holding blocks of current grid j (by most blocks) is j; others after."""
    m = int(start.max()) + 1
    out = np.full(len(labels), -1, dtype=np.int64)
    taken: set[int] = set()
    mapping: dict[int, int] = {}
    pairs = sorted(
        {(int(label), int(j)) for label, j in zip(labels, start, strict=True)},
        key=lambda p: -int(((labels == p[0]) & (start == p[1])).sum()),
    )
    for label, j in pairs:
        if label not in mapping and j not in taken:
            mapping[label] = j
            taken.add(j)
    nxt = m
    for label in np.unique(labels):
        if int(label) not in mapping:
            mapping[int(label)] = nxt
            nxt += 1
    for label, j in mapping.items():
        out[labels == label] = j
    return out


def _solve(
    g: BlockGraph,
    orig: np.ndarray,
    start: np.ndarray,
    band: Band,
    hh: np.ndarray,
    stay: np.ndarray,
    free: np.ndarray,
    time_limit_s: float,
    seed: int,
    max_free: int,
) -> MinimalChange:
    """One CP-SAT solve: blocks of the `free` grids of `start` may move; cost against `orig`."""
    from ortools.sat.python import cp_model

    m = int(start.max()) + 1
    cur = np.bincount(start, weights=hh, minlength=m).astype(np.int64)
    blocks = [int(b) for b in np.flatnonzero(np.isin(start, free))]
    inside = set(blocks)
    pinned = _pinned(g, start, np.asarray(blocks), band, cur, max_free)
    # New grids: as many as the oversized free grids could split into, at least one.
    extra = int(sum(max(0, -(-int(cur[j]) // band.hi) - 1) for j in free)) or 1
    labels = list(map(int, free)) + list(range(m, m + extra))
    total = int(hh[blocks].sum())
    model = cp_model.CpModel()
    x = {(b, j): model.new_bool_var(f"x{b}_{j}") for b in blocks for j in labels}
    used = {j: model.new_bool_var(f"u{j}") for j in labels}
    slack = []
    for b in blocks:
        model.add_exactly_one(x[b, j] for j in labels)
        if b in pinned:
            model.add(x[b, int(start[b])] == 1)
    for j in labels:
        for b in blocks:
            model.add_implication(x[b, j], used[j])
        load = sum(int(hh[b]) * x[b, j] for b in blocks)
        under = model.new_int_var(0, band.lo, f"under{j}")
        over = model.new_int_var(0, total, f"over{j}")
        model.add(load + under >= band.lo).only_enforce_if(used[j])
        model.add(load - over <= band.hi)
        slack += [under, over]
    for a, b in zip(labels[len(free) : -1], labels[len(free) + 1 :], strict=True):
        model.add_implication(used[b], used[a])  # new grids are used in order (symmetry)
    # Contiguity: every used grid is a tree hanging from one root block. A block that is not a
    # root picks a parent among its neighbours in the same grid, strictly less deep than itself.
    # A current grid's root is one of its own blocks (a grid that kept none of them would be a
    # new grid), which also keeps the current grids' identities apart.
    depth = {b: model.new_int_var(0, len(blocks), f"d{b}") for b in blocks}
    root = {}
    for b in blocks:
        for j in labels:
            if j >= m or start[b] == j:
                root[b, j] = model.new_bool_var(f"r{b}_{j}")
                model.add_implication(root[b, j], x[b, j])
    hint_parent, hint_depth, hint_roots = _bfs_forest(g, start, blocks, pinned)
    for j in labels:
        roots = sum(root[b, j] for b in blocks if (b, j) in root)
        # A grid keeps at most the pieces it has today (a thin contact under ADJACENT_M is no
        # link, so a few current grids are in pieces already); new grids are one piece.
        pieces = len(hint_roots.get(j, [])) if j < m else 1
        model.add(roots >= used[j])
        model.add(roots <= pieces * used[j])
    for b in blocks:
        parents = []
        for n in map(int, g.neighbours(b)):
            if n not in inside:
                continue
            p = model.new_bool_var(f"p{b}_{n}")
            model.add_hint(p, hint_parent.get(b) == n)
            parents.append(p)
            model.add(depth[b] >= depth[n] + 1).only_enforce_if(p)
            for j in labels:
                model.add_bool_or([p.Not(), x[b, j].Not(), x[n, j]])
        model.add(sum(parents) + sum(root[b, j] for j in labels if (b, j) in root) == 1)
    cost = []
    for b in blocks:
        for j in labels:
            c = int(hh[b]) - (int(stay[b]) if j == orig[b] else 0)
            if c:
                cost.append(c * x[b, j])
    model.minimize((total + 1) * sum(slack) + sum(cost))
    # The current grids as a complete starting solution (a breadth-first tree per grid), so
    # the solver holds a feasible plan from the first moment and only improves on it.
    for b in blocks:
        model.add_hint(depth[b], hint_depth[b])
        for j in labels:
            model.add_hint(x[b, j], j == start[b])
            if (b, j) in root:
                model.add_hint(root[b, j], b in hint_roots.get(j, ()))
    for j in labels:
        model.add_hint(used[j], j < m)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return MinimalChange(
            start.copy(),
            int((hh - np.where(start == orig, stay, 0)).sum()),
            int(band.deviation(cur).sum()),
            False,
            False,
            f"no plan found within {time_limit_s:g} s",
        )
    result = start.copy()
    for b in blocks:
        for j in labels:
            if solver.boolean_value(x[b, j]):
                result[b] = j
    per_grid = np.bincount(result, weights=hh, minlength=m + extra)
    violation = int(band.deviation(per_grid[np.unique(result)]).sum())
    moved = int((hh - np.where(result == orig, stay, 0)).sum())
    exact = status == cp_model.OPTIMAL and not pinned
    note = (
        None
        if exact
        else f"best found: {len(pinned)} blocks deep inside grids were kept in place"
        if pinned
        else f"best found within {time_limit_s:g} s, not proven optimal"
    )
    return MinimalChange(result, moved, violation, exact, bool((result != start).any()), note)


def _bfs_forest(
    g: BlockGraph, start: np.ndarray, blocks: list[int], pinned: set[int]
) -> tuple[dict[int, int], dict[int, int], dict[int, list[int]]]:
    """A breadth-first tree per piece of each current grid: parents, depths, roots per grid."""
    parent: dict[int, int] = {}
    depth: dict[int, int] = {}
    roots: dict[int, list[int]] = {}
    inside = set(blocks)
    order = sorted(blocks, key=lambda b: (b not in pinned, b))  # pinned blocks root first
    for first in order:
        if first in depth:
            continue
        j = int(start[first])
        roots.setdefault(j, []).append(first)
        depth[first] = 0
        queue = deque([first])
        while queue:
            i = queue.popleft()
            for n in map(int, g.neighbours(i)):
                if n in inside and n not in depth and start[n] == j:
                    depth[n] = depth[i] + 1
                    parent[n] = i
                    queue.append(n)
    return parent, depth, roots


def _pinned(
    g: BlockGraph,
    start: np.ndarray,
    blocks: np.ndarray,
    band: Band,
    cur: np.ndarray,
    max_free: int,
) -> set[int]:
    """Blocks kept in place so a large village stays solvable: none when it is small.

    Blocks of out-of-band grids stay free; in the other grids, blocks more than a few steps
    from another grid are kept where they are (fewest steps first until few enough are left).
    """
    if len(blocks) <= max_free:
        return set()
    bad = band.deviation(cur) > 0
    # Steps from each block to the nearest block of another grid (breadth-first, all at once).
    src = np.repeat(np.arange(g.n), np.diff(g.indptr))
    dist = np.full(g.n, np.iinfo(np.int64).max // 2)
    dist[np.unique(src[start[src] != start[g.indices]])] = 0
    for _ in range(g.n):
        nd = dist.copy()
        np.minimum.at(nd, src, dist[g.indices] + 1)
        if (nd == dist).all():
            break
        dist = nd
    free_grid_block = bad[start[blocks]]
    for reach in (3, 2, 1, 0):
        pinned = blocks[~free_grid_block & (dist[blocks] > reach)]
        if len(blocks) - len(pinned) <= max_free or reach == 0:
            return set(map(int, pinned))
    return set()


def _separator_cuts(
    g: BlockGraph, labels: np.ndarray, blocks: np.ndarray
) -> list[tuple[int, int, list[int]]]:
    """For each grid in pieces: (block of a piece, block of another piece, the piece's border)."""
    cuts = []
    inside = set(map(int, blocks))
    for j in np.unique(labels[blocks]):
        members = np.flatnonzero(labels == j)
        comp = g.components(members)
        pieces = [members[comp[members] == c] for c in np.unique(comp[members])]
        if len(pieces) < 2:
            continue
        pieces.sort(key=lambda p: -int(g.households[p].sum()))
        for piece in pieces[1:]:
            mark = set(map(int, piece))
            border = {int(n) for b in piece for n in g.neighbours(b)} - mark
            other = int(pieces[0][0])
            i = int(piece[0])
            if i in inside and other in inside:
                cuts.append((i, other, sorted(border & inside)))
    return cuts
