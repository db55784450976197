"""Generate nested town / village / grid polygons that exactly tile a county outline.

No town, village or grid boundaries exist for the demo counties, only the real county
outline and the real division codes, so this module invents plausible ones. Everything
here is pure geometry (no database); callers must label the output as generated.

Approach, top-down in a local equal-area (Albers) projection:

1. Each level (towns in the county, villages in a town, grids in a village) is a
   capacity-constrained centroidal power diagram: seeds are fitted on a random sample of
   points inside the parent with Lloyd moves plus power weights, so cells are compact
   and their areas follow the requested shares. With equal shares this is a (balanced)
   Voronoi / Lloyd tessellation.
2. The convex power cells are clipped to the parent; pieces cut off by a concave parent
   are handed to the sibling sharing the longest border, so cells are single polygons
   wherever the parent is.
3. All grid boundaries (and the outline) are noded together and polygonized, so
   neighbouring grids share identical edges; the grids are then projected to WGS84 and
   rounded vertex by vertex to 1e-7 degrees, which keeps shared edges identical.
4. Villages are defined as the union of their grids and towns as the union of their
   villages: no gaps and no overlaps by construction. The towns cover the outline up to
   the 1e-7 degree rounding (under 1 cm anywhere along the boundary).

Deterministic for a seed; each town and village draws from its own random stream, so
changing one village's grid count only redraws that village's grids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas
import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray

from gisgrid.errors import InvalidGeometry

# Distance (metres) under which two cells count as touching when looking for neighbours.
METRIC_TOL = 0.05
# Snap-rounding grid (metres) used once, when all grid boundaries are noded together.
NODE_GRID = 0.001
# Output precision in degrees (~1 cm), the precision the database stores.
DEGREE_GRID = 1e-7

# Sample points per cell when fitting seeds: enough for area shares within a few percent.
_SAMPLES_PER_CELL = {"town": 1500, "village": 400, "grid": 250}
_MIN_SAMPLES = {"town": 6000, "village": 2000, "grid": 800}
# Cap: the fit costs samples x cells per iteration, so many cells get fewer samples each.
_MAX_SAMPLES = 30000
_LLOYD_ITERATIONS = {"town": 40, "village": 30, "grid": 25}

ObjArray = NDArray[np.object_]
FloatArray = NDArray[np.float64]


@dataclass
class Tessellation:
    """Generated towns, villages and grids (EPSG:4326, MultiPolygon geometries)."""

    towns: geopandas.GeoDataFrame  # code, geometry
    villages: geopandas.GeoDataFrame  # code, town_code, geometry
    grids: geopandas.GeoDataFrame  # village_code, seq, geometry


def tessellate_county(
    outline: shapely.MultiPolygon | shapely.Polygon,
    villages_by_town: dict[str, list[str]],
    grids_by_village: dict[str, int],
    weights_by_village: dict[str, float] | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Tessellation:
    """Tile a WGS84 county outline with nested generated towns, villages and grids."""
    say = progress or (lambda _msg: None)
    town_codes, village_codes, village_town, weights, n_grids = _check_inputs(
        villages_by_town, grids_by_village, weights_by_village
    )
    outline_ll = _check_outline(outline)
    to_metric, to_ll = _local_projection(outline_ll)
    outline_m = _transform(outline_ll, to_metric)

    # Towns: area share is the sum of their villages' shares.
    town_weight = np.array(
        [sum(weights[v] for v in villages_by_town[t]) for t in town_codes], dtype=np.float64
    )
    towns_m = _partition(outline_m, town_weight, _rng(seed, 0, 0), "town")
    say(f"towns: {len(town_codes)} cells")

    village_m: dict[str, shapely.Geometry] = {}
    for ti, town in enumerate(town_codes):
        vcodes = villages_by_town[town]
        vw = np.array([weights[v] for v in vcodes], dtype=np.float64)
        cells = _partition(towns_m[ti], vw, _rng(seed, 1, ti), "village")
        village_m.update(zip(vcodes, cells, strict=True))
    say(f"villages: {len(village_codes)} cells")

    grid_village: list[str] = []
    grid_cells: list[ObjArray] = []
    for vi, vcode in enumerate(village_codes):
        n = n_grids[vcode]
        cells = _partition(village_m[vcode], np.ones(n), _rng(seed, 2, vi), "grid")
        grid_cells.append(cells)
        grid_village.extend([vcode] * n)
    grids_m = np.concatenate(grid_cells)
    gv = np.array(grid_village, dtype=object)
    say(f"grids: {len(grids_m)} cells")

    grids_m = _exact_partition(grids_m, outline_m, gv)
    grids_ll = _to_degrees(grids_m, to_ll)
    say("grids snapped to a shared 1e-7 degree grid")

    # Parents are defined as the union of their children, so nesting is exact.
    villages_ll = np.array(
        [shapely.union_all(grids_ll[gv == v], grid_size=DEGREE_GRID) for v in village_codes],
        dtype=object,
    )
    vt = np.array([village_town[v] for v in village_codes], dtype=object)
    towns_ll = np.array(
        [shapely.union_all(villages_ll[vt == t], grid_size=DEGREE_GRID) for t in town_codes],
        dtype=object,
    )

    seq, order = _number_grids(grids_m, gv, village_codes)
    say("done")
    return Tessellation(
        towns=geopandas.GeoDataFrame(
            {"code": town_codes}, geometry=_as_multipolygons(towns_ll), crs="EPSG:4326"
        ),
        villages=geopandas.GeoDataFrame(
            {"code": village_codes, "town_code": list(vt)},
            geometry=_as_multipolygons(villages_ll),
            crs="EPSG:4326",
        ),
        grids=geopandas.GeoDataFrame(
            {"village_code": list(gv[order]), "seq": seq[order]},
            geometry=_as_multipolygons(grids_ll[order]),
            crs="EPSG:4326",
        ),
    )


# --- inputs -------------------------------------------------------------------------


def _check_inputs(
    villages_by_town: dict[str, list[str]],
    grids_by_village: dict[str, int],
    weights_by_village: dict[str, float] | None,
) -> tuple[list[str], list[str], dict[str, str], dict[str, float], dict[str, int]]:
    """Validate the division structure and return it flattened, in input order."""
    if not villages_by_town:
        raise ValueError("villages_by_town is empty: at least one town is needed")
    town_codes = list(villages_by_town)
    village_codes: list[str] = []
    village_town: dict[str, str] = {}
    for town, villages in villages_by_town.items():
        if not villages:
            raise ValueError(f"town {town} has no villages: every town needs at least one")
        for v in villages:
            if v in village_town:
                raise ValueError(f"village {v} is listed under {village_town[v]} and {town}")
            village_town[v] = town
            village_codes.append(v)
    n_grids: dict[str, int] = {}
    for v in village_codes:
        n = grids_by_village.get(v)
        if n is None or int(n) != n or n < 1:
            raise ValueError(f"village {v} needs a whole number of grids >= 1, got {n!r}")
        n_grids[v] = int(n)
    weights: dict[str, float] = {}
    for v in village_codes:
        w = 1.0 if weights_by_village is None else weights_by_village.get(v)
        if w is None or not np.isfinite(w) or w <= 0:
            raise ValueError(f"village {v} needs a positive finite weight, got {w!r}")
        weights[v] = float(w)
    return town_codes, village_codes, village_town, weights, n_grids


def _check_outline(outline: shapely.Geometry) -> shapely.Geometry:
    """Return the outline as a valid polygonal geometry or raise InvalidGeometry."""
    if not isinstance(outline, shapely.Polygon | shapely.MultiPolygon) or outline.is_empty:
        raise InvalidGeometry(
            f"county outline must be a non-empty Polygon or MultiPolygon, got {outline.geom_type}"
        )
    if not outline.is_valid:
        outline = _polygonal(shapely.make_valid(outline))
    minx, miny, maxx, maxy = outline.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidGeometry(f"county outline is not in lon/lat degrees: bounds {outline.bounds}")
    return outline


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygon parts of a (possibly mixed) geometry."""
    parts = shapely.get_parts(geom)
    polys = parts[shapely.get_type_id(parts) == 3]
    return shapely.union_all(polys)


