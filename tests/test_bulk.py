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


def _tricky_polygons() -> tuple[list[str], np.ndarray]:
    """Shapes that stress the cell classification: a hole with an island in it (a
    multipolygon), a long thin sliver, a diagonal edge, two overlapping grids, a triangle with
    a vertex exactly on a cell corner, and a grid far from the rest."""
    ring = shapely.Polygon([(0, 0), (0.02, 0), (0.02, 0.02), (0, 0.02)], [
        [(0.005, 0.005), (0.015, 0.005), (0.015, 0.015), (0.005, 0.015)]
    ])  # fmt: skip
    island = shapely.box(0.008, 0.008, 0.012, 0.012)
    polys = [
        shapely.MultiPolygon([ring, island]),
        shapely.box(0.02, 0.0, 0.0201, 0.03),  # sliver sharing the ring's east edge
        shapely.Polygon([(0.0201, 0), (0.05, 0.0), (0.0201, 0.03)]),  # diagonal
        shapely.box(0.03, 0.025, 0.045, 0.04),  # overlaps the next one
        shapely.box(0.04, 0.03, 0.06, 0.05),
        shapely.Polygon([(0.0, 0.03), (0.01, 0.045), (0.0, 0.045)]),
        shapely.box(0.2, 0.2, 0.21, 0.21),  # alone, far away: mostly empty cells between
    ]
    codes = [f"44122610100{i:04d}" for i in (7, 3, 5, 1, 2, 6, 4)]  # not in code order
    return codes, np.array(polys, dtype=object)


def test_tricky_shapes_match_the_ground_truth_at_every_cell_size() -> None:
    codes, polys = _tricky_polygons()
    rng = np.random.default_rng(5)
    x = rng.uniform(-0.01, 0.22, 100_000)
    y = rng.uniform(-0.01, 0.22, 100_000)
    verts = shapely.get_coordinates(polys)
    along = shapely.get_coordinates(
        shapely.line_interpolate_point(shapely.boundary(polys), 0.41, normalized=True)
    )
    for cell_m in (3.0, 50.0, 400.0):
        index = assign.GridIndex.build(codes, polys, cell_m=cell_m)
        # Points on the index's own cell corners, where a floor() could go either way.
        cx = index.x0 + index.dx * np.arange(0, 60)
        cy = index.y0 + index.dy * np.arange(0, 60)
        gx, gy = np.meshgrid(cx, cy)
        px = np.concatenate([x, verts[:, 0], along[:, 0], gx.ravel()])
        py = np.concatenate([y, verts[:, 1], along[:, 1], gy.ravel()])
        got = index.assign(px, py)
        truth = _truth(index.polygons, px, py)
        assert np.array_equal(got, truth), (cell_m, np.flatnonzero(got != truth)[:10])
        # Overlap and hole both seen: a point in both overlapping boxes gets the lower code.
        both = index.assign(np.array([0.042, 0.01]), np.array([0.035, 0.01]))
        assert list(index.codes[both]) == ["441226101000001", "441226101000007"]
