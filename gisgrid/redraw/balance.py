"""Balance: a village's blocks into contiguous grids inside the household band, then compact.

Each village is a graph: blocks are nodes weighted by households, edges are shared boundaries
weighted by their length. A plan is a label per block. The search is lexicographic: first the
band violation (households below the band's minimum plus above its maximum, summed over grids),
then compactness, the sum of the grids' Polsby-Popper scores (4*pi*area/perimeter^2). Both are
updated per move in O(degree): a grid's perimeter is its blocks' perimeters minus twice the
boundary they share, so moving block b from grid X to grid Y changes X's perimeter by
-p_b + 2*shared(b, X) and Y's by +p_b - 2*shared(b, Y).

1. **Start**: METIS (pymetis) cuts the graph into k contiguous parts of about equal households,
   minimising the cut boundary length (a short total boundary is what compactness rewards).
2. **Repair**: any part METIS left in pieces keeps its largest piece; the others join the
   neighbouring part they share most boundary with.
3. **Local search** (AZP-like): boundary blocks move to a neighbouring grid when that lowers the
   violation, or keeps it and raises compactness; a move that would split the grid it leaves is
   never made. When no move helps, a few random kicks (moves that keep every grid in band) are
   tried and the best plan seen is kept (iterated local search).

k is the number of grids closest to households / band middle among those the band allows
(ceil(H / max) <= k <= floor(H / min)); a village below the band's minimum is one grid, and a
village no k fits gets the k with the smallest violation; both are said in the village's note.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from gisgrid.errors import InvalidCode

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix


@dataclass(frozen=True)
class Band:
    """Households per grid: the inclusive range [lo, hi] a grid should fall in."""

    lo: int
    hi: int

    def __post_init__(self) -> None:
        if not (0 < self.lo <= self.hi):
            raise InvalidCode(
                f"band=[{self.lo}, {self.hi}] must be two positive whole numbers of households "
                "with min <= max, e.g. [150, 300]",
                reason="plan.band_order",
                lo=self.lo,
                hi=self.hi,
            )

    def deviation(self, households: np.ndarray | float) -> np.ndarray:
        """Households below lo or above hi (0 inside the band)."""
        h = np.asarray(households)
        return np.maximum(self.lo - h, 0) + np.maximum(h - self.hi, 0)


@dataclass
class BlockGraph:
    """A village's blocks as a graph (CSR adjacency with shared lengths in metres)."""

    households: np.ndarray  # int, per block
    area: np.ndarray  # m2
    perimeter: np.ndarray  # m
    indptr: np.ndarray
    indices: np.ndarray
    shared: np.ndarray

    @property
    def n(self) -> int:
        """Number of blocks."""
        return len(self.households)

    @classmethod
    def from_edges(
        cls,
        households: np.ndarray,
        area: np.ndarray,
        perimeter: np.ndarray,
        edges: np.ndarray,
        shared: np.ndarray,
    ) -> BlockGraph:
        """Build from an undirected edge list (a < b) and each edge's shared length."""
        n = len(households)
        a = np.concatenate([edges[:, 0], edges[:, 1]]).astype(np.int64)
        b = np.concatenate([edges[:, 1], edges[:, 0]]).astype(np.int64)
        w = np.concatenate([shared, shared]).astype(float)
        order = np.lexsort((b, a))
        indptr = np.concatenate([[0], np.cumsum(np.bincount(a, minlength=n))])
        return cls(
            households=np.asarray(households, dtype=np.int64),
            area=np.asarray(area, dtype=float),
            perimeter=np.asarray(perimeter, dtype=float),
            indptr=indptr,
            indices=b[order],
            shared=w[order],
        )

    def neighbours(self, i: int) -> np.ndarray:
        """Blocks sharing boundary with block i."""
        return self.indices[self.indptr[i] : self.indptr[i + 1]]

    @cached_property
    def matrix(self) -> csr_matrix:
        """The adjacency as a scipy sparse matrix (built once per graph)."""
        from scipy.sparse import csr_matrix

        n = self.n
        return csr_matrix((np.ones(len(self.indices)), self.indices, self.indptr), shape=(n, n))

    @cached_property
    def lists(self) -> tuple[list[list[int]], list[list[float]]]:
        """Neighbours and shared lengths per block as plain lists (built once per graph).

        The search's inner loop reads single items, where lists beat numpy arrays; building
        them is a Python loop over the blocks, so it is done once, not once per restart.
        """
        cut = self.indptr[1:-1]
        return (
            [a.tolist() for a in np.split(self.indices, cut)],
            [a.tolist() for a in np.split(self.shared, cut)],
        )

    @cached_property
    def neighbour_sets(self) -> list[set[int]]:
        """Neighbours per block as sets, for membership tests (built once per graph)."""
        return [set(a) for a in self.lists[0]]

    def components(self, members: np.ndarray | None = None) -> np.ndarray:
        """Connected-component label per block (of the subgraph on `members`; -1 elsewhere)."""
        from scipy.sparse.csgraph import connected_components

        mat = self.matrix
        if members is None:
            return connected_components(mat, directed=False)[1]
        keep = np.zeros(self.n, dtype=bool)
        keep[members] = True
        sub = mat[keep][:, keep]
        out = np.full(self.n, -1)
        out[keep] = connected_components(sub, directed=False)[1]
        return out

    def pieces_per_label(self, labels: np.ndarray) -> np.ndarray:
        """Connected pieces of each label's blocks, per label 0..max (one vectorised pass)."""
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import connected_components

        n = self.n
        src = np.repeat(np.arange(n), np.diff(self.indptr))
        same = labels[src] == labels[self.indices]
        # The graph's own CSR with the edges between grids dropped (no COO round trip).
        indptr = np.concatenate([[0], np.cumsum(np.bincount(src[same], minlength=n))])
        mat = csr_matrix((np.ones(int(same.sum())), self.indices[same], indptr), shape=(n, n))
        _, comp = connected_components(mat, directed=False)
        first = np.unique(comp, return_index=True)[1]  # one block per piece
        return np.bincount(labels[first], minlength=int(labels.max()) + 1 if n else 0)


