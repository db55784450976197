"""Blocks (地块): the atoms a plan moves, cut from a village by its roads, grid lines and gaps.

A village is cut by its own boundary, the roads crossing it, the lines of the grids it has now
(so every current grid is a union of blocks and a minimal change can start from it exactly) and,
where roads leave large pieces, by the gaps between settlements: the Voronoi edges between
clusters of about `BLOCK_HOUSEHOLDS` households. The lines are noded and polygonized; pieces
without households and slivers merge into the neighbour they share most boundary with (inside
the same grid when there is one). Blocks are cut once per generation and kept in
`redraw_block` / `redraw_block_edge`; their households, care-tagged households and open reports
are counted when a plan is made.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.cluster.vq import kmeans2
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.boundaries import gk_zone_for, metric
from gisgrid.errors import NotFound
from gisgrid.models import STORAGE_SRID

BLOCK_HOUSEHOLDS = 30  # households per settlement cluster where roads leave bigger pieces
MIN_BLOCK_M2 = 2_000.0  # a piece smaller than this is a sliver (about 45 m x 45 m)
MIN_THINNESS = 0.05  # 4*pi*area/perimeter^2 below this is a sliver (a circle is 1)
ADJACENT_M = 2.0  # blocks sharing less boundary than this only touch: not neighbours
ROAD_SNAP_M = 0.5  # a shared edge this close to a road runs along it


@dataclass
class VillageBlocks:
    """One village's blocks: geometry (WGS84), metric figures and the adjacency graph."""

    village: str
    geoms: np.ndarray  # WGS84 Polygons/MultiPolygons
    area_m2: np.ndarray
    perimeter_m: np.ndarray
    grid_code: np.ndarray  # the current grid each block lies in ("" if none)
    edges: np.ndarray  # (m, 2) block indices, a < b
    shared_m: np.ndarray  # boundary length each edge shares
    road_m: np.ndarray  # of which along a road
    ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # redraw_block.id
    households: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    care: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    reports: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    # households of each block by current grid code: {(block, code): n}, for exact moved counts
    by_grid: dict[tuple[int, str], int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.geoms)


def _kmeans_cells(xy: np.ndarray, village: shapely.Geometry, seed: int) -> np.ndarray:
    """Voronoi edges between clusters of about BLOCK_HOUSEHOLDS households, as lines."""
    k = math.ceil(len(xy) / BLOCK_HOUSEHOLDS)
    if k < 2:
        return np.empty(0, dtype=object)
    # Cluster in a locally isotropic frame (a degree of longitude is shorter than one of latitude).
    scale = np.array([math.cos(math.radians(float(xy[:, 1].mean()))), 1.0])
    centres, _ = kmeans2(xy * scale, k, seed=seed, minit="++", iter=20)
    centres = np.unique(centres / scale, axis=0)
    if len(centres) < 2:
        return np.empty(0, dtype=object)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(centres), extend_to=village)
    )
    return shapely.intersection(shapely.boundary(cells), village)


