"""GENERATED patrol tracks: walks along a road network with GPS noise, loitering and crossings.

Used for the demo county's sample day and for the benchmark. Walkers move at walking pace,
pick a random next road at each junction (so they double back and cross their own path), and
now and then loiter at a spot for minutes with the fix jittering around it: the tracks that
make buffer-and-overlay slow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SimTracks:
    """Fixes of many tracks, sorted by (track, t): metric x/y and epoch seconds."""

    track: np.ndarray
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray


def simulate_tracks(
    a: np.ndarray,
    b: np.ndarray,
    nodes_xy: np.ndarray,
    n_tracks: int,
    fixes_per_track: int,
    t0: float,
    rng: np.random.Generator,
    speed_mps: float = 1.3,
    interval_s: float = 1.0,
    noise_m: float = 3.0,
    loiter_p: float = 0.3,
    start_spread_s: int = 8 * 3600,
    loiter_s: tuple[int, int] = (60, 300),
    loiter_stops: tuple[int, int] = (1, 4),
) -> SimTracks:
    """Random walks on the graph with edges a-b between nodes_xy (metric).

    Each track starts up to `start_spread_s` after t0 (0: all at t0); loitering stops last
    `loiter_s` seconds (low inclusive, high exclusive), `loiter_stops` of them per track.
    """
    n = len(nodes_xy)
    nbr_ptr = np.zeros(n + 1, dtype=np.int64)
    ends = np.concatenate([a, b])
    others = np.concatenate([b, a])
    order = np.argsort(ends, kind="stable")
    nbrs = others[order]
    np.add.at(nbr_ptr, ends + 1, 1)
    nbr_ptr = np.cumsum(nbr_ptr)
    step = speed_mps * interval_s
    xs, ys, ts, ks = [], [], [], []
    for k in range(n_tracks):
        # The walk itself is sequential (one junction after another); the fixes along it are not.
        node = int(rng.integers(n))
        path = [node]
        length = 0.0
        need = fixes_per_track * step * 1.1
        while length < need:
            lo, hi = nbr_ptr[node], nbr_ptr[node + 1]
            if hi == lo:
                break
            nxt = int(nbrs[rng.integers(lo, hi)])
            length += float(np.hypot(*(nodes_xy[nxt] - nodes_xy[node])))
            path.append(nxt)
            node = nxt
        pts = nodes_xy[path]
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
        s = np.arange(fixes_per_track) * step
        # Loitering: hold position for a few minutes at random moments.
        if rng.random() < loiter_p + 0.5:
            for _ in range(int(rng.integers(*loiter_stops))):
                at = int(rng.integers(0, fixes_per_track))
                # In fixes, so a stop lasts as long whatever the sampling interval.
                dur = int(int(rng.integers(*loiter_s)) / interval_s)
                s[at:] -= np.minimum(np.arange(fixes_per_track - at), dur) * step
        s = np.clip(s, 0, cum[-1])
        x = np.interp(s, cum, pts[:, 0]) + rng.normal(0, noise_m, fixes_per_track)
        y = np.interp(s, cum, pts[:, 1]) + rng.normal(0, noise_m, fixes_per_track)
        xs.append(x)
        ys.append(y)
        start = float(rng.integers(0, start_spread_s)) if start_spread_s > 0 else 0.0
        ts.append(t0 + start + np.arange(fixes_per_track) * interval_s)
        ks.append(np.full(fixes_per_track, k))
    return SimTracks(np.concatenate(ks), np.concatenate(ts), np.concatenate(xs), np.concatenate(ys))
