"""Patrol coverage (巡逻覆盖) of a grid, village, town or county over a period.

Roads: share of length within `buffer_m` of the tracks, by the exact distance engine in
gisgrid.coverage_engine (a segment counts as covered at >= 90%). Households: visited when a
fix is within 30 m. Key places: visited when a fix is within the place's radius, with dwell
time. Time since the last visit in bands (<1h, <3h, <6h, >6h, never), distance and time per
worker. Uncovered segments and unvisited places come back as GeoJSON FeatureCollections.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyproj
import shapely
from scipy.spatial import cKDTree
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.divisions import grid_code, unit_code, unit_prefix
from gisgrid.errors import InvalidPeriod, NotFound
from gisgrid.patrols.road_coverage import age_bands, pieces_from_fixes, road_coverage
from gisgrid.patrols.roads import utm_epsg

DEFAULT_BUFFER_M = 15.0
SEGMENT_COVERED_AT = 0.9
HOUSEHOLD_VISIT_M = 30.0
MAX_GAP_S = 300.0
BAND_NAMES = ("<1h", "<3h", "<6h", ">6h", "never")
M_PER_DEG = 111_320.0


def resolve_unit(conn: Connection, code: str) -> dict[str, Any]:
    """A grid (15 digits) or a county/town/village (6/9/12 digits) with its geometry."""
    code = code.strip()
    full = grid_code(code) if len(code) == 15 else unit_code(code)
    row = sql.first(conn, "patrols/coverage_unit", code=full)
    if row is None or row["ewkb"] is None:
        raise NotFound(f"no current grid or unit with geometry has code {full} (asked {code!r})")
    out = dict(row)
    out["prefix"] = full if len(full) == 15 else unit_prefix(full)
    return out


def check_period(start: dt.datetime, end: dt.datetime, max_days: int = 62) -> None:
    """Raise InvalidPeriod naming the values unless start < end within max_days."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidPeriod(f"start={start} and end={end} need a time zone (e.g. +08:00 or Z)")
    if end <= start:
        raise InvalidPeriod(f"end={end.isoformat()} is not after start={start.isoformat()}")
    if end - start > dt.timedelta(days=max_days):
        raise InvalidPeriod(
            f"period {start.isoformat()}..{end.isoformat()} is longer than {max_days} days"
        )