def _segments(faces: np.ndarray, lon: float, roads: np.ndarray) -> pd.DataFrame:
    """Every boundary segment of a polygonized coverage once: its face(s), length, road or not.

    Faces cut from one noded linework share their edges vertex for vertex, so a shared edge is
    the same segment seen from both sides: keyed by its rounded end points, a segment with two
    faces is a shared boundary and one with a single face lies on the village's edge. Lengths in
    metres from the projected end points; a segment runs along a road when its midpoint lies on
    one (within 1 cm).
    """
    rings, fidx = shapely.get_rings(faces, return_index=True)
    xy, ridx = shapely.get_coordinates(rings, return_index=True)
    same = ridx[1:] == ridx[:-1]
    p, q = xy[:-1][same], xy[1:][same]
    face = fidx[ridx[:-1][same]]
    ip, iq = np.round(p * 1e8).astype(np.int64), np.round(q * 1e8).astype(np.int64)
    swap = (ip[:, 0] > iq[:, 0]) | ((ip[:, 0] == iq[:, 0]) & (ip[:, 1] > iq[:, 1]))
    lo = np.where(swap[:, None], iq, ip)
    hi = np.where(swap[:, None], ip, iq)
    key = np.column_stack([lo, hi])
    _, first, inv, count = np.unique(
        key, axis=0, return_index=True, return_inverse=True, return_counts=True
    )
    inv = inv.ravel()
    order = np.argsort(inv, kind="stable")
    starts = np.concatenate([[0], np.cumsum(count)[:-1]])
    fa = face[order[starts]]
    fb = np.where(count > 1, face[order[np.minimum(starts + 1, len(order) - 1)]], -1)
    tr = pyproj.Transformer.from_crs(4490, gk_zone_for(lon), always_xy=True)
    px, py = tr.transform(p[first, 0], p[first, 1])
    qx, qy = tr.transform(q[first, 0], q[first, 1])
    length = np.hypot(qx - px, qy - py)
    road = np.zeros(len(first), dtype=bool)
    if len(roads):
        mid = shapely.points((p[first] + q[first]) / 2)
        hit, _ = shapely.STRtree(roads).query(mid, predicate="dwithin", distance=1e-7)
        road[hit] = True
    return pd.DataFrame({"fa": fa, "fb": fb, "length": length, "road": road})


def _face_pairs(seg: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    inner = seg[seg["fb"] >= 0]
    a = np.minimum(inner["fa"], inner["fb"]).to_numpy()
    b = np.maximum(inner["fa"], inner["fb"]).to_numpy()
    s = pd.DataFrame({"a": a, "b": b, "len": inner["length"].to_numpy()})
    s = s[s["a"] != s["b"]].groupby(["a", "b"], as_index=False)["len"].sum()
    return s[["a", "b"]].to_numpy(dtype=np.int64).reshape(-1, 2), s["len"].to_numpy()


def cut_village(
    village_code: str,
    village: shapely.Geometry,
    roads: np.ndarray,
    grid_codes: np.ndarray,
    grid_geoms: np.ndarray,
    households_xy: np.ndarray,
    lon: float,
    seed: int = 0,
) -> VillageBlocks:
    """Cut one village into blocks (pure geometry: WGS84 in, WGS84 out, metrics in metres)."""
    shapely.prepare(village)
    roads = roads[shapely.intersects(roads, village)] if len(roads) else roads
    road_lines = shapely.intersection(roads, village) if len(roads) else roads
    lines = [
        shapely.get_parts(shapely.boundary(village)),
        shapely.get_parts(road_lines),
        shapely.get_parts(shapely.boundary(grid_geoms)),
        shapely.get_parts(_kmeans_cells(households_xy, village, seed)),
    ]
    parts = np.concatenate([p for p in lines if len(p)])
    parts = parts[shapely.get_type_id(parts) != 0]  # points left by clipping a road at a corner
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.union_all(parts))))
    # Holes of the village are faces too: keep only faces inside it.
    faces = faces[shapely.contains(village, shapely.point_on_surface(faces))]
    if not len(faces):
        faces = shapely.get_parts(village)
    road_parts = shapely.get_parts(road_lines) if len(road_lines) else road_lines
    road_parts = road_parts[shapely.get_type_id(road_parts) == 1] if len(road_parts) else road_parts
    seg = _segments(faces, lon, road_parts)
    area = shapely.area(metric(faces, lon))
    perim = np.bincount(seg["fa"], weights=seg["length"], minlength=len(faces)) + np.bincount(
        seg["fb"][seg["fb"] >= 0], weights=seg["length"][seg["fb"] >= 0], minlength=len(faces)
    )
    thin = np.where(perim > 0, 4 * np.pi * area / np.maximum(perim, 1e-9) ** 2, 0.0)
    hh = np.zeros(len(faces), dtype=np.int64)
    if len(households_xy):
        pi, fi = shapely.STRtree(faces).query(shapely.points(households_xy), predicate="intersects")
        _, first = np.unique(pi, return_index=True)
        hh = np.bincount(fi[first], minlength=len(faces))
    face_grid = _grid_of(faces, grid_codes, grid_geoms)
    pairs, shared = _face_pairs(seg)
    group = _merge_small(pairs, shared, hh, area, thin, face_grid)
    return _assemble(village_code, faces, area, group, face_grid, seg)