# --- projection ---------------------------------------------------------------------


def _local_projection(
    outline_ll: shapely.Geometry,
) -> tuple[pyproj.Transformer, pyproj.Transformer]:
    """Albers equal-area centred on the county: true areas, near-true distances in metres."""
    minx, miny, maxx, maxy = outline_ll.bounds
    lon0, lat0 = (minx + maxx) / 2, (miny + maxy) / 2
    h = max((maxy - miny) / 6, 0.01)
    crs = pyproj.CRS.from_proj4(
        f"+proj=aea +lat_0={lat0} +lon_0={lon0} +lat_1={lat0 - h} +lat_2={lat0 + h}"
        " +datum=WGS84 +units=m +no_defs"
    )
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    to_ll = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return to_metric, to_ll


def _transform(geoms: Any, tr: pyproj.Transformer) -> Any:
    """Reproject every coordinate of a geometry or an array of them in one vectorised call."""

    def fn(xy: FloatArray) -> FloatArray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


# --- one level: capacity-constrained power diagram ---------------------------------


def _rng(seed: int, level: int, index: int) -> np.random.Generator:
    """An independent, reproducible random stream for each polygon that gets split."""
    return np.random.default_rng([seed, level, index])


def _partition(
    parent: shapely.Geometry, weights: FloatArray, rng: np.random.Generator, level: str
) -> ObjArray:
    """Split a metric polygon into len(weights) non-empty cells with areas ~ weights."""
    k = len(weights)
    if k == 1:
        return np.array([parent], dtype=object)
    targets = weights / weights.sum()
    n_samples = min(max(_MIN_SAMPLES[level], _SAMPLES_PER_CELL[level] * k), _MAX_SAMPLES)
    for _attempt in range(4):
        pts = _sample_points(parent, n_samples, rng)
        seeds, power = _fit_power(pts, targets, parent.area, rng, _LLOYD_ITERATIONS[level])
        # Full float precision here: rounding now would nudge the points where cell edges
        # cross the parent's edges off that edge, leaving mm slivers against the siblings
        # of the neighbouring parent. Exactness comes from the final shared snap instead.
        cells = shapely.intersection(_power_cells(seeds, power, parent.bounds), parent)
        if not shapely.is_empty(cells).any() and (shapely.area(cells) > 0).all():
            return _merge_detached(cells, tol=METRIC_TOL)
        # A cell came out empty (only in degenerate, sliver-like parents): resample denser.
        n_samples *= 2
    raise InvalidGeometry(f"could not split a {level} parent of {parent.area:.0f} m2 into {k}")