def fixes_near(
    conn: Connection, ugeom: bytes, start: dt.datetime, end: dt.datetime, margin: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(track, staff, epoch, lon, lat) of the period's fixes near a unit, by track and time."""
    fx = sql.execute(
        conn, "patrols/coverage_fixes", ugeom=ugeom, start=start, end=end, margin=margin
    ).one()
    track, t = np.asarray(fx.track, dtype=np.int64), np.asarray(fx.epoch, dtype=float)
    order = np.lexsort((t, track))
    return (
        track[order],
        np.asarray(fx.staff, dtype=np.int64)[order],
        t[order],
        np.asarray(fx.lon, dtype=float)[order],
        np.asarray(fx.lat, dtype=float)[order],
    )


def _bands(values: np.ndarray, now: float) -> dict[str, int]:
    b = age_bands(values, now)
    return {name: int((b == name).sum()) for name in BAND_NAMES}


def _iso(epoch: float) -> str | None:
    return None if math.isnan(epoch) else dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat()


def _fc(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def coverage_by_unit(
    conn: Connection,
    unit: str,
    start: dt.datetime,
    end: dt.datetime,
    buffer_m: float = DEFAULT_BUFFER_M,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Coverage figures for a unit and period, with uncovered segments/places as GeoJSON."""
    check_period(start, end)
    if not 1 <= buffer_m <= 100:
        raise InvalidPeriod(f"buffer_m={buffer_m} is outside [1, 100] metres")
    u = resolve_unit(conn, unit)
    ref = min(now or dt.datetime.now(dt.UTC), end).timestamp()
    lat_max = max(abs(u["ymax"]), abs(u["ymin"]))
    dy = 1.01 / M_PER_DEG
    dx = 1.01 / (M_PER_DEG * math.cos(math.radians(min(lat_max, 89.0))))
    ugeom = bytes(u["ewkb"])
    params = {"ugeom": ugeom, "start": start, "end": end}
    metric = pyproj.Transformer.from_crs(4326, utm_epsg(u["cx"], u["cy"]), always_xy=True)

    # Roads, in the unit, to metres.
    rows = sql.execute(conn, "patrols/coverage_roads", ugeom=ugeom).all()
    road_geom = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else np.empty(0, object)
    road_m = shapely.transform(road_geom, metric.transform, interleaved=False)

    # Fixes of the period near the unit, to metres, into track pieces.
    track, staff, t, lon, lat = fixes_near(conn, ugeom, start, end, (buffer_m + 200.0) * dx)
    n_fix = len(t)
    x, y = metric.transform(lon, lat) if n_fix else (np.empty(0), np.empty(0))
    pieces = pieces_from_fixes(track, t, np.asarray(x), np.asarray(y), staff, MAX_GAP_S)
    if progress:
        progress(f"{len(rows):,} road segments, {n_fix:,} fixes in {u['code']}")
    staff_ids = np.unique(staff)

    def households_and_places() -> tuple[Any, np.ndarray, Any, dict[int, str]]:
        # Households (GPS visits measured with k-d trees, recorded visits from the database),
        # key places (distance queries in PostGIS) and the workers' names.
        hh = sql.execute(
            conn, "patrols/coverage_households", prefix=u["prefix"], start=start, end=end
        ).one()
        hh_gps = (
            _last_visits(np.asarray(hh.lon, float), np.asarray(hh.lat, float), lon, lat, t)
            if n_fix
            else np.full(len(hh.lon), np.nan)
        )
        kp = sql.execute(
            conn, "patrols/coverage_places", **params, dx=dx, dy=dy, max_gap=MAX_GAP_S
        ).all()
        names = sql.execute(conn, "patrols/staff_names", i=staff_ids.tolist()).all()
        return hh, hh_gps, kp, {int(r.id): r.name for r in names}

    # PostgreSQL answers those, and the k-d trees find the households' visits, while the
    # roads' coverage is computed here (numpy and the trees spend most of it outside the GIL).
    # The connection is used by the other thread alone until its result is in.
    with ThreadPoolExecutor(1) as pool:
        later = pool.submit(households_and_places)
        cov = road_coverage(road_m, pieces, buffer_m, progress=progress)
        hh, hh_gps, kp, names = later.result()
    share = cov.share
    covered_seg = share >= SEGMENT_COVERED_AT

    # A visit a worker recorded (入户走访) counts beside a fix within 30 m: the latest of both.
    hh_recorded = np.array([np.nan if v is None else v for v in hh.recorded], dtype=float)
    hh_last = np.fmax(hh_gps, hh_recorded)
    kp_last = np.array(
        [r.last_visit.timestamp() if r.last_visit else np.nan for r in kp], dtype=float
    )
    kp_band = age_bands(kp_last, ref)

    workers = _workers(names, track, staff, t, np.asarray(x), np.asarray(y))
    seg_band = age_bands(cov.last_visit, ref)
    gaps = np.flatnonzero(~covered_seg)
    uncovered = [
        {
            "type": "Feature",
            "geometry": geometry,
            "properties": {
                "id": rows[i].id,
                "name": rows[i].name,
                "kind": rows[i].kind,
                "length_m": round(float(cov.length_m[i]), 1),
                "covered_share": round(float(share[i]), 4),
                "last_visit": _iso(cov.last_visit[i]),
                "since_last_visit": seg_band[i],
                "generated": rows[i].generated,
            },
        }
        for i, geometry in zip(gaps.tolist(), _geojson(road_geom[gaps]), strict=True)
    ]
    places = [
        {
            "id": r.id,
            "name": r.name,
            "kind": r.kind,
            "visited": r.fixes > 0,
            "visitors": r.visitors,
            "dwell_s": round(r.dwell_s, 1),
            "last_visit": r.last_visit.isoformat() if r.last_visit else None,
            "since_last_visit": kp_band[i],
            "generated": r.generated,
            "lon": r.lon,
            "lat": r.lat,
        }
        for i, r in enumerate(kp)
    ]
    unvisited = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
            "properties": {k: v for k, v in p.items() if k not in ("lon", "lat")},
        }
        for p in places
        if not p["visited"]
    ]
    total_len = float(cov.length_m.sum())
    return {
        "unit": {"code": u["code"], "name": u["name"], "level": u["level"]},
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "buffer_m": buffer_m,
        "segment_covered_at": SEGMENT_COVERED_AT,
        "road_coverage": round(float(cov.covered_m.sum()) / total_len, 4) if total_len else None,
        "road_length_m": round(total_len, 1),
        "road_covered_m": round(float(cov.covered_m.sum()), 1),
        "segments_total": len(rows),
        "segments_covered": int(covered_seg.sum()),
        "roads_generated": bool(rows) and all(r.generated for r in rows),
        "households_total": len(hh.lon),
        "households_visited": int((~np.isnan(hh_last)).sum()),
        "households_visited_gps": int((~np.isnan(hh_gps)).sum()),
        "households_visited_recorded": int((~np.isnan(hh_recorded)).sum()),
        "household_visit_m": HOUSEHOLD_VISIT_M,
        "key_places_total": len(kp),
        "key_places_visited": int((~np.isnan(kp_last)).sum()),
        "since_last_visit": {
            "reference_time": _iso(ref),
            "segments": _bands(cov.last_visit, ref),
            "key_places": _bands(kp_last, ref),
            "households": _bands(hh_last, ref),
        },
        "key_places": places,
        "workers": workers,
        "fixes": n_fix,
        "uncovered_segments": _fc(uncovered),
        "unvisited_places": _fc(unvisited),
    }


def _geojson(geoms: np.ndarray) -> list[dict[str, Any]]:
    """GeoJSON geometry dicts, equal to json.loads(shapely.to_geojson(g)) for each geometry;
    LineStrings (nearly all roads) straight from their coordinates, without text in between."""
    out: list[dict[str, Any]] = [{} for _ in range(len(geoms))]
    lines = np.flatnonzero(
        (shapely.get_type_id(geoms) == shapely.GeometryType.LINESTRING) & ~shapely.is_empty(geoms)
    )
    if len(lines):
        coords, which = shapely.get_coordinates(geoms[lines], return_index=True)
        cuts = np.flatnonzero(np.diff(which)) + 1
        for k, part in zip(lines.tolist(), np.split(coords, cuts), strict=True):
            out[k] = {"type": "LineString", "coordinates": part.tolist()}
    for k in np.flatnonzero(~np.isin(np.arange(len(geoms)), lines)).tolist():
        out[k] = json.loads(shapely.to_geojson(geoms[k]))
    return out


def _workers(
    names: dict[int, str],
    track: np.ndarray,
    staff: np.ndarray,
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
) -> list[dict[str, Any]]:
    """Distance and time on patrol per staff member (joined pieces only, gaps excluded)."""
    if len(t) < 1:
        return []
    ids, inv = np.unique(staff, return_inverse=True)
    link = (track[1:] == track[:-1]) & ((t[1:] - t[:-1]) <= MAX_GAP_S)
    d = np.hypot(np.diff(x), np.diff(y)) * link
    secs = np.diff(t) * link
    dist = np.bincount(inv[1:], weights=d, minlength=len(ids))
    dur = np.bincount(inv[1:], weights=secs, minlength=len(ids))
    nfix = np.bincount(inv, minlength=len(ids))
    return [
        {
            "staff_id": int(s),
            "name": names.get(int(s)),
            "distance_m": round(float(dist[k]), 1),
            "time_on_patrol_s": round(float(dur[k]), 1),
            "fixes": int(nfix[k]),
        }
        for k, s in enumerate(ids)
    ]


HOUSEHOLD_VISIT_M = 30.0
HOUSEHOLD_VISIT_DAYS = 7


def _local_metres(lon: np.ndarray, lat: np.ndarray) -> pyproj.Proj:
    """A transverse Mercator centred on these points: within a county its scale error is
    ~1e-5, under a millimetre at 30 m, so planar distances stand in for geodesic ones."""
    return pyproj.Proj(
        proj="tmerc", lon_0=float(np.mean(lon)), lat_0=float(np.mean(lat)), ellps="WGS84"
    )


def _last_visits(
    lon: np.ndarray, lat: np.ndarray, fix_lon: np.ndarray, fix_lat: np.ndarray, fix_t: np.ndarray
) -> np.ndarray:
    """Latest fix time within HOUSEHOLD_VISIT_M of each point (NaN: none in the fixes given)."""
    last = np.full(len(lon), np.nan)
    if not len(lon) or not len(fix_lon):
        return last
    tm = _local_metres(lon, lat)
    homes = cKDTree(np.column_stack(tm(lon, lat)))
    fixes = cKDTree(np.column_stack(tm(fix_lon, fix_lat)))
    # All (household, fix) pairs within the radius at once, instead of one GiST probe per
    # household (4 s for a county's 132k households with a day of patrols).
    pairs = homes.sparse_distance_matrix(fixes, HOUSEHOLD_VISIT_M, output_type="ndarray")
    np.fmax.at(last, pairs["i"], fix_t[pairs["j"]])
    return last


def household_visit_share(
    conn: Connection,
    grid_codes: list[str],
    days: float = HOUSEHOLD_VISIT_DAYS,
    now: dt.datetime | None = None,
) -> dict[str, float]:
    """Share of each grid's households visited (a fix within 30 m, or a visit a worker
    recorded) in the last `days` days.

    This is the map pages' "coverage" measure; grids without households are left out.
    """
    since = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
    homes = sql.execute(
        conn, "patrols/coverage_household_points", codes=list(grid_codes), since=since
    ).one()
    if not homes.code:
        return {}
    code = np.asarray(homes.code)
    lon, lat = np.asarray(homes.lon, dtype=float), np.asarray(homes.lat, dtype=float)
    pad = HOUSEHOLD_VISIT_M * 2 / M_PER_DEG / max(math.cos(math.radians(float(lat.max()))), 0.1)
    got = sql.execute(
        conn,
        "patrols/coverage_fixes_in_box",
        since=since,
        minx=float(lon.min()) - pad,
        miny=float(lat.min()) - pad,
        maxx=float(lon.max()) + pad,
        maxy=float(lat.max()) + pad,
    ).one()
    fixes = np.column_stack([np.asarray(got.lon, dtype=float), np.asarray(got.lat, dtype=float)])
    visited = ~np.isnan(_last_visits(lon, lat, fixes[:, 0], fixes[:, 1], np.zeros(len(fixes))))
    visited |= np.asarray(homes.recorded, dtype=bool)  # recorded visits count too
    codes, inverse = np.unique(code, return_inverse=True)
    shares = np.bincount(inverse, weights=visited) / np.bincount(inverse)
    return dict(zip(codes.tolist(), shares.tolist(), strict=True))