def polsby_popper(area: np.ndarray, perimeter: np.ndarray) -> np.ndarray:
    """4*pi*area/perimeter^2 (1 for a circle, near 0 for a sliver)."""
    p = np.asarray(perimeter, dtype=float)
    return np.where(p > 0, 4 * np.pi * np.asarray(area) / np.maximum(p, 1e-12) ** 2, 0.0)


def grid_figures(g: BlockGraph, labels: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Households, area, perimeter and Polsby-Popper per grid label 0..k-1."""
    hh = np.bincount(labels, weights=g.households, minlength=k)
    area = np.bincount(labels, weights=g.area, minlength=k)
    perim = np.bincount(labels, weights=g.perimeter, minlength=k)
    src = np.repeat(np.arange(g.n), np.diff(g.indptr))
    inside = labels[src] == labels[g.indices]
    # Each shared edge inside a grid is counted from both sides: subtract it once per side.
    perim -= np.bincount(labels[src[inside]], weights=g.shared[inside], minlength=k)
    return {
        "households": hh.astype(np.int64),
        "area": area,
        "perimeter": perim,
        "polsby_popper": polsby_popper(area, perim),
    }


def choose_k(households: int, band: Band) -> tuple[int, str | None]:
    """How many grids a village of this many households gets, and why when the band cannot fit."""
    if households <= band.hi:
        if households < band.lo:
            return 1, (
                f"{households} households is below the band's minimum {band.lo}: one grid "
                "for the whole village"
            )
        return 1, None
    kmin, kmax = math.ceil(households / band.hi), households // band.lo
    mid = (band.lo + band.hi) / 2
    if kmin <= kmax:
        return int(min(max(round(households / mid), kmin), kmax)), None
    # No whole number of grids fits: the one with the smallest total violation of an even split.
    cands = [kmax, kmin] if kmax >= 1 else [kmin]
    best = min(cands, key=lambda k: k * float(band.deviation(households / k)))
    return best, (
        f"{households} households cannot be split into grids of {band.lo}-{band.hi}: "
        f"{kmax} grid(s) would be over {band.hi}, {kmin} under {band.lo}; {best} grids, "
        "closest to the band"
    )


_FOUR_PI = 4 * math.pi


class _Search:
    """The local search state: labels plus per-grid households, area and perimeter.

    Each block also keeps the boundary it shares with each grid around it (`sh`), updated for
    a moved block's neighbours only, so a block is judged from a dictionary look-up and
    interior blocks (one grid around them, their own) cost nothing.
    """

    def __init__(self, g: BlockGraph, labels: np.ndarray, k: int, band: Band, rng: random.Random):
        self.g, self.k, self.band, self.rng = g, k, band, rng
        # Plain lists: the inner loop reads single items, where lists beat numpy arrays.
        self.nbr, self.w = g.lists
        self.bh = g.households.astype(float).tolist()
        self.ba = g.area.tolist()
        self.bp = g.perimeter.tolist()
        self.ideal = float(g.households.sum()) / k
        self.lab: list[int] = []
        self.sh: list[dict[int, float]] = []
        self._kept: tuple[Any, ...] | None = None
        self._figures(np.array(labels, dtype=np.int64))  # a copy: moves write to it
        self.sh = [self._shared(b) for b in range(g.n)]
        # Every grid one piece (what repair leaves): then a block with a single neighbour in
        # its grid can leave it without a search.
        self.whole = bool((g.pieces_per_label(self.labels) <= 1).all()) if g.n else True

    def _figures(self, labels: np.ndarray) -> None:
        """Labels and per-grid figures computed afresh (as on a new search)."""
        self.labels = labels
        f = grid_figures(self.g, labels, self.k)
        self.hh = f["households"].astype(float).tolist()
        self.area = f["area"].tolist()
        self.perim = f["perimeter"].tolist()
        self.ppg = [self.pp(a, p) for a, p in zip(self.area, self.perim, strict=True)]
        self.lab = labels.tolist()
        self.size = np.bincount(labels, minlength=self.k).tolist()
        self.viol = sum(self.dev(h) for h in self.hh)

    def reset(self, lab: list[int]) -> None:
        """Back to an earlier plan: figures afresh, `sh` again only where a label differs."""
        new = np.asarray(lab, dtype=np.int64)
        changed = np.flatnonzero(new != self.labels).tolist()
        # Most kicks fail and come back to the same best plan: its fresh figures are kept
        # (copied, since moves change them in place) instead of computed again.
        kept = self._kept
        if kept is not None and kept[0] is lab:
            _, hh, area, perim, ppg, size, viol = kept
            self.labels = new
            self.lab = list(lab)
            self.hh, self.area, self.perim = list(hh), list(area), list(perim)
            self.ppg, self.size, self.viol = list(ppg), list(size), viol
        else:
            self._figures(new)
            self._kept = (
                lab,
                list(self.hh),
                list(self.area),
                list(self.perim),
                list(self.ppg),
                list(self.size),
                self.viol,
            )
        for j in {j for b in changed for j in self.nbr[b]}:
            self.sh[j] = self._shared(j)

    def dev(self, h: float) -> float:
        b = self.band
        return max(b.lo - h, 0.0) + max(h - b.hi, 0.0)

    @staticmethod
    def pp(a: float, p: float) -> float:
        return _FOUR_PI * a / (p * p) if p > 0 else 0.0

    def violation(self) -> float:
        return self.viol

    def compactness(self) -> float:
        return sum(self.pp(a, p) for a, p in zip(self.area, self.perim, strict=True))

    def _shared(self, b: int) -> dict[int, float]:
        """Boundary block b shares with each grid around it, from the current labels."""
        out: dict[int, float] = {}
        lab = self.lab
        for j, w in zip(self.nbr[b], self.w[b], strict=True):
            out[lab[j]] = out.get(lab[j], 0.0) + w
        return out

    def stays_connected(self, b: int) -> bool:
        """Whether grid lab[b] is still one piece without block b."""
        x = self.lab[b]
        if self.size[x] <= 1:
            return False
        lab, nbr = self.lab, self.nbr
        start = [j for j in nbr[b] if lab[j] == x]
        if not start:
            return False
        if self.whole:
            # A connected grid stays connected without b when b's neighbours in it are joined
            # among themselves (any other block reaches one of them without passing b).
            if len(start) == 1:
                return True
            adj = self.g.neighbour_sets
            ring, todo = {start[0]}, [start[0]]
            while todo:
                u = adj[todo.pop()]
                for v in start:
                    if v not in ring and v in u:
                        ring.add(v)
                        todo.append(v)
            if len(ring) == len(start):
                return True
        seen = {b, start[0]}
        queue = deque([start[0]])
        while queue:
            i = queue.popleft()
            for j in nbr[i]:
                if j not in seen and lab[j] == x:
                    seen.add(j)
                    queue.append(j)
        return len(seen) - 1 == self.size[x] - 1  # every other block of x, b left out

    def move(self, b: int, y: int, s: dict[int, float]) -> None:
        x = self.lab[b]
        h, a, p = self.bh[b], self.ba[b], self.bp[b]
        self.viol += (
            self.dev(self.hh[x] - h)
            + self.dev(self.hh[y] + h)
            - self.dev(self.hh[x])
            - self.dev(self.hh[y])
        )
        self.hh[x] -= h
        self.hh[y] += h
        self.area[x] -= a
        self.area[y] += a
        self.perim[x] += -p + 2 * s.get(x, 0.0)
        self.perim[y] += p - 2 * s.get(y, 0.0)
        self.ppg[x] = self.pp(self.area[x], self.perim[x])
        self.ppg[y] = self.pp(self.area[y], self.perim[y])
        self.size[x] -= 1
        self.size[y] += 1
        self.lab[b] = y
        self.labels[b] = y
        # The neighbours' shared boundary per grid, afresh (as `_shared`, inlined: hot).
        sh, lab, nbr, wts = self.sh, self.lab, self.nbr, self.w
        for j in nbr[b]:
            out: dict[int, float] = {}
            for i, w in zip(nbr[j], wts[j], strict=True):
                li = lab[i]
                out[li] = out.get(li, 0.0) + w
            sh[j] = out

    def descend(self, eps: float = 1e-9) -> None:
        """Improving moves until none is left (first improvement, random order).

        While some grid is out of band, a move that keeps the violation but evens out the
        households (closer to households / k) counts as progress: it opens the way for the
        chains of moves that carry households from a full grid to an empty one further away.
        Once every grid is in band, such moves must raise compactness instead.
        """
        order = list(range(self.g.n))
        lab, sh, hh, bh, ba, bp = self.lab, self.sh, self.hh, self.bh, self.ba, self.bp
        area, perim, ppg = self.area, self.perim, self.ppg
        lo, hi, t = float(self.band.lo), float(self.band.hi), self.ideal
        improved = True
        while improved:
            improved = False
            self.rng.shuffle(order)
            for b in order:
                s = sh[b]
                x = lab[b]
                if len(s) == 1 and x in s:
                    continue  # interior: every neighbour in its own grid
                h = bh[b]
                hx = hh[x]
                best_y = -1
                if self.viol <= eps:
                    # Every grid in band (households are whole numbers, so the violation is 0):
                    # a move must keep both grids in band and raise compactness.
                    if hx - h < lo:
                        continue
                    a, p = ba[b], bp[b]
                    px = perim[x] - p + 2 * s.get(x, 0.0)
                    ppx = _FOUR_PI * (area[x] - a) / (px * px) if px > 0 else 0.0
                    best_dc = eps
                    for y in s:
                        if y == x or hh[y] + h > hi:
                            continue
                        py = perim[y] + p - 2 * s[y]
                        dc = (
                            ppx
                            + (_FOUR_PI * (area[y] + a) / (py * py) if py > 0 else 0.0)
                            - ppg[x]
                            - ppg[y]
                        )
                        if dc > best_dc:
                            best_dc, best_y = dc, y
                else:
                    dx = max(lo - hx, 0.0) + max(hx - hi, 0.0)
                    dxm = max(lo - (hx - h), 0.0) + max(hx - h - hi, 0.0)
                    best: tuple[float, float] | None = None
                    for y in s:
                        if y == x:
                            continue
                        hy = hh[y]
                        dv = (
                            dxm
                            + (max(lo - (hy + h), 0.0) + max(hy + h - hi, 0.0))
                            - dx
                            - (max(lo - hy, 0.0) + max(hy - hi, 0.0))
                        )
                        second = -(
                            (hx - h - t) ** 2 + (hy + h - t) ** 2 - (hx - t) ** 2 - (hy - t) ** 2
                        )
                        better = dv < -eps or (abs(dv) <= eps and second > eps)
                        if better and (best is None or (dv, -second) < best):
                            best, best_y = (dv, -second), y
                if best_y >= 0 and self.stays_connected(b):
                    self.move(b, best_y, s)
                    improved = True

    def kick(self, moves: int) -> None:
        """Random boundary moves that keep the grids connected and add no violation."""
        for _ in range(moves * 4):
            if moves <= 0:
                return
            b = self.rng.randrange(self.g.n)
            s = self.sh[b]
            others = [y for y in s if y != self.lab[b]]
            if not others:
                continue
            y = self.rng.choice(others)
            x, h = self.lab[b], self.bh[b]
            hx, hy = self.hh[x], self.hh[y]
            dv = self.dev(hx - h) + self.dev(hy + h) - self.dev(hx) - self.dev(hy)
            if dv <= 1e-9 and self.stays_connected(b):
                self.move(b, y, s)
                moves -= 1


def _metis_start(g: BlockGraph, k: int, seed: int) -> np.ndarray:
    import pymetis

    if k <= 1:
        return np.zeros(g.n, dtype=np.int64)
    opts = pymetis.Options(seed=seed, ncuts=4, ufactor=30, contig=1)
    vw = (g.households + 1).astype(np.int64)  # METIS wants positive weights; empty blocks exist
    ew = np.maximum(np.round(g.shared), 1).astype(np.int64)
    try:
        _, parts = pymetis.part_graph(
            k,
            adjacency=pymetis.CSRAdjacency(g.indptr.astype(np.int64), g.indices.astype(np.int64)),
            vweights=vw,
            eweights=ew,
            options=opts,
        )
    except Exception:  # noqa: BLE001 - METIS refuses some graphs (e.g. too few blocks): grow instead
        return _grow_start(g, k, seed)
    return np.asarray(parts, dtype=np.int64)


def _grow_start(g: BlockGraph, k: int, seed: int) -> np.ndarray:
    """Region growing from k spread seeds by households (a fallback when METIS cannot cut)."""
    rng = random.Random(seed)
    labels = np.full(g.n, -1, dtype=np.int64)
    seeds = rng.sample(range(g.n), min(k, g.n))
    fronts: list[deque[int]] = []
    for p, s in enumerate(seeds):
        labels[s] = p
        fronts.append(deque([s]))
    hh = [float(g.households[s]) for s in seeds]
    while any(fronts):
        p = min((i for i in range(len(fronts)) if fronts[i]), key=lambda i: hh[i])
        i = fronts[p].popleft()
        for j in g.neighbours(i):
            if labels[j] < 0:
                labels[j] = p
                hh[p] += g.households[j]
                fronts[p].append(int(j))
    labels[labels < 0] = 0
    return labels


def _repair(g: BlockGraph, labels: np.ndarray, k: int) -> np.ndarray:
    """Every part one piece: its biggest piece stays, the rest joins the best neighbour."""
    labels = labels.copy()
    if g.n and (g.pieces_per_label(labels) <= 1).all():
        return labels  # METIS (contig=1) mostly cuts whole parts: one vectorised check
    for _ in range(g.n):
        changed = False
        for p in range(k):
            members = np.flatnonzero(labels == p)
            if not len(members):
                continue
            comp = g.components(members)[members]
            if comp.max() == 0:
                continue
            weight = np.bincount(comp, weights=g.households[members] + 1e-3)
            keep = int(np.argmax(weight))
            for b in members[comp != keep]:
                best, best_w = -1, -1.0
                for j, w in zip(
                    g.neighbours(b), g.shared[g.indptr[b] : g.indptr[b + 1]], strict=True
                ):
                    if labels[j] != p and w > best_w:
                        best, best_w = int(labels[j]), float(w)
                if best >= 0:
                    labels[b] = best
                    changed = True
        if not changed:
            break
    return labels


def start_partition(g: BlockGraph, k: int, seed: int = 0) -> np.ndarray:
    """The search's starting plan: METIS cut into k contiguous parts, repaired (0..k'-1)."""
    return _renumber(_repair(g, _metis_start(g, k, seed), k))[0]


def _renumber(labels: np.ndarray) -> tuple[np.ndarray, int]:
    uniq, inv = np.unique(labels, return_inverse=True)
    return inv.astype(np.int64), len(uniq)


def partition(
    g: BlockGraph,
    k: int,
    band: Band,
    *,
    seed: int = 0,
    start: np.ndarray | None = None,
    kicks: int = 12,
    restarts: int = 3,
) -> np.ndarray:
    """k contiguous grids of a connected block graph: in band first, compact second."""
    if k <= 1 or g.n <= 1:
        return np.zeros(g.n, dtype=np.int64)
    k = min(k, g.n)
    best: tuple[float, float, list[int]] | None = None
    # A second and third METIS start only when the first search leaves a grid out of band.
    for attempt in range(restarts if start is None else 1):
        labels = _metis_start(g, k, seed + attempt) if start is None else start.astype(np.int64)
        labels, kk = _renumber(_repair(g, labels, k))
        rng = random.Random(seed + attempt)
        s = _Search(g, labels, kk, band, rng)
        s.descend()
        here = (s.violation(), -s.compactness(), list(s.lab))
        for _ in range(kicks):
            s.kick(max(2, g.n // 10))
            s.descend()
            cand = (s.violation(), -s.compactness(), list(s.lab))
            if cand[:2] < here[:2]:
                here = cand
            else:  # the next kick starts from the best plan seen
                s.reset(here[2])
        if best is None or here[:2] < best[:2]:
            best = here
        if best[0] <= 1e-9:
            break
    assert best is not None
    return _renumber(np.asarray(best[2], dtype=np.int64))[0]


@dataclass
class VillagePlan:
    """One village's balanced grids: a label per block, and what the village allowed."""

    labels: np.ndarray
    k: int
    feasible: bool  # some whole number of grids fits the band
    note: str | None


