"""Road network and key places (重点部位) per county: import, noding, and the generated demo set.

Roads are stored as segments between junctions with pgRouting node ids at both ends. Node ids
come from the end coordinates themselves (1e-7 degree grid), so two imports that meet at the
same point share a node without a topology rebuild. Importers validate first, report every
problem with its feature id, and write nothing unless `commit=True` (all or nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.divisions import unit_code
from gisgrid.errors import DataSourceError, InvalidGeometry, InvalidImport, NotFound
from gisgrid.models import STORAGE_SRID

ROAD_KINDS_OSM_WALK = "walking"
KEY_PLACE_KINDS = {
    # kind: (Chinese name, visit radius in metres)
    "school": ("学校", 60.0),
    "market": ("集市", 60.0),
    "clinic": ("卫生院", 40.0),
    "reservoir": ("水库", 150.0),
    "bus_station": ("汽车站", 50.0),
    "village_committee": ("村委会", 40.0),
}


def utm_epsg(lon: float, lat: float) -> int:
    """The WGS84 UTM zone (EPSG) for a point: the metric CRS for coverage there."""
    zone = int((lon + 180) // 6) + 1
    return (32600 if lat >= 0 else 32700) + min(max(zone, 1), 60)


def node_ids(xy: np.ndarray) -> np.ndarray:
    """Deterministic 63-bit node ids from lon/lat (1e-7 degree, ~1 cm, grid)."""
    lon = np.round(xy[:, 0] * 1e7).astype(np.int64) + (1 << 31)
    lat = np.round(xy[:, 1] * 1e7).astype(np.int64) + (1 << 30)
    return (lon << 31) | lat


def node_network(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split lines where they cross or touch: (segments, index of the source line of each)."""
    parts, part_src = shapely.get_parts(lines, return_index=True)
    noded = shapely.get_parts(shapely.union_all(parts))
    noded = noded[(shapely.get_type_id(noded) == 1) & (shapely.length(noded) > 0)]
    # Attributes come from the input line that holds each piece's midpoint.
    mid = shapely.line_interpolate_point(noded, 0.5, normalized=True)
    pi, li = shapely.STRtree(parts).query_nearest(mid, all_matches=False)
    src = np.full(len(noded), -1)
    src[pi] = part_src[li]
    return noded, src


def _county(conn: Connection, county: str) -> tuple[str, Any]:
    code = unit_code(county)
    row = sql.execute(conn, "patrols/county_geom", c=code).first()
    if row is None:
        raise NotFound(f"no county with code {code} is loaded (asked for {county!r})")
    return code, row.geom


def read_roads(path: Path) -> gpd.GeoDataFrame:
    """Lines from GeoJSON/GeoPackage/Shapefile (pyogrio) or OpenStreetMap PBF (pyrosm)."""
    path = Path(path)
    if not path.exists():
        raise DataSourceError(f"road file {path} does not exist")
    if path.name.endswith(".pbf"):
        import pyrosm

        net = pyrosm.OSM(str(path)).get_network(network_type=ROAD_KINDS_OSM_WALK)
        if net is None or len(net) == 0:
            raise DataSourceError(f"{path} holds no walkable OpenStreetMap ways")
        frame = gpd.GeoDataFrame(
            {
                "source_id": "osm:way/" + net["id"].astype(str),
                "name": net.get("name"),
                "kind": net.get("highway"),
            },
            geometry=net.geometry.values,
            crs=net.crs or "EPSG:4326",
        )
        return frame
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        # The file is bad, not the service: 422 naming the file (never a server path).
        raise InvalidImport(f"cannot read roads from {path.name}: {exc}") from exc
    if len(frame) == 0:
        raise InvalidImport(f"{path.name} holds no road features; send at least one LineString")
    out = gpd.GeoDataFrame(
        {
            "source_id": frame.get("id", pd.Series(frame.index.astype(str))).astype(str),
            "name": frame.get("name"),
            "kind": frame.get("highway", frame.get("kind")),
        },
        geometry=frame.geometry.values,
        crs=frame.crs or "EPSG:4326",
    )
    return out


def read_places(path: Path) -> gpd.GeoDataFrame:
    """Key places from GeoJSON/GeoPackage: name, kind, optional radius_m."""
    try:
        frame = gpd.read_file(Path(path), engine="pyogrio")
    except Exception as exc:  # pyogrio raises its own error family
        raise InvalidImport(f"cannot read key places from {Path(path).name}: {exc}") from exc
    if len(frame) == 0:
        raise InvalidImport(f"{Path(path).name} holds no key places; send at least one Point")
    return frame