def _sample_points(poly: shapely.Geometry, n: int, rng: np.random.Generator) -> FloatArray:
    """Uniform random points inside a polygon by vectorised rejection sampling."""
    shapely.prepare(poly)
    minx, miny, maxx, maxy = poly.bounds
    fill = max(poly.area / max((maxx - minx) * (maxy - miny), 1e-12), 0.02)
    chunks: list[FloatArray] = []
    got = 0
    while got < n:
        m = int((n - got) / fill * 1.3) + 64
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(m, 2))
        keep = xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]
        chunks.append(keep)
        got += len(keep)
    return np.concatenate(chunks)[:n]


def _fit_power(
    pts: FloatArray, targets: FloatArray, area: float, rng: np.random.Generator, n_iter: int
) -> tuple[FloatArray, FloatArray]:
    """Fit seeds and power weights so each seed's power cell holds its share of pts.

    Lloyd moves (seed to the centroid of its points) make cells compact; the weight
    update grows under-filled cells. A weight change d moves each edge by d/(2*dist) and
    a compact cell's perimeter is about 1.5*dist, so dArea/dweight is about 0.75-1 and
    half the area deficit is a safely damped step.
    """
    m, k = len(pts), len(targets)
    origin = pts.mean(axis=0)
    p = pts - origin
    seeds = _kmeanspp(p, k, rng)
    power = np.zeros(k)
    want = targets * m
    per_pt = area / m

    def assign() -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        # argmin over |p - s|^2 - w; the |p|^2 term is the same for every seed, so drop it.
        # Element-wise, not p @ seeds.T: BLAS results can vary with CPU and thread count,
        # and one flipped near-tie would change the whole layout for the same seed.
        cross = p[:, :1] * seeds[:, 0] + p[:, 1:] * seeds[:, 1]
        d = (seeds**2).sum(axis=1) - power - 2.0 * cross
        lab = np.argmin(d, axis=1)
        return lab, np.bincount(lab, minlength=k)

    for _ in range(n_iter):
        lab, cnt = assign()
        has = cnt > 0
        sx = np.bincount(lab, weights=p[:, 0], minlength=k)
        sy = np.bincount(lab, weights=p[:, 1], minlength=k)
        seeds[has] = np.column_stack([sx[has] / cnt[has], sy[has] / cnt[has]])
        power += 0.5 * (want - cnt) * per_pt
        power -= power.mean()
    # Weight-only polishing: shares converge without Lloyd pulling the other way, and every
    # seed must own at least one sample point so its clipped cell cannot be empty.
    for _ in range(100):
        lab, cnt = assign()
        if cnt.min() > 0 and np.abs(cnt - want).max() <= max(0.03 * want.min(), 2):
            break
        power += 0.5 * (want - cnt) * per_pt
        power -= power.mean()
    return seeds + origin, power


