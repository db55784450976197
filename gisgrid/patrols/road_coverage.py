"""Road coverage by distance, not by buffering: exact covered length of roads near tracks.

A point of a road is covered when it lies within r metres of a track (the polyline through its
fixes). For one straight road piece and one straight track piece that set is a single interval,
because the r-neighbourhood of a segment (a capsule) is convex. So the covered length of a road
is the length of a union of intervals, one per (road piece, track piece) pair found by a
distance query (STRtree `dwithin`). Nothing is buffered or unioned as polygons, which is what
makes loitering, self-crossing tracks cheap here and pathological for buffer-and-overlay.

All inputs are in a metric CRS. Everything is vectorised over pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely

EPS = 1e-12


@dataclass
class TrackPieces:
    """Straight track pieces A->B (metric), with the time of B and the staff member."""

    ax: np.ndarray
    ay: np.ndarray
    bx: np.ndarray
    by: np.ndarray
    t: np.ndarray  # epoch seconds at the piece's later end
    staff: np.ndarray

    def __len__(self) -> int:
        return len(self.ax)


@dataclass
class RoadCoverage:
    """Per road: length, covered length, covered share and the time of the last visit."""

    length_m: np.ndarray
    covered_m: np.ndarray
    last_visit: np.ndarray  # epoch seconds, NaN when never within r

    @property
    def share(self) -> np.ndarray:
        """Covered share of each road (0 for zero-length roads)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.length_m > 0, self.covered_m / self.length_m, 0.0)


def pieces_from_fixes(
    track: np.ndarray,
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    staff: np.ndarray | None = None,
    max_gap_s: float = 300.0,
) -> TrackPieces:
    """Straight pieces between consecutive fixes of a track (sorted by track, t).

    Consecutive fixes further apart in time than max_gap_s are not joined (no straight line
    across a phone that was off); a fix joined to neither neighbour is kept as a zero-length
    piece, so it still covers what is within r of it.
    """
    n = len(t)
    staff = np.zeros(n, dtype=np.int64) if staff is None else staff
    if n == 0:
        e = np.empty(0)
        return TrackPieces(e, e, e, e, e, np.empty(0, dtype=np.int64))
    linked = (track[1:] == track[:-1]) & ((t[1:] - t[:-1]) <= max_gap_s)
    i = np.flatnonzero(linked)
    has_link = np.zeros(n, dtype=bool)
    has_link[i] = True
    has_link[i + 1] = True
    lone = np.flatnonzero(~has_link)
    a = np.concatenate([i, lone])
    b = np.concatenate([i + 1, lone])
    return TrackPieces(x[a], y[a], x[b], y[b], t[b], staff[b])