def check_lines(frame: gpd.GeoDataFrame) -> list[str]:
    """Every problem with the road features, each naming its feature id."""
    g = frame.geometry.values
    problems = []
    kinds = shapely.get_type_id(np.asarray(g))
    for cond, what in (
        (pd.isna(np.asarray(g, dtype=object)), "has no geometry"),
        (~np.isin(kinds, [1, 5]), "is not a LineString/MultiLineString"),
        (shapely.is_empty(np.asarray(g)), "is empty"),
    ):
        for i in np.flatnonzero(cond)[:50]:
            problems.append(f"feature {frame['source_id'].iloc[i]}: {what}")
    return problems


def import_roads(
    conn: Connection,
    county: str,
    frame: gpd.GeoDataFrame,
    source: str,
    generated: bool = False,
    commit: bool = False,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Node and store road lines for a county; a dry run unless commit=True."""
    code, _ = _county(conn, county)
    problems = check_lines(frame)
    if problems:
        raise InvalidGeometry(
            f"{len(problems)} road feature(s) rejected, nothing written: " + "; ".join(problems)
        )
    frame = frame.to_crs(STORAGE_SRID) if frame.crs and frame.crs.to_epsg() != 4326 else frame
    progress(f"noding {len(frame):,} road lines at junctions")
    segs, src = node_network(np.asarray(frame.geometry.values))
    xy0 = shapely.get_coordinates(shapely.get_point(segs, 0))
    xy1 = shapely.get_coordinates(shapely.get_point(segs, -1))
    c = shapely.get_coordinates(shapely.centroid(shapely.union_all(segs)))[0]
    metric = pyproj.Transformer.from_crs(4326, utm_epsg(c[0], c[1]), always_xy=True)
    length = shapely.length(shapely.transform(segs, metric.transform, interleaved=False))
    out = pd.DataFrame(
        {
            "county_code": code,
            "source_id": frame["source_id"].to_numpy()[src],
            "name": frame["name"].to_numpy()[src] if "name" in frame else None,
            "kind": frame["kind"].to_numpy()[src] if "kind" in frame else None,
            "source": source,
            "generated": generated,
            "length_m": length,
            "node_from": node_ids(xy0),
            "node_to": node_ids(xy1),
            "geom": shapely.to_wkb(
                shapely.set_srid(segs, STORAGE_SRID), hex=True, include_srid=True
            ),
        }
    )
    summary = {
        "county": code,
        "input_lines": len(frame),
        "segments": len(out),
        "length_km": round(float(length.sum()) / 1000, 3),
        "nodes": int(len(np.unique(np.concatenate([out["node_from"], out["node_to"]])))),
        "committed": commit,
    }
    if commit:
        from gisgrid.sql import copy_frame

        copy_frame(conn, "road_segment", out)
        progress(f"stored {len(out):,} road segments for {code}")
    return summary


def import_key_places(
    conn: Connection,
    county: str,
    frame: gpd.GeoDataFrame,
    source: str,
    generated: bool = False,
    commit: bool = False,
) -> dict[str, Any]:
    """Store key places (points; polygons by their centroid) with name, kind and radius_m."""
    code, _ = _county(conn, county)
    frame = frame.to_crs(STORAGE_SRID) if frame.crs and frame.crs.to_epsg() != 4326 else frame
    g = np.asarray(frame.geometry.values)
    problems = [f"feature {i}: no geometry" for i in np.flatnonzero(pd.isna(g.astype(object)))]
    for col in ("name", "kind"):
        if col not in frame:
            problems.append(f"column {col!r} is missing")
        else:
            problems += [f"feature {i}: no {col}" for i in np.flatnonzero(frame[col].isna())]
    if problems:
        raise InvalidGeometry(
            f"{len(problems)} key-place problem(s), nothing written: " + "; ".join(problems[:50])
        )
    pts = np.where(shapely.get_type_id(g) == 0, g, shapely.point_on_surface(g))
    default_r = frame["kind"].map(lambda k: KEY_PLACE_KINDS.get(k, ("", 50.0))[1])
    radius = frame["radius_m"].fillna(default_r) if "radius_m" in frame else default_r
    out = pd.DataFrame(
        {
            "county_code": code,
            "name": frame["name"].astype(str),
            "kind": frame["kind"].astype(str),
            "radius_m": radius.astype(float),
            "source": source,
            "generated": generated,
            "geom": shapely.to_wkb(
                shapely.set_srid(pts, STORAGE_SRID), hex=True, include_srid=True
            ),
        }
    )
    if commit:
        from gisgrid.sql import copy_frame

        copy_frame(conn, "key_place", out)
    return {"county": code, "key_places": len(out), "committed": commit}


def generate_demo_network(
    conn: Connection,
    county: str,
    seed: int = 20231,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """GENERATED roads and key places for a demo county, from its households and grids.

    Hamlets are samples of each grid's households; roads are the minimum spanning tree of the
    Delaunay graph over all hamlets plus the shortest fifth of the remaining Delaunay edges (so
    there are loops to patrol). Key places sit at hamlets, about two per village.
    """
    code, _ = _county(conn, county)
    rng = np.random.default_rng(seed)
    hh = sql.execute(conn, "patrols/county_households", p=code[:6] + "%").all()
    if not hh:
        raise NotFound(f"county {code} has no households to lay a generated road network over")
    f = pd.DataFrame(hh, columns=["grid_id", "village", "x", "y"])
    # About one hamlet per 15 households, 3-12 per grid.
    f["key"] = rng.random(len(f))
    f = f.sort_values(["grid_id", "key"])
    f["rank"] = f.groupby("grid_id").cumcount()
    per_grid = f.groupby("grid_id")["x"].transform("size")
    hamlets = f[f["rank"] < np.clip(per_grid // 15, 3, 12)].reset_index(drop=True)
    xy = hamlets[["x", "y"]].to_numpy()
    progress(f"generating roads over {len(xy):,} hamlets (GENERATED network)")
    metric = pyproj.Transformer.from_crs(4326, utm_epsg(*xy.mean(0)), always_xy=True)
    mx, my = metric.transform(xy[:, 0], xy[:, 1])
    a, b, w = delaunay_roads(np.column_stack([mx, my]))
    lines = shapely.linestrings(np.stack([xy[a], xy[b]], 1))
    frame = gpd.GeoDataFrame(
        {
            "source_id": np.char.add("gen:", np.arange(len(lines)).astype(str)),
            "name": None,
            "kind": np.where(w > np.median(w), "county_road", "village_road"),
        },
        geometry=lines,
        crs="EPSG:4326",
    )
    road = import_roads(
        conn,
        code,
        frame,
        source="generated: Delaunay/MST over households (gisgrid)",
        generated=True,
        commit=True,
        progress=progress,
    )
    # Key places: about two per village at its hamlets.
    vill = hamlets.groupby("village").sample(n=2, replace=True, random_state=seed)
    vill = vill.drop_duplicates(["x", "y"]).reset_index(drop=True)
    kinds = np.array(list(KEY_PLACE_KINDS))
    kind = kinds[rng.integers(0, len(kinds), len(vill))]
    names = sql.execute(conn, "patrols/unit_names", c=vill["village"].unique().tolist()).all()
    vname = vill["village"].map(dict(names)).fillna(vill["village"])
    label = pd.Series(kind).map({k: v[0] for k, v in KEY_PLACE_KINDS.items()})
    places = gpd.GeoDataFrame(
        {"name": (vname + label).to_numpy(), "kind": kind},
        geometry=shapely.points(vill[["x", "y"]].to_numpy()),
        crs="EPSG:4326",
    )
    kp = import_key_places(
        conn, code, places, source="generated (gisgrid)", generated=True, commit=True
    )
    progress(f"generated {road['segments']:,} road segments and {kp['key_places']} key places")
    return {"roads": road, "key_places": kp, "generated": True}


def delaunay_roads(xy: np.ndarray, extra_share: float = 0.2) -> tuple[np.ndarray, ...]:
    """Road edges (i, j, length) over metric points: Delaunay MST plus its shortest extras."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import minimum_spanning_tree

    edges = shapely.get_parts(shapely.delaunay_triangles(shapely.multipoints(xy), only_edges=True))
    e = shapely.get_coordinates(edges).reshape(-1, 2, 2)
    # Map edge ends back to point indices through their exact coordinates.
    order = np.lexsort((xy[:, 1], xy[:, 0]))
    sx = xy[order]

    def index_of(p: np.ndarray) -> np.ndarray:
        lo = np.searchsorted(sx[:, 0], p[:, 0], side="left")
        hi = np.searchsorted(sx[:, 0], p[:, 0], side="right")
        # Equal x is rare for random points; resolve it by y within the run.
        k = lo.copy()
        tie = np.flatnonzero(hi - lo > 1)
        for i in tie:
            k[i] = lo[i] + int(np.argmin(np.abs(sx[lo[i] : hi[i], 1] - p[i, 1])))
        return order[k]

    a, b = index_of(e[:, 0]), index_of(e[:, 1])
    w = np.hypot(*(xy[a] - xy[b]).T)
    n = len(xy)
    mst = minimum_spanning_tree(coo_matrix((w, (a, b)), shape=(n, n))).tocoo()
    in_mst = np.minimum(mst.row, mst.col).astype(np.int64) * n + np.maximum(mst.row, mst.col)
    extra = ~np.isin(np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b), in_mst)
    cut = np.quantile(w[extra], extra_share) if extra.any() else 0.0
    keep = ~extra | (w <= cut)
    return a[keep], b[keep], w[keep]


def has_network(conn: Connection, county: str) -> bool:
    """Whether the county has any road segments."""
    return bool(sql.execute(conn, "patrols/has_roads", c=unit_code(county)).first())
