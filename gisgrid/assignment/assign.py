"""Bulk point -> grid assignment: millions of points at once, exact, edges included.

A `GridIndex` is a shallow tree of raster blocks over the grids (4x4 children per level, finest
cells ~50 m). A cell is classified once, when the index is built: empty (touches no grid),
interior (its box, widened by 1e-9 degrees, lies properly inside exactly one grid) or boundary.
Most points land in empty or interior cells and get their answer from integer array lookups;
only points in boundary cells (a few percent) are tested against their cell's candidate grids
with GEOS (`shapely.intersects_xy`, which for a point means "covered by": edges included).
The widening makes the lookup exact even when floating-point rounding puts a point in the
neighbouring cell. On a shared edge the lowest grid code wins, as in the single-point lookup.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.errors import InvalidGeometry, NotFound

EMPTY = -1
_EPS_DEG = 1e-9  # ~0.1 mm: far above rounding error of the cell lookup, far below any real gap
_M_PER_DEG = 111_320.0
IntArray = NDArray[np.int64]


@dataclass
class GridIndex:
    """Grids (sorted by code) and the raster-block tree that assigns points to them."""

    codes: NDArray[np.str_]
    polygons: NDArray[np.object_]
    x0: float
    y0: float
    dx: float  # finest cell size, degrees
    dy: float
    nx: int  # finest cells across the whole index
    ny: int
    branch: int
    levels: int
    tables: list[NDArray[np.int32]]  # level 0: (ny0, nx0); level k: (blocks, B, B)
    cand_ptr: NDArray[np.int64]  # boundary cell c: candidates cand_idx[ptr[c]:ptr[c+1]]
    cand_idx: NDArray[np.int32]

    @classmethod
    def build(
        cls,
        codes: Sequence[str],
        polygons: Sequence[shapely.Geometry] | NDArray[np.object_],
        cell_m: float = 50.0,
        branch: int = 4,
        levels: int = 2,
    ) -> GridIndex:
        """Index polygons (any order; ties go to the lowest code) with finest cells of ~cell_m."""
        codes_arr = np.asarray(codes, dtype=str)
        polys = np.asarray(polygons, dtype=object)
        if len(codes_arr) != len(polys) or len(polys) == 0:
            raise InvalidGeometry(
                f"need one code per polygon and at least one ({len(polys)} given)"
            )
        bad = ~shapely.is_valid(polys)
        if bad.any():
            raise InvalidGeometry(f"grid {codes_arr[bad][0]} has an invalid polygon")
        order = np.argsort(codes_arr, kind="stable")
        codes_arr, polys = codes_arr[order], polys[order]
        shapely.prepare(polys)
        tree = shapely.STRtree(polys)
        minx, miny, maxx, maxy = shapely.total_bounds(polys)
        lat_mid = (miny + maxy) / 2
        dy = cell_m / _M_PER_DEG
        dx = cell_m / (_M_PER_DEG * max(math.cos(math.radians(lat_mid)), 0.05))
        scale = branch**levels
        nx0 = max(1, math.ceil((maxx - minx) / (dx * scale)))
        ny0 = max(1, math.ceil((maxy - miny) / (dy * scale)))

        tables: list[NDArray[np.int32]] = []
        # Current cells: global integer coordinates at the current level.
        gy, gx = np.divmod(np.arange(nx0 * ny0, dtype=np.int64), nx0)
        cand_ptr = np.zeros(1, dtype=np.int64)
        cand_idx = np.zeros(0, dtype=np.int32)
        for level in range(levels + 1):
            size = branch ** (levels - level)
            boxes = shapely.box(
                minx + gx * dx * size - _EPS_DEG,
                miny + gy * dy * size - _EPS_DEG,
                minx + (gx + 1) * dx * size + _EPS_DEG,
                miny + (gy + 1) * dy * size + _EPS_DEG,
            )
            box_i, poly_j = tree.query(boxes, predicate="intersects")
            order_pairs = np.lexsort((poly_j, box_i))
            box_i, poly_j = box_i[order_pairs], poly_j[order_pairs]
            count = np.bincount(box_i, minlength=len(boxes))
            value = np.full(len(boxes), EMPTY, dtype=np.int32)
            single = np.flatnonzero(count == 1)
            first = np.searchsorted(box_i, single)
            owner = poly_j[first]
            inside = shapely.contains_properly(polys[owner], boxes[single])
            value[single[inside]] = owner[inside]
            interior = np.zeros(len(boxes), dtype=bool)
            interior[single[inside]] = True
            mixed = np.flatnonzero((count > 0) & ~interior)
            value[mixed] = -2 - np.arange(len(mixed), dtype=np.int32)
            if level == 0:
                tables.append(value.reshape(ny0, nx0))
            else:
                tables.append(value.reshape(-1, branch, branch))
            if level == levels:
                keep = np.isin(box_i, mixed)
                counts = np.bincount(box_i[keep], minlength=len(boxes))[mixed]
                cand_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
                cand_idx = poly_j[keep].astype(np.int32)
                break
            # Children of mixed cells, in block order (block b = mixed cell b), row-major inside.
            sub_y, sub_x = np.divmod(np.arange(branch * branch), branch)
            gx = (gx[mixed][:, None] * branch + sub_x[None, :]).ravel()
            gy = (gy[mixed][:, None] * branch + sub_y[None, :]).ravel()
        return cls(
            codes_arr,
            polys,
            float(minx),
            float(miny),
            dx,
            dy,
            nx0 * scale,
            ny0 * scale,
            branch,
            levels,
            tables,
            cand_ptr,
            cand_idx,
        )

    @property
    def boundary_cells(self) -> int:
        """Finest cells that need an exact test."""
        return len(self.cand_ptr) - 1

    def assign(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> IntArray:
        """Index into self.codes of the grid covering each point (lowest code on a tie), or -1."""
        x = np.asarray(lon, dtype=np.float64).ravel()
        y = np.asarray(lat, dtype=np.float64).ravel()
        out = np.full(len(x), EMPTY, dtype=np.int64)
        with np.errstate(invalid="ignore"):
            fx = np.floor((x - self.x0) / self.dx)
            fy = np.floor((y - self.y0) / self.dy)
            ok = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        pts = np.flatnonzero(ok)
        gx, gy = fx[pts].astype(np.int64), fy[pts].astype(np.int64)
        size = self.branch**self.levels
        val = self.tables[0][gy // size, gx // size].astype(np.int64)
        for level in range(1, self.levels + 1):
            size //= self.branch
            deeper = np.flatnonzero(val <= -2)
            if len(deeper) == 0:
                break
            block = -val[deeper] - 2
            sy = (gy[deeper] // size) % self.branch
            sx = (gx[deeper] // size) % self.branch
            val[deeper] = self.tables[level][block, sy, sx]
        out[pts] = val
        boundary = np.flatnonzero(out <= -2)
        if len(boundary):
            out[boundary] = self._exact(boundary, -out[boundary] - 2, x, y)
        return out

    def _exact(
        self, points: IntArray, cells: IntArray, x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> IntArray:
        # Every (point, candidate) pair of the boundary points, candidates in code order.
        start, stop = self.cand_ptr[cells], self.cand_ptr[cells + 1]
        n = stop - start
        pair_point = np.repeat(np.arange(len(points)), n)
        offsets = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        pair_poly = self.cand_idx[np.repeat(start, n) + offsets]
        pp = points[pair_point]
        hit = shapely.intersects_xy(self.polygons[pair_poly], x[pp], y[pp])
        result = np.full(len(points), EMPTY, dtype=np.int64)
        # Pairs are in code order per point, so the first hit is the lowest code.
        hp = pair_point[hit]
        first_hit, at = np.unique(hp, return_index=True)
        result[first_hit] = pair_poly[hit][at]
        return result


def load_index(
    conn: Connection, county: str | None = None, cell_m: float = 50.0
) -> tuple[GridIndex, IntArray]:
    """The current generation's grids (optionally one county's) as an index, and their ids."""
    rows = sql.execute(conn, "assignment/current_grids", c=county[:6] if county else None).all()
    if not rows:
        raise NotFound(
            f"no current grids{' in county ' + county if county else ''}; load some first"
        )
    polys = shapely.from_wkb([bytes(r.wkb) for r in rows])
    index = GridIndex.build([r.code for r in rows], polys, cell_m=cell_m)
    return index, np.array([r.id for r in rows], dtype=np.int64)


def _copy_out(conn: Connection, name: str) -> pd.DataFrame:
    return pd.read_csv(
        io.BytesIO(sql.copy_csv(conn, name)),
        header=None,
        names=["id", "x", "y", "grid_id"],
        dtype={"grid_id": "Int64"},
    )


TABLES = ("household", "report")
# Per table: its points (read by COPY) and the update from the scratch table of new grids.
_STATEMENTS = {
    "household": ("assignment/household_points", "assignment/update_household_grids"),
    "report": ("assignment/report_points", "assignment/update_report_grids"),
}


def assign_table(
    conn: Connection,
    table: str,
    county: str | None = None,
    write: bool = True,
    progress: Callable[[str], None] = print,
) -> dict[str, int | float]:
    """Reassign every row of household or report to the current grid covering it (COPY out/in).

    Rows whose point is in no current grid keep their grid and are counted as `outside`.
    """
    if table not in TABLES:
        raise NotFound(f"cannot assign {table!r}; choose one of {', '.join(TABLES)}")
    t0 = time.perf_counter()
    index, grid_ids = load_index(conn, county)
    progress(f"indexed {len(grid_ids):,} grids ({index.boundary_cells:,} boundary cells)")
    points, update = _STATEMENTS[table]
    frame = _copy_out(conn, points)
    progress(f"read {len(frame):,} {table} points")
    t1 = time.perf_counter()
    idx = index.assign(frame["x"].to_numpy(), frame["y"].to_numpy())
    t2 = time.perf_counter()
    inside = idx >= 0
    new = np.where(inside, grid_ids[np.maximum(idx, 0)], -1)
    old = frame["grid_id"].fillna(-1).to_numpy(dtype=np.int64)
    changed = inside & (new != old)
    progress(
        f"assigned in {t2 - t1:.3f} s: {int(changed.sum()):,} change, "
        f"{int((~inside).sum()):,} in no grid"
    )
    if write and changed.any():
        sql.execute(conn, "assignment/create_assign_result")
        sql.copy_frame(
            conn,
            "assign_result",
            pd.DataFrame({"id": frame["id"].to_numpy()[changed], "grid_id": new[changed]}),
        )
        sql.execute(conn, update)
    return {
        "points": len(frame),
        "changed": int(changed.sum()),
        "outside": int((~inside).sum()),
        "seconds": round(time.perf_counter() - t0, 3),
        "points_per_second": round(len(frame) / max(t2 - t1, 1e-9)),
    }