def _kmeanspp(p: FloatArray, k: int, rng: np.random.Generator) -> FloatArray:
    """k-means++ initial seeds: spread out, so Lloyd converges in few iterations."""
    seeds = np.empty((k, 2))
    seeds[0] = p[rng.integers(len(p))]
    d2 = ((p - seeds[0]) ** 2).sum(axis=1)
    for i in range(1, k):
        seeds[i] = p[rng.choice(len(p), p=d2 / d2.sum())]
        d2 = np.minimum(d2, ((p - seeds[i]) ** 2).sum(axis=1))
    return seeds


def _power_cells(
    seeds: FloatArray, power: FloatArray, bounds: tuple[float, float, float, float]
) -> ObjArray:
    """Convex power-diagram cells of the seeds, cut to a box around bounds."""
    k = len(seeds)
    minx, miny, maxx, maxy = bounds
    origin = np.array([(minx + maxx) / 2, (miny + maxy) / 2])
    radius = float(np.hypot(maxx - minx, maxy - miny)) / 2 + 1.0
    s = seeds - origin  # local coordinates keep |s|^2 small and exact enough
    ii, jj = np.nonzero(~np.eye(k, dtype=bool))  # all ordered pairs i != j, grouped by i
    # Cell i is where |x-s_i|^2 - w_i <= |x-s_j|^2 - w_j, i.e. x.a <= b for every j:
    a = 2 * (s[jj] - s[ii])
    b = (s[jj] ** 2).sum(axis=1) - (s[ii] ** 2).sum(axis=1) + power[ii] - power[jj]
    norm = np.hypot(a[:, 0], a[:, 1])
    same = norm < 1e-9  # coincident seeds: no constraint (never happens with Lloyd seeds)
    norm[same] = 1.0
    n = a / norm[:, None]
    off = np.where(same, 10 * radius, b / norm)
    # Each half-plane as a quad big enough to cover the box wherever the line lies.
    big = 4 * (radius + np.abs(off))[:, None]
    t = np.column_stack([-n[:, 1], n[:, 0]])
    p0 = n * off[:, None]
    quad = np.stack([p0 + big * t, p0 - big * t, p0 - big * t - big * n, p0 + big * t - big * n])
    quad = quad.transpose(1, 0, 2) + origin
    halfplanes = shapely.polygons(quad).reshape(k, k - 1)
    cells = np.array([shapely.box(*bounds)] * k, dtype=object)
    for col in range(k - 1):
        cells = shapely.intersection(cells, halfplanes[:, col])
    return cells


