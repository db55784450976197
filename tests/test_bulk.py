"""Bulk assignment equals a point-in-polygon ground truth (edges included, lowest code on a tie)."""

from __future__ import annotations

import numpy as np
import shapely
from sqlalchemy import Connection, text

from gisgrid.assignment import assign


def _truth(polys: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # Ground truth: every covering polygon by GEOS, then the lowest index (= lowest code).
    pi, gi = shapely.STRtree(polys).query(shapely.points(x, y), predicate="covered_by")
    order = np.lexsort((gi, pi))
    pi, gi = pi[order], gi[order]
    out = np.full(len(x), -1)
    first, at = np.unique(pi, return_index=True)
    out[first] = gi[at]
    return out


def test_random_points_vertices_and_edge_midpoints_match_the_ground_truth(
    conn: Connection, demo_county: str
) -> None:
    index, ids = assign.load_index(conn)
    polys = index.polygons
    assert list(index.codes) == sorted(index.codes) and len(ids) == len(polys)
    minx, miny, maxx, maxy = shapely.total_bounds(polys)
    rng = np.random.default_rng(11)
    x = rng.uniform(minx - 0.01, maxx + 0.01, 200_000)
    y = rng.uniform(miny - 0.01, maxy + 0.01, 200_000)
    # Exactly on edges: every vertex (shared by 2-3 grids) and points along edges.
    verts = shapely.get_coordinates(polys)
    rings = shapely.get_exterior_ring(shapely.get_geometry(polys, 0))
    along = shapely.get_coordinates(shapely.line_interpolate_point(rings, 0.37, normalized=True))
    x = np.concatenate([x, verts[:, 0], along[:, 0], [np.nan, 200.0]])
    y = np.concatenate([y, verts[:, 1], along[:, 1], [23.0, np.nan]])
    got = index.assign(x, y)
    truth = _truth(polys, x, y)
    assert np.array_equal(got, truth), np.flatnonzero(got != truth)[:10]
    # The test must see all three kinds of answer, and ties on edges.
    assert (got >= 0).sum() > 50_000 and (got == -1).sum() > 10_000
    shared = shapely.STRtree(polys).query(shapely.points(verts), predicate="covered_by")[0]
    assert np.bincount(shared).max() >= 2


def test_assign_table_restores_moved_households_and_writes_only_changes(
    conn: Connection, demo_county: str
) -> None:
    before = assign.assign_table(conn, "household", write=False, progress=lambda m: None)
    assert before["changed"] == 0 and before["points"] > 100_000
    moved = conn.execute(
        text(
            "UPDATE household SET grid_id = (SELECT min(id) FROM grid WHERE valid_to IS NULL) "
            "WHERE id IN (SELECT id FROM household ORDER BY id DESC LIMIT 500) "
            "AND grid_id <> (SELECT min(id) FROM grid WHERE valid_to IS NULL)"
        )
    ).rowcount
    assert moved > 400
    result = assign.assign_table(conn, "household", progress=lambda m: None)
    assert result["changed"] == moved
    wrong = conn.execute(
        text(
            "SELECT count(*) FROM household h JOIN grid g ON g.id = h.grid_id "
            "WHERE NOT ST_Covers(g.geom, h.geom) AND h.id IN "
            "(SELECT id FROM household ORDER BY id DESC LIMIT 500)"
        )
    ).scalar_one()
    assert wrong == 0