def _grid_of(faces: np.ndarray, codes: np.ndarray, grids: np.ndarray) -> np.ndarray:
    out = np.full(len(faces), "", dtype=object)
    if not len(grids):
        return out
    fi, gi = shapely.STRtree(grids).query(shapely.point_on_surface(faces), predicate="within")
    out[fi] = codes[gi]
    return out


def _merge_small(
    pairs: np.ndarray,
    shared: np.ndarray,
    hh: np.ndarray,
    area: np.ndarray,
    thin: np.ndarray,
    grid: np.ndarray,
) -> np.ndarray:
    """A group label per face: slivers and empty faces joined to their best neighbour.

    Best = inside the same grid, then not small itself, then the longest shared boundary.
    Repeated on the merged groups until no small group has a neighbour left to join.
    """
    n = len(hh)
    group = np.arange(n)
    edges = pd.DataFrame({"a": pairs[:, 0], "b": pairs[:, 1], "len": shared})
    # Slivers join along any shared edge, however short; a face touching others only along
    # edges shorter than ADJACENT_M would be an island in the graph, so it counts as small too.
    edges = edges[edges["len"] > 0]
    g_grid = grid.copy()
    linked = np.zeros(n, dtype=bool)
    long = edges[edges["len"] >= ADJACENT_M]
    linked[long["a"].to_numpy()] = True
    linked[long["b"].to_numpy()] = True
    g_small = (hh == 0) | (area < MIN_BLOCK_M2) | (thin < MIN_THINNESS) | (~linked & (n > 1))
    for _ in range(50):
        ga, gb = group[edges["a"].to_numpy()], group[edges["b"].to_numpy()]
        cross = ga != gb
        both = pd.DataFrame(
            {
                "src": np.concatenate([ga[cross], gb[cross]]),
                "dst": np.concatenate([gb[cross], ga[cross]]),
                "len": np.tile(edges["len"].to_numpy()[cross], 2),
            }
        )
        both = both.groupby(["src", "dst"], as_index=False)["len"].sum()
        both = both[g_small[both["src"].to_numpy()]]
        if both.empty:
            break
        src, dst = both["src"].to_numpy(), both["dst"].to_numpy()
        score = (
            (g_grid[src] == g_grid[dst]).astype(float) * 1e12
            + (~g_small[dst]).astype(float) * 1e9
            + both["len"].to_numpy()
        )
        best = (
            both.assign(score=score)
            .sort_values(["src", "score"], ascending=[True, False])
            .drop_duplicates("src")
        )
        # Join along the chosen links (connected components), so chains merge in one pass.
        link = coo_matrix(
            (np.ones(len(best)), (best["src"].to_numpy(), best["dst"].to_numpy())), shape=(n, n)
        )
        _, comp = connected_components(link, directed=False)
        group = comp[group]
        g_hh = np.bincount(group, weights=hh, minlength=n)
        g_area = np.bincount(group, weights=area, minlength=n)
        # A merged group keeps the grid of its largest face.
        order = np.lexsort((-area, group))
        rep = order[np.unique(group[order], return_index=True)[1]]
        g_grid = np.full(n, "", dtype=object)
        g_grid[group[rep]] = grid[rep]
        g_small = (g_hh == 0) | (g_area < MIN_BLOCK_M2)
        # Merged groups are judged by size only; a lone sliver keeps its shape test.
        lone = np.bincount(group, minlength=n) == 1
        g_small[group[lone[group]]] |= thin[lone[group]] < MIN_THINNESS
    return group