# --- topology clean-up ----------------------------------------------------------------


def _merge_detached(cells: ObjArray, tol: float, exact: bool = False) -> ObjArray:
    """Hand every piece but the largest of each cell to the sibling sharing most border.

    Clipping a convex cell by a concave parent can leave stray pieces; a piece with no
    sibling alongside (an island) goes to the nearest cell. Cells never become empty.
    """
    parts, owner = shapely.get_parts(cells, return_index=True)
    if len(parts) == len(cells):
        return cells
    order = np.lexsort((-shapely.area(parts), owner))
    first = np.ones(len(parts), dtype=bool)
    first[1:] = owner[order][1:] != owner[order][:-1]
    label = np.full(len(parts), -1, dtype=np.intp)
    label[order[first]] = owner[order[first]]  # the largest part of each cell stays put
    label = _attach_loose(parts, label, tol)
    return _dissolve(parts, label, len(cells), exact)


def _attach_loose(parts: ObjArray, label: NDArray[np.intp], tol: float) -> NDArray[np.intp]:
    """Give each unlabelled part (-1) the label of the labelled neighbour sharing most border.

    Rounds repeat so chains of loose parts attach from the labelled side inwards; parts
    touching nothing by a line (islands, point contacts) go to the nearest labelled part.
    """
    label = label.copy()
    while (label < 0).any():
        loose = np.flatnonzero(label < 0)
        fixed = np.flatnonzero(label >= 0)
        tree = shapely.STRtree(parts[fixed])
        li, fj = tree.query(parts[loose], predicate="dwithin", distance=tol)
        moved = np.zeros(len(loose), dtype=bool)
        if len(li):
            # Shared border = length of the neighbour's boundary hugging the loose part.
            shared = shapely.length(
                shapely.intersection(
                    shapely.boundary(parts[fixed[fj]]), shapely.buffer(parts[loose[li]], tol)
                )
            )
            ok = shared > 4 * tol  # touching at a point only gives ~2*tol
            li, fj, shared = li[ok], fj[ok], shared[ok]
            best = np.lexsort((-shared, li))
            keep = np.ones(len(best), dtype=bool)
            keep[1:] = li[best][1:] != li[best][:-1]
            li, fj = li[best][keep], fj[best][keep]
            label[loose[li]] = label[fixed[fj]]
            moved[li] = True
        if not moved.any():
            # Only the closest one, so an island cut in two stays in one cell: its other
            # half then shares a border with it in the next round.
            (li, fj), dist = tree.query_nearest(
                parts[loose], all_matches=False, return_distance=True
            )
            near = int(np.argmin(dist))
            label[loose[li[near]]] = label[fixed[fj[near]]]
    return label


def _dissolve(parts: ObjArray, label: NDArray[np.intp], n: int, exact: bool) -> ObjArray:
    """Union the parts of each label 0..n-1 (single parts are passed through untouched).

    exact: the parts already share identical edges, so a coverage union keeps every
    vertex as is (an overlay union could move or drop vertices neighbours still have).
    """
    counts = np.bincount(label, minlength=n)
    if counts.min() == 0:
        raise InvalidGeometry("a generated cell lost all of its area")
    out = np.empty(n, dtype=object)
    single = np.flatnonzero(counts[label] == 1)
    out[label[single]] = parts[single]
    for c in np.flatnonzero(counts > 1):
        members = parts[label == c]
        out[c] = shapely.coverage_union_all(members) if exact else shapely.union_all(members)
    return out