def balance_village(g: BlockGraph, band: Band, seed: int = 0, kicks: int = 12) -> VillagePlan:
    """Balance one village: the right number of grids, contiguous, in band, compact.

    A village whose blocks fall into several unconnected pieces (islands) gets its grids per
    piece, each piece with its own number of grids.
    """
    total = int(g.households.sum())
    k_all, note = choose_k(total, band)
    feasible = note is None
    comp = g.components()
    ncomp = int(comp.max()) + 1 if g.n else 0
    labels = np.zeros(g.n, dtype=np.int64)
    offset = 0
    for c in range(ncomp):
        members = np.flatnonzero(comp == c)
        sub = subgraph(g, members)
        hc = int(sub.households.sum())
        kc, _ = choose_k(hc, band) if ncomp > 1 else (k_all, None)
        sl = _best_k(sub, hc, kc, band, seed + c, kicks)
        labels[members] = sl + offset
        offset += int(sl.max()) + 1
    if ncomp > 1:
        note = ((note + "; ") if note else "") + f"{ncomp} unconnected pieces, grids per piece"
    labels, k = _renumber(labels)
    return VillagePlan(labels=labels, k=k, feasible=feasible, note=note)


def _best_k(
    g: BlockGraph, households: int, k: int, band: Band, seed: int, kicks: int
) -> np.ndarray:
    """Partition into k grids; if a grid stays out of band, try the other k the band allows."""
    labels = partition(g, k, band, seed=seed, kicks=kicks)

    def score(lab: np.ndarray) -> tuple[float, float]:
        f = grid_figures(g, lab, int(lab.max()) + 1)
        return float(band.deviation(f["households"]).sum()), -float(f["polsby_popper"].mean())

    best = (score(labels), labels)
    if best[0][0] == 0 or households <= band.hi:
        return labels
    kmin, kmax = math.ceil(households / band.hi), households // band.lo
    for other in sorted(range(kmin, kmax + 1), key=lambda x: (abs(x - k), x)):
        if other == k or other > g.n:
            continue
        cand = partition(g, other, band, seed=seed, kicks=kicks)
        sc = score(cand)
        if sc < best[0]:
            best = (sc, cand)
        if best[0][0] == 0:
            break
    return best[1]


def subgraph(g: BlockGraph, members: np.ndarray) -> BlockGraph:
    pos = np.full(g.n, -1)
    pos[members] = np.arange(len(members))
    src = np.repeat(np.arange(g.n), np.diff(g.indptr))
    keep = (pos[src] >= 0) & (pos[g.indices] >= 0) & (src < g.indices)
    edges = np.column_stack([pos[src[keep]], pos[g.indices[keep]]])
    return BlockGraph.from_edges(
        g.households[members], g.area[members], g.perimeter[members], edges, g.shared[keep]
    )