def _road_pieces(roads: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Straight pieces of (multi)line roads: (p0 xy, p1 xy, road index)."""
    parts, part_road = shapely.get_parts(roads, return_index=True)
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[1:] == idx[:-1]
    j = np.flatnonzero(same)
    return coords[j], coords[j + 1], part_road[idx[j]]


def _capsule_intervals(
    p0: np.ndarray, p1: np.ndarray, a: np.ndarray, b: np.ndarray, r: float
) -> tuple[np.ndarray, np.ndarray]:
    """For each pair, the interval [s0, s1] (metres along p0->p1) within r of segment a-b.

    Returns s0 > s1 where the pair does not touch. Hull of: two end circles and the rectangle
    (the capsule is convex, so the union of the three hits is one interval).
    """
    d = p1 - p0
    length = np.hypot(d[:, 0], d[:, 1])
    u = d / np.maximum(length, EPS)[:, None]
    lo = np.full(len(p0), np.inf)
    hi = np.full(len(p0), -np.inf)

    for c in (a, b):
        w = c - p0
        proj = (w * u).sum(1)
        disc = r * r - ((w * w).sum(1) - proj * proj)
        ok = disc >= 0
        sq = np.sqrt(np.where(ok, disc, 0.0))
        lo = np.where(ok, np.minimum(lo, proj - sq), lo)
        hi = np.where(ok, np.maximum(hi, proj + sq), hi)

    # Rectangle: 0 <= (X-a).v/|v| <= |v| and |(X-a).n| <= r, X = p0 + s u (Liang-Barsky).
    v = b - a
    m = np.hypot(v[:, 0], v[:, 1])
    real = m > EPS
    vh = v / np.maximum(m, EPS)[:, None]
    nh = np.stack([-vh[:, 1], vh[:, 0]], 1)
    w = p0 - a
    s_lo = np.full(len(p0), -np.inf)
    s_hi = np.full(len(p0), np.inf)
    feasible = real.copy()
    for axis, low, high in (
        (vh, np.zeros_like(m), m),
        (nh, np.full_like(m, -r), np.full_like(m, r)),
    ):
        alpha = (w * axis).sum(1)
        beta = (u * axis).sum(1)
        flat = np.abs(beta) < EPS
        feasible &= ~flat | ((alpha >= low) & (alpha <= high))
        safe = np.where(flat, 1.0, beta)
        e1 = (low - alpha) / safe
        e2 = (high - alpha) / safe
        s_lo = np.where(flat, s_lo, np.maximum(s_lo, np.minimum(e1, e2)))
        s_hi = np.where(flat, s_hi, np.minimum(s_hi, np.maximum(e1, e2)))
    rect = feasible & (s_lo <= s_hi)
    lo = np.where(rect, np.minimum(lo, s_lo), lo)
    hi = np.where(rect, np.maximum(hi, s_hi), hi)
    return np.maximum(lo, 0.0), np.minimum(hi, length)


def road_coverage(
    roads: np.ndarray,
    pieces: TrackPieces,
    r: float = 15.0,
    progress: Callable[[str], None] | None = None,
    chunk: int = 500_000,
) -> RoadCoverage:
    """Exact covered length of each road (metric lines) within r metres of the track pieces."""
    roads = np.asarray(roads, dtype=object)
    length = shapely.length(roads)
    p0, p1, road_of = _road_pieces(roads)
    n_pieces = len(p0)
    covered = np.zeros(len(roads))
    last = np.full(len(roads), np.nan)
    if n_pieces == 0 or len(pieces) == 0:
        return RoadCoverage(length, covered, last)

    near = _NearRoads(p0, p1, r)
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    which: list[np.ndarray] = []
    when: list[np.ndarray] = []
    for c0 in range(0, len(pieces), chunk):
        sl = slice(c0, c0 + chunk)
        a = np.stack([pieces.ax[sl], pieces.ay[sl]], 1)
        b = np.stack([pieces.bx[sl], pieces.by[sl]], 1)
        # Candidates: road pieces whose box, widened by r, meets the track piece's box. The
        # capsule test below is the exact one (an empty interval: not within r).
        ti, ri = near.pairs(a, b)
        s0, s1 = _capsule_intervals(p0[ri], p1[ri], a[ti], b[ti], r)
        keep = s1 >= s0
        starts.append(s0[keep])
        ends.append(s1[keep])
        which.append(ri[keep])
        when.append(pieces.t[sl][ti[keep]])
        if progress:
            progress(
                f"coverage: {min(c0 + chunk, len(pieces)):,}/{len(pieces):,} track pieces, "
                f"{sum(len(s) for s in starts):,} road contacts"
            )
    s0 = np.concatenate(starts)
    s1 = np.concatenate(ends)
    pi = np.concatenate(which)
    tt = np.concatenate(when)
    if len(pi) == 0:
        return RoadCoverage(length, covered, last)

    # Union length per road piece: sort by (piece, start); shift each piece by a large offset
    # so one running maximum serves all pieces at once.
    big = float(np.hypot(*(p1 - p0).T).max()) * 2 + 1.0
    order = np.lexsort((s0, pi))
    off = pi[order] * big
    so = s0[order] + off
    eo = s1[order] + off
    run = np.maximum.accumulate(eo)
    prev = np.concatenate([[-np.inf], run[:-1]])
    gain = np.maximum(0.0, eo - np.maximum(so, prev))
    piece_cov = np.bincount(pi[order], weights=gain, minlength=n_pieces)
    covered = np.minimum(np.bincount(road_of, weights=piece_cov, minlength=len(roads)), length)
    np.fmax.at(last, road_of[pi], tt)
    return RoadCoverage(length, covered, last)


class _NearRoads:
    """Road pieces binned on a square grid by their boxes widened by r, to find the pieces a
    track piece may pass within r of without building a geometry per track piece (a GEOS
    line per fix cost more than all the arithmetic that follows)."""

    def __init__(self, p0: np.ndarray, p1: np.ndarray, r: float, cell: float | None = None):
        self.lo = np.minimum(p0, p1) - r
        self.hi = np.maximum(p0, p1) + r
        self.origin = self.lo.min(0)
        # Cells about the size of a road piece's widened box: few cells per piece, few
        # pieces per cell.
        self.h = cell or max(4.0 * r, float(np.median(self.hi - self.lo)))
        i0, i1 = self._cells(self.lo), self._cells(self.hi)
        self.width = int(i1[:, 0].max()) + 1
        road, cx, cy = _boxes_cells(i0, i1)
        key = cy * self.width + cx
        order = np.argsort(key, kind="stable")
        self.key, self.road = key[order], road[order]

    def _cells(self, xy: np.ndarray) -> np.ndarray:
        return np.floor((xy - self.origin) / self.h).astype(np.int64)

    def pairs(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(track piece, road piece) index pairs whose boxes meet (the road's widened by r)."""
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        i0 = np.clip(self._cells(lo), 0, None)
        i1 = self._cells(hi)
        i1[:, 0] = np.minimum(i1[:, 0], self.width - 1)
        track, cx, cy = _boxes_cells(i0, i1)
        key = cy * self.width + cx
        start = np.searchsorted(self.key, key, side="left")
        stop = np.searchsorted(self.key, key, side="right")
        entry, at = _ranges(start, stop)
        ti, ri = track[entry], self.road[at]
        # Boxes meet, and each pair once: in the cell holding the corner where they start to.
        corner = np.maximum(lo[ti], self.lo[ri])
        meet = (corner <= np.minimum(hi[ti], self.hi[ri])).all(1)
        home = (self._cells(corner) == np.stack([cx[entry], cy[entry]], 1)).all(1)
        keep = meet & home
        return ti[keep], ri[keep]


def _boxes_cells(i0: np.ndarray, i1: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(box, cell x, cell y) for every grid cell of each box's inclusive range i0..i1."""
    nx = np.maximum(i1[:, 0] - i0[:, 0] + 1, 0)
    ny = np.maximum(i1[:, 1] - i0[:, 1] + 1, 0)
    box, k = _ranges(np.zeros(len(nx), dtype=np.int64), nx * ny)
    dy, dx = np.divmod(k, nx[box])
    return box, i0[box, 0] + dx, i0[box, 1] + dy


def _ranges(start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) for every j in start[i]..stop[i]-1."""
    n = np.maximum(stop - start, 0)
    i = np.repeat(np.arange(len(n)), n)
    return i, np.arange(len(i)) - np.repeat(np.cumsum(n) - n, n) + start[i]


BANDS = (("<1h", 3600.0), ("<3h", 3 * 3600.0), ("<6h", 6 * 3600.0))


def age_bands(last: np.ndarray, now: float) -> np.ndarray:
    """Time since the last visit in bands: <1h, <3h, <6h, >6h, never."""
    age = now - last
    out = np.full(len(last), ">6h", dtype=object)
    for name, limit in reversed(BANDS):
        out[age < limit] = name
    out[np.isnan(last)] = "never"
    return out
