"""Bulk point -> grid assignment: millions of points at once, exact, edges included.

A `GridIndex` is a shallow tree of raster blocks over the grids (4x4 children per level, finest
cells ~50 m). A cell is classified once, when the index is built: empty (in no grid), interior
(inside exactly one grid) or boundary (a grid edge passes within 1e-8 degrees of it, or two
grids overlap there). Most points land in empty or interior cells and get their answer from
integer array lookups; only points in boundary cells (a few percent) are tested against their
cell's candidate grids with GEOS (`shapely.intersects_xy`, which for a point means "covered by":
edges included). The 1e-8 degree margin makes the lookup exact even when floating-point
rounding puts a point in the neighbouring cell. On a shared edge the lowest grid code wins, as
in the single-point lookup.

Classification builds no geometry per cell (a box per cell cost ~1.5 s for 900 grids): the
grids' edges are walked column by column to find the cells they cross, and a cell no edge comes
near takes the grid holding its centre, read from spans between the edges' crossings of each
row of cell centres (`_Raster`), all in numpy.
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
# ~1 mm: a cell counts as crossed by an edge that passes this close; far above the rounding
# error of the cell lookup, far below any real gap between grids.
_MARGIN = 1e-8
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
        minx, miny, maxx, maxy = shapely.total_bounds(polys)
        lat_mid = (miny + maxy) / 2
        dy = cell_m / _M_PER_DEG
        dx = cell_m / (_M_PER_DEG * max(math.cos(math.radians(lat_mid)), 0.05))
        scale = branch**levels
        # One cell more than the extent needs, so a point on the far edge still has a cell.
        nx0 = math.floor((maxx - minx) / (dx * scale)) + 1
        ny0 = math.floor((maxy - miny) / (dy * scale)) + 1
        raster = _Raster(polys, float(minx), float(miny), dx, dy, nx0 * scale, ny0 * scale)

        tables: list[NDArray[np.int32]] = []
        # Current cells: integer coordinates at the current level, row-major at level 0.
        gy, gx = np.divmod(np.arange(nx0 * ny0, dtype=np.int64), nx0)
        cand_ptr = np.zeros(1, dtype=np.int64)
        cand_idx = np.zeros(0, dtype=np.int32)
        for level in range(levels + 1):
            size = branch ** (levels - level)
            edged = raster.edged(gy, gx, size)
            # A cell no edge comes near lies inside one polygon or outside all: its centre says
            # which (the centre of its middle finest cell, far from every edge).
            q, owner = raster.owners(gy * size + size // 2, gx * size + size // 2)
            count = np.bincount(q, minlength=len(gx))
            value = np.full(len(gx), EMPTY, dtype=np.int32)
            one = np.zeros(len(gx), dtype=np.int32)
            one[q] = owner  # meaningful where count == 1
            interior = ~edged & (count == 1)
            value[interior] = one[interior]
            mixed = np.flatnonzero(edged | (count > 1))
            value[mixed] = -2 - np.arange(len(mixed), dtype=np.int32)
            if level == 0:
                tables.append(value.reshape(ny0, nx0))
            else:
                tables.append(value.reshape(-1, branch, branch))
            if level == levels:
                cand_ptr, cand_idx = raster.candidates(gy[mixed], gx[mixed], q, owner, mixed)
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


class _Raster:
    """The grids' edges over the finest cells, for classifying cells without building boxes.

    `edged`: cells that an edge passes within _MARGIN of (found per column of cells a segment
    crosses). `owners`: the polygons holding a cell's centre, from spans along each row of cell
    centres between a polygon's crossings (even-odd, so holes and multipolygons hold). Only the
    centres of cells no edge comes near decide anything, and those are half a cell from every
    edge, so rounding cannot change an answer; where two spans share a centre (overlapping grids,
    or a centre exactly on a shared edge) GEOS answers for that row instead.
    """

    def __init__(
        self,
        polys: NDArray[np.object_],
        x0: float,
        y0: float,
        dx: float,
        dy: float,
        nx: int,
        ny: int,
    ) -> None:
        self.polys = polys
        self.x0, self.y0, self.dx, self.dy, self.nx, self.ny = x0, y0, dx, dy, nx, ny
        parts, part_of = shapely.get_parts(polys, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, ring_of = shapely.get_coordinates(rings, return_index=True)
        j = np.flatnonzero(ring_of[1:] == ring_of[:-1])
        poly = part_of[ring_part[ring_of[j]]]
        a, b = coords[j], coords[j + 1]
        self._edge_cells(a[:, 0], a[:, 1], b[:, 0], b[:, 1], poly)
        self._spans(a[:, 0], a[:, 1], b[:, 0], b[:, 1], poly)
        self._edged_at: dict[int, NDArray[np.bool_]] = {}

    def _edge_cells(
        self, ax: NDArray[np.float64], ay: NDArray[np.float64], bx: NDArray[np.float64],
        by: NDArray[np.float64], poly: IntArray,
    ) -> None:  # fmt: skip
        x0, y0, dx, dy, m = self.x0, self.y0, self.dx, self.dy, _MARGIN
        xlo, xhi = np.minimum(ax, bx), np.maximum(ax, bx)
        c0 = np.clip(np.floor((xlo - m - x0) / dx), 0, self.nx - 1).astype(np.int64)
        c1 = np.clip(np.floor((xhi + m - x0) / dx), 0, self.nx - 1).astype(np.int64)
        seg, col = _expand(c0, c1)
        # The piece of the segment inside the column (widened), and its y range.
        sx0 = np.maximum(x0 + col * dx - m, xlo[seg])
        sx1 = np.minimum(x0 + (col + 1) * dx + m, xhi[seg])
        run = bx[seg] - ax[seg]
        flat = run == 0
        safe = np.where(flat, 1.0, run)
        t0 = np.where(flat, 0.0, np.clip((sx0 - ax[seg]) / safe, 0.0, 1.0))
        t1 = np.where(flat, 1.0, np.clip((sx1 - ax[seg]) / safe, 0.0, 1.0))
        rise = by[seg] - ay[seg]
        ya, yb = ay[seg] + t0 * rise, ay[seg] + t1 * rise
        r0 = np.clip(np.floor((np.minimum(ya, yb) - m - y0) / dy), 0, self.ny - 1)
        r1 = np.clip(np.floor((np.maximum(ya, yb) + m - y0) / dy), 0, self.ny - 1)
        piece, row = _expand(r0.astype(np.int64), r1.astype(np.int64))
        cell = row * self.nx + col[piece]
        npoly = len(self.polys)
        key = _distinct(cell * npoly + poly[seg[piece]])
        self.cells, self.cell_poly = np.divmod(key, npoly)

    def _spans(
        self, ax: NDArray[np.float64], ay: NDArray[np.float64], bx: NDArray[np.float64],
        by: NDArray[np.float64], poly: IntArray,
    ) -> None:  # fmt: skip
        x0, y0, dx, dy, nx, ny = self.x0, self.y0, self.dx, self.dy, self.nx, self.ny
        # Each edge from its lower end (then its left end), so an edge shared by two polygons
        # gives both the very same crossings.
        swap = (ay > by) | ((ay == by) & (ax > bx))
        px, py = np.where(swap, bx, ax), np.where(swap, by, ay)
        qx, qy = np.where(swap, ax, bx), np.where(swap, ay, by)
        up = np.flatnonzero(py < qy)
        px, py, qx, qy, poly = px[up], py[up], qx[up], qy[up], poly[up]
        r0 = np.clip(np.ceil((py - y0) / dy - 0.5) - 1, 0, ny - 1).astype(np.int64)
        r1 = np.clip(np.floor((qy - y0) / dy - 0.5) + 1, 0, ny - 1).astype(np.int64)
        e, row = _expand(r0, r1)
        cy = y0 + (row + 0.5) * dy
        # Half-open in y: a vertex on the centre line is counted once per ring.
        hit = (py[e] <= cy) & (cy < qy[e])
        e, row, cy = e[hit], row[hit], cy[hit]
        cx = px[e] + (cy - py[e]) * (qx[e] - px[e]) / (qy[e] - py[e])
        p = poly[e]
        order = np.lexsort((cx, row, p))
        cx, row, p = cx[order], row[order], p[order]
        # Sorted by (polygon, row): each group of crossings must have an even count.
        group = p * ny + row
        bounds = np.flatnonzero(np.r_[True, group[1:] != group[:-1], True])
        if (np.diff(bounds) % 2).any():
            raise InvalidGeometry("a grid's rings do not close; cannot index it")
        start, end, row, p = cx[0::2], cx[1::2], row[0::2], p[0::2]
        # Cell-centre columns inside each span.
        cs = np.clip(np.ceil((start - x0) / dx - 0.5), -1, nx).astype(np.int64)
        ce = np.clip(np.floor((end - x0) / dx - 0.5), -1, nx).astype(np.int64)
        some = cs <= ce
        cs, ce, p, row = cs[some], ce[some], p[some], row[some]
        k = nx + 2  # (row, column) as one sortable integer; columns -1..nx shifted to 0..nx+1
        ks, ke = row * k + cs + 1, row * k + ce + 1
        order = np.argsort(ks, kind="stable")
        self._ks, self._ke, self._poly, self._k = ks[order], ke[order], p[order], k
        # Rows where two spans share a centre column: GEOS answers there.
        reach = np.maximum.accumulate(self._ke)
        shared = np.flatnonzero(self._ks[1:] <= reach[:-1]) + 1
        self._shared_rows = _distinct(row[order][shared])

    def edged(self, gy: IntArray, gx: IntArray, size: int) -> NDArray[np.bool_]:
        """Whether an edge passes near each cell (gy, gx) of `size` x `size` finest cells."""
        mask = self._edged_at.get(size)
        if mask is None:
            # One flag per cell of this size (a bitmap lookup, not a search per cell): ~1 byte
            # a finest cell at the finest level, e.g. 0.7 MB for a county at 50 m.
            r, c = np.divmod(self.cells, self.nx)
            mask = np.zeros((self.ny // size) * (self.nx // size), dtype=bool)
            mask[(r // size) * (self.nx // size) + c // size] = True
            self._edged_at[size] = mask
        return mask[gy * (self.nx // size) + gx]

    def owners(self, rows: IntArray, cols: IntArray) -> tuple[IntArray, IntArray]:
        """(query, polygon) pairs: the polygons covering the centre of finest cell (row, col)."""
        q = rows * self._k + cols + 1
        idx = np.searchsorted(self._ks, q, side="right") - 1
        safe = np.maximum(idx, 0)
        inside = (idx >= 0) & (self._ke[safe] >= q)
        doubt = np.isin(rows, self._shared_rows)
        one = np.flatnonzero(inside & ~doubt)
        pairs_q, pairs_p = [one], [self._poly[safe[one]]]
        if doubt.any():
            d = np.flatnonzero(doubt)
            pts = shapely.points(
                self.x0 + (cols[d] + 0.5) * self.dx, self.y0 + (rows[d] + 0.5) * self.dy
            )
            pi, gi = shapely.STRtree(self.polys).query(pts, predicate="intersects")
            pairs_q.append(d[pi])
            pairs_p.append(gi)
        return np.concatenate(pairs_q), np.concatenate(pairs_p).astype(np.int64)

    def candidates(
        self, rows: IntArray, cols: IntArray, q: IntArray, owner: IntArray, mixed: IntArray
    ) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
        """Per finest mixed cell (in the given order), the polygons that may cover a point in it:
        those with an edge near it and those covering its centre, in code order."""
        npoly = len(self.polys)
        cell = rows * self.nx + cols
        order = np.argsort(cell)
        at = np.minimum(np.searchsorted(cell[order], self.cells), len(cell) - 1)
        near = cell[order][at] == self.cells
        pos_e = order[at[near]]
        pos_q = np.searchsorted(mixed, q)
        ok = (pos_q < len(mixed)) & (mixed[np.minimum(pos_q, len(mixed) - 1)] == q)
        key = _distinct(
            np.concatenate([pos_e * npoly + self.cell_poly[near], pos_q[ok] * npoly + owner[ok]])
        )
        pos, poly = np.divmod(key, npoly)
        counts = np.bincount(pos, minlength=len(cell))
        ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return ptr, poly.astype(np.int32)


def _distinct(a: IntArray) -> IntArray:
    """The distinct values of a, sorted (by sorting: faster than hashing for these sizes)."""
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def _expand(lo: IntArray, hi: IntArray) -> tuple[IntArray, IntArray]:
    """For ranges lo[i]..hi[i] (inclusive): (i, value) for every value, i repeated."""
    n = np.maximum(hi - lo + 1, 0)
    i = np.repeat(np.arange(len(lo)), n)
    return i, lo[i] + (np.arange(len(i)) - np.repeat(np.cumsum(n) - n, n))


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