def _assemble(
    village_code: str,
    faces: np.ndarray,
    face_area: np.ndarray,
    group: np.ndarray,
    face_grid: np.ndarray,
    seg: pd.DataFrame,
) -> VillageBlocks:
    uniq, inv = np.unique(group, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    members = np.split(order, np.flatnonzero(np.diff(inv[order])) + 1)
    # Faces share their edges exactly, so a coverage union is exact and fast.
    geoms = np.array(
        [faces[m[0]] if len(m) == 1 else shapely.coverage_union_all(faces[m]) for m in members],
        dtype=object,
    )
    big = np.lexsort((-face_area, inv))
    rep = big[np.unique(inv[big], return_index=True)[1]]
    ba = inv[seg["fa"].to_numpy()]
    fb = seg["fb"].to_numpy()
    bb = np.where(fb >= 0, inv[np.maximum(fb, 0)], -1)
    length, road = seg["length"].to_numpy(), seg["road"].to_numpy()
    outer = bb != ba  # on the block's boundary (village edge or another block)
    perim = np.bincount(ba[outer], weights=length[outer], minlength=len(uniq))
    perim += np.bincount(
        bb[outer & (bb >= 0)], weights=length[outer & (bb >= 0)], minlength=len(uniq)
    )
    inner = outer & (bb >= 0)
    e = (
        pd.DataFrame(
            {
                "a": np.minimum(ba[inner], bb[inner]),
                "b": np.maximum(ba[inner], bb[inner]),
                "shared": length[inner],
                "road": np.where(road[inner], length[inner], 0.0),
            }
        )
        .groupby(["a", "b"], as_index=False)[["shared", "road"]]
        .sum()
    )
    e = e[e["shared"] >= ADJACENT_M]
    return VillageBlocks(
        village=village_code,
        geoms=geoms,
        area_m2=np.bincount(inv, weights=face_area, minlength=len(uniq)),
        perimeter_m=perim,
        grid_code=face_grid[rep],
        edges=e[["a", "b"]].to_numpy(dtype=np.int64).reshape(-1, 2),
        shared_m=e["shared"].to_numpy(dtype=float),
        road_m=e["road"].to_numpy(dtype=float),
    )


def roads_version(conn: Connection, county: str) -> str:
    """Which road network blocks would be cut by now: count and newest id of the county's roads."""
    r = sql.first(conn, "redraw/roads_version", county=county)
    assert r is not None
    return f"{r['n']}:{r['max_id']}"


def village_blocks(
    conn: Connection,
    generation_id: int,
    villages: Sequence[str],
    *,
    progress: Callable[[str], None] = lambda m: None,
) -> dict[str, VillageBlocks]:
    """The blocks of these villages in a generation: read from the cache, cut where missing.

    Runs in the caller's transaction; cutting takes a per-generation advisory lock, so two
    plans asking for the same villages at once cut them once.
    """
    gen = sql.one(
        conn,
        "redraw/generation",
        lambda: NotFound(f"generation id {generation_id} does not exist"),
        generation_id=generation_id,
    )
    version = roads_version(conn, gen["county_code"])
    villages = sorted(set(villages))
    sql.execute(conn, "redraw/lock_blocks", generation_id=generation_id)
    have = set(
        sql.frame(
            conn,
            "redraw/block_sets",
            generation_id=generation_id,
            roads_version=version,
            villages=villages,
        )["village_code"]
    )
    missing = [v for v in villages if v not in have]
    if missing:
        progress(f"cutting {len(missing)} villages into blocks")
        cut = cut_villages(conn, generation_id, gen["county_code"], missing, progress)
        _store(conn, generation_id, version, cut)
    return _read_blocks(conn, generation_id, version, villages)


def cut_villages(
    conn: Connection,
    generation_id: int,
    county: str,
    villages: list[str],
    progress: Callable[[str], None] = lambda m: None,
) -> list[VillageBlocks]:
    """Cut villages into blocks from the database's boundaries, roads, grids and households."""
    vrows = sql.frame(conn, "redraw/villages", codes=villages)
    if len(vrows) != len(villages):
        lost = sorted(set(villages) - set(vrows["code"]))
        raise NotFound(f"villages {lost[:5]} have no boundary loaded; load them first")
    vgeoms = shapely.from_wkb(vrows["wkb"].to_numpy())
    box = shapely.bounds(shapely.union_all(shapely.envelope(vgeoms)))
    lon = float((box[0] + box[2]) / 2)
    roads = shapely.from_wkb(
        sql.frame(
            conn, "redraw/roads", county=county, minx=box[0], miny=box[1], maxx=box[2], maxy=box[3]
        )["wkb"].to_numpy()
    )
    g = sql.frame(conn, "redraw/generation_grids", generation_id=generation_id, villages=villages)
    ggeom = shapely.from_wkb(g["wkb"].to_numpy())
    h = sql.frame(conn, "redraw/household_points", villages=villages)
    hxy = h[["x", "y"]].to_numpy(dtype=float)
    road_tree = shapely.STRtree(roads)
    g_by = g.groupby("village_code").indices
    h_by = h.groupby("village_code").indices
    none = np.empty(0, dtype=np.int64)
    out = []
    for k, (code, vg) in enumerate(zip(vrows["code"], vgeoms, strict=True)):
        gi, hi = g_by.get(code, none), h_by.get(code, none)
        out.append(
            cut_village(
                code,
                vg,
                roads[road_tree.query(vg)],
                g["code"].to_numpy()[gi],
                ggeom[gi],
                hxy[hi],
                lon,
                seed=int(code[-6:]),
            )
        )
        if (k + 1) % 25 == 0:
            progress(f"cut {k + 1} of {len(villages)} villages into blocks")
    return out


def _store(conn: Connection, generation_id: int, version: str, cut: list[VillageBlocks]) -> None:
    ids = dict(
        sql.frame(
            conn,
            "redraw/insert_block_sets",
            generation_id=generation_id,
            villages=[b.village for b in cut],
            roads_version=version,
        )[["village_code", "id"]].itertuples(index=False, name=None)
    )
    blocks = pd.concat(
        [
            pd.DataFrame(
                {
                    "set_id": ids[b.village],
                    "seq": np.arange(len(b)),
                    "area_m2": b.area_m2,
                    "perimeter_m": b.perimeter_m,
                    "grid_code": [c or None for c in b.grid_code],
                    "geom": _ewkb(b.geoms),
                }
            )
            for b in cut
        ]
    )
    edges = pd.concat(
        [
            pd.DataFrame(
                {
                    "set_id": ids[b.village],
                    "a": b.edges[:, 0],
                    "b": b.edges[:, 1],
                    "shared_m": b.shared_m,
                    "road_m": b.road_m,
                }
            )
            for b in cut
        ]
    )
    sql.copy_frame(conn, "redraw_block", blocks)
    sql.copy_frame(conn, "redraw_block_edge", edges)


def _ewkb(geoms: np.ndarray) -> np.ndarray:
    multi = geoms.copy()
    single = shapely.get_type_id(geoms) == 3
    multi[single] = [shapely.MultiPolygon([g]) for g in geoms[single]]
    return shapely.to_wkb(shapely.set_srid(multi, STORAGE_SRID), hex=True, include_srid=True)


def _read_blocks(
    conn: Connection, generation_id: int, version: str, villages: list[str]
) -> dict[str, VillageBlocks]:
    params = {"generation_id": generation_id, "roads_version": version, "villages": villages}
    b = sql.frame(conn, "redraw/blocks", **params)
    e = sql.frame(conn, "redraw/block_edges", **params)
    geoms = shapely.from_wkb(b["wkb"].to_numpy())
    none = np.empty(0, dtype=np.int64)
    e_by = e.groupby("village_code").indices
    out: dict[str, VillageBlocks] = {}
    for code, idx in b.groupby("village_code").indices.items():
        ed = e.iloc[e_by.get(code, none)]
        out[str(code)] = VillageBlocks(
            village=str(code),
            geoms=geoms[idx],
            area_m2=b["area_m2"].to_numpy(dtype=float)[idx],
            perimeter_m=b["perimeter_m"].to_numpy(dtype=float)[idx],
            grid_code=b["grid_code"].fillna("").to_numpy(dtype=object)[idx],
            edges=ed[["a", "b"]].to_numpy(dtype=np.int64).reshape(-1, 2),
            shared_m=ed["shared_m"].to_numpy(dtype=float),
            road_m=ed["road_m"].to_numpy(dtype=float),
            ids=b["id"].to_numpy(dtype=np.int64)[idx],
        )
    return out


def count_in_blocks(
    blocks: dict[str, VillageBlocks],
    households: pd.DataFrame,
    reports: pd.DataFrame,
) -> None:
    """Fill households, care-tagged households, open reports and households-by-grid per block.

    `households`: x, y, care (bool), grid_code; `reports`: x, y. Points are matched to blocks
    with one STRtree query over all villages' blocks (a point on a shared edge counts once).
    """
    codes = list(blocks)
    geoms = np.concatenate([blocks[c].geoms for c in codes]) if codes else np.empty(0)
    offsets = np.cumsum([0] + [len(blocks[c]) for c in codes])
    tree = shapely.STRtree(geoms) if len(geoms) else None

    def locate(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        if tree is None or frame.empty:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        pts = shapely.points(frame[["x", "y"]].to_numpy(dtype=float))
        pi, bi = tree.query(pts, predicate="intersects")
        _, first = np.unique(pi, return_index=True)
        return pi[first], bi[first]

    hp, hb = locate(households)
    rp, rb = locate(reports)
    total = len(geoms)
    hh = np.bincount(hb, minlength=total)
    care = np.bincount(hb, weights=households["care"].to_numpy(dtype=bool)[hp], minlength=total)
    rep = np.bincount(rb, minlength=total)
    by = (
        pd.DataFrame({"b": hb, "g": households["grid_code"].to_numpy(dtype=object)[hp]})
        .value_counts()
        .reset_index(name="n")
    )
    block_village = np.repeat(np.arange(len(codes)), np.diff(offsets))
    for k, c in enumerate(codes):
        lo, hi = offsets[k], offsets[k + 1]
        vb = blocks[c]
        vb.households = hh[lo:hi].astype(np.int64)
        vb.care = care[lo:hi].astype(np.int64)
        vb.reports = rep[lo:hi].astype(np.int64)
        vb.by_grid = {}
    if not by.empty:
        bv = block_village[by["b"].to_numpy()]
        local = by["b"].to_numpy() - offsets[bv]
        for v, lb, g, n in zip(bv, local, by["g"], by["n"], strict=True):
            blocks[codes[v]].by_grid[(int(lb), str(g))] = int(n)


def block_features(vb: VillageBlocks) -> list[dict[str, Any]]:
    """A village's blocks as GeoJSON features (for the planner page's move edit)."""
    geo = shapely.to_geojson(vb.geoms)
    import json

    return [
        {
            "type": "Feature",
            "id": int(vb.ids[i]) if len(vb.ids) else i,
            "geometry": json.loads(geo[i]),
            "properties": {
                "block": int(vb.ids[i]) if len(vb.ids) else i,
                "village": vb.village,
                "households": int(vb.households[i]) if len(vb.households) else None,
                "grid": vb.grid_code[i] or None,
            },
        }
        for i in range(len(vb))
    ]
