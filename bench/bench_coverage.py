"""Patrol road coverage for a county-day: gisgrid's distance engine vs geopandas buffer+overlay.

Data (GENERATED, seeded): ~10,000 road segments (Delaunay/MST network over 40 x 40 km) and
1,000 tracks x 3,000 fixes (1 Hz walks that double back, cross themselves and loiter, with 3 m
GPS noise). gisgrid computes coverage of all 3 million fixes. The peer is the straightforward
geopandas recipe: buffer each track line by 15 m, dissolve, overlay with the roads, sum lengths.
It is timed on growing subsets of tracks until a time budget is spent, then extrapolated
linearly to 1,000 tracks (the true cost grows faster than linearly, so the ratio is a floor).
Both are run on the same subset and their figures compared.
"""

from __future__ import annotations

import os
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gisgrid.patrols.coverage import SEGMENT_COVERED_AT as COVERED_AT
from gisgrid.patrols.road_coverage import pieces_from_fixes, road_coverage
from gisgrid.patrols.roads import delaunay_roads
from gisgrid.patrols.simulate import simulate_tracks

BUFFER_M = 15.0
N_TRACKS = int(os.environ.get("BENCH_TRACKS", "1000"))
FIXES = int(os.environ.get("BENCH_FIXES_PER_TRACK", "3000"))
BASELINE_BUDGET_S = float(os.environ.get("BENCH_BASELINE_BUDGET_S", "60"))


def _network(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    pts = rng.uniform(0, 40_000, (7_000, 2))
    a, b, _ = delaunay_roads(pts)
    roads = shapely.linestrings(np.stack([pts[a], pts[b]], 1))
    return roads, a, b, pts


def _ours(roads: np.ndarray, sim, keep: np.ndarray) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    pieces = pieces_from_fixes(sim.track[keep], sim.t[keep], sim.x[keep], sim.y[keep])
    cov = road_coverage(roads, pieces, BUFFER_M)
    return time.perf_counter() - t0, cov.covered_m


def _peer(roads: np.ndarray, sim, tracks: np.ndarray) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    keep = np.isin(sim.track, tracks)
    xy = np.column_stack([sim.x[keep], sim.y[keep]])
    _, starts = np.unique(sim.track[keep], return_index=True)
    lines = shapely.linestrings(
        xy, indices=np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(xy)]))
    )
    buf = gpd.GeoDataFrame(geometry=gpd.GeoSeries(lines).buffer(BUFFER_M)).dissolve()
    road_gdf = gpd.GeoDataFrame({"road": np.arange(len(roads))}, geometry=roads)
    inter = gpd.overlay(road_gdf, buf, how="intersection", keep_geom_type=True)
    covered = (
        pd.Series(inter.length.to_numpy(), index=inter["road"].to_numpy())
        .groupby(level=0)
        .sum()
        .reindex(np.arange(len(roads)), fill_value=0.0)
        .to_numpy()
    )
    return time.perf_counter() - t0, covered


def _figures(length: np.ndarray, covered: np.ndarray) -> tuple[float, int]:
    return round(float(covered.sum() / length.sum()), 4), int(
        (covered / length >= COVERED_AT).sum()
    )


def main() -> None:
    """Print gisgrid's time, the peer's time (measured subset and extrapolated) and the ratio."""
    rng = np.random.default_rng(6)
    roads, a, b, pts = _network(rng)
    sim = simulate_tracks(a, b, pts, N_TRACKS, FIXES, 1.7e9, rng)
    length = shapely.length(roads)
    print(f"data: {len(roads):,} road segments, {N_TRACKS:,} tracks, {len(sim.t):,} fixes")

    ours_s, ours_cov = _ours(roads, sim, np.ones(len(sim.t), dtype=bool))
    rc, nseg = _figures(length, ours_cov)
    print(
        f"gisgrid distance engine: {ours_s:.2f} s for the county-day "
        f"(road_coverage={rc}, segments covered={nseg:,})"
    )

    n, spent, last = 2, 0.0, None
    while spent < BASELINE_BUDGET_S and n <= N_TRACKS:
        subset = np.arange(n)
        peer_s, peer_cov = _peer(roads, sim, subset)
        sub_s, sub_cov = _ours(roads, sim, np.isin(sim.track, subset))
        spent += peer_s
        last = (n, peer_s, sub_s, peer_cov, sub_cov)
        print(
            f"  subset {n:>4} tracks: geopandas {peer_s:7.2f} s, gisgrid {sub_s:5.2f} s, "
            f"ratio {peer_s / sub_s:6.1f}x; figures geopandas {_figures(length, peer_cov)} "
            f"gisgrid {_figures(length, sub_cov)}; max per-segment difference "
            f"{np.abs(peer_cov - sub_cov).max():.3f} m"
        )
        n *= 2
    assert last is not None
    n, peer_s, sub_s, peer_cov, sub_cov = last
    same = _figures(length, peer_cov) == _figures(length, sub_cov)
    full_peer = peer_s * N_TRACKS / n
    print(
        f"geopandas buffer+dissolve+overlay: {peer_s:.2f} s for {n} tracks, "
        f"extrapolated linearly to {N_TRACKS:,}: {full_peer:,.0f} s"
    )
    print(
        f"ratio (county-day): {full_peer / ours_s:,.0f}x faster; measured on the {n}-track "
        f"subset: {peer_s / sub_s:,.1f}x; identical figures on the subset: {same}"
    )


if __name__ == "__main__":
    main()