def _exact_partition(grids: ObjArray, outline: shapely.Geometry, gv: ObjArray) -> ObjArray:
    """Rebuild the metric grids as an exact coverage: neighbours share identical edges.

    Cells clipped one by one disagree along shared edges by float noise; noding all
    boundaries together and polygonizing gives faces with identical shared edges. Each
    face goes to the grid it lies in; the rare sliver faces lying in two grids or in none
    go to the neighbour with the longest shared border.
    """
    lines = np.concatenate([shapely.boundary(grids), [shapely.boundary(outline)]])
    noded = shapely.union_all(shapely.get_parts(lines), grid_size=NODE_GRID)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    pts = shapely.point_on_surface(faces)
    pi, gi = shapely.STRtree(grids).query(pts, predicate="within")
    hits = np.bincount(pi, minlength=len(faces))
    label = np.full(len(faces), -1, dtype=np.intp)
    one = hits[pi] == 1
    label[pi[one]] = gi[one]
    xy = shapely.get_coordinates(pts)
    inside = (hits > 0) | shapely.contains_xy(outline, xy[:, 0], xy[:, 1])
    faces, label = faces[inside], label[inside]
    label = _attach_loose(faces, label, tol=METRIC_TOL)
    out = _dissolve(faces, label, len(grids), exact=True)

    # A sliver can leave a grid in two pieces; tidy within the grid's own village only.
    multi = shapely.get_num_geometries(out) > 1
    for v in np.unique(gv[multi]):
        sel = np.flatnonzero(gv == v)
        out[sel] = _merge_detached(out[sel], tol=METRIC_TOL, exact=True)
    return out


def _to_degrees(grids_m: ObjArray, to_ll: pyproj.Transformer) -> ObjArray:
    """Project an exact metric coverage to lon/lat rounded to DEGREE_GRID, keeping it exact.

    Vertices are rounded one by one: a vertex shared by two grids rounds the same way in
    both, so shared edges stay identical (set_precision's default mode would re-node each
    polygon on its own and could round a shared edge differently on its two sides).
    """
    ll = shapely.set_precision(_transform(grids_m, to_ll), DEGREE_GRID, mode="pointwise")
    ll = shapely.remove_repeated_points(ll)
    bad = ~shapely.is_valid(ll)
    if bad.any():
        # Only where rounding pinched a neck shut or flipped a sub-cm spike.
        ll[bad] = [_polygonal(g) for g in shapely.make_valid(ll[bad])]
    return ll


# --- output -------------------------------------------------------------------------


def _number_grids(
    grids_m: ObjArray, gv: ObjArray, village_codes: list[str]
) -> tuple[NDArray[np.int64], NDArray[np.intp]]:
    """Seq 1..n per village, north to south in rows, west to east within a row (DB11/T 2157)."""
    cxy = shapely.get_coordinates(shapely.centroid(grids_m))
    area = shapely.area(grids_m)
    seq = np.zeros(len(grids_m), dtype=np.int64)
    order: list[NDArray[np.intp]] = []
    for v in village_codes:
        sel = np.flatnonzero(gv == v)
        band = max(float(np.sqrt(area[sel].mean())), 1.0)  # a row ~ one typical grid tall
        # Rows counted down from the northernmost centroid, each centred on its row, so
        # cells of one row that wobble a little north or south stay in that row.
        row = np.floor((cxy[sel, 1].max() - cxy[sel, 1]) / band + 0.5)
        rank = np.lexsort((cxy[sel, 0], row))
        seq[sel[rank]] = np.arange(1, len(sel) + 1)
        order.append(sel[rank])
    return seq, np.concatenate(order)


def _as_multipolygons(geoms: ObjArray) -> ObjArray:
    """Every geometry as a MultiPolygon (the database column type)."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == 3
    if np.bincount(idx[keep], minlength=len(geoms)).min() == 0:
        raise InvalidGeometry("a generated polygon has no area left")  # would misalign rows
    return shapely.multipolygons(parts[keep], indices=idx[keep])  # type: ignore[no-any-return]
