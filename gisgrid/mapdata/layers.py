"""What the maps show: grids with their measures, live reports, staff positions, rankings.

Functions return plain dicts and GeoJSON-shaped dicts; `maps/` turns them into pages and
`api/routers/maps.py` serves them. Measures are counted by the database at request time, so a
report written by any path (Open311 intake, a patrol, SQL) shows on the next poll.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from psycopg import AsyncConnection
from sqlalchemy import Connection

from gisgrid import reports, sql
from gisgrid.datum import wgs84_to_gcj02
from gisgrid.divisions import get_unit, grid_code, unit_prefix
from gisgrid.errors import InvalidCode, InvalidCoordinate, NotFound
from gisgrid.geojson import row_feature
from gisgrid.mapdata.answers import to_json
from gisgrid.patrols import household_visit_share
from gisgrid.reports import CATEGORIES

CATEGORY_NAMES = {c.code: (c.name, c.name_zh) for c in CATEGORIES}

# Measures a grid can be coloured by: key -> (label, unit of the legend).
MEASURES: dict[str, tuple[str, str]] = {
    "open_per_100": ("Open cases per 100 households", "per 100 hh"),
    "overdue_cases": ("Overdue cases", "cases"),
    "households": ("Households", "households"),
    "open_cases": ("Open cases", "cases"),
    "coverage": ("Patrol coverage (share of households visited)", "%"),
}

# Patrol coverage per grid: (conn, grid codes) -> {grid code: share 0..1}, from the patrol
# module (households with a fix within 30 m in the last 7 days). Set to None to hide the measure.
CoverageProvider = Callable[[Connection, list[str]], dict[str, float]]
coverage_provider: CoverageProvider | None = household_visit_share

MAX_REPORTS = 5000
MAX_HOUSEHOLDS = 20000
STAFF_MAX_AGE_H = 24
# A grid's own properties in the measured grids layer, as the statement names them.
GRID_COLUMNS = ("code", "name", "village_code", "village_name", "generation", "generation_id")


def available_measures() -> list[str]:
    """The measures this installation can colour grids by (coverage only with patrol data)."""
    return [m for m in MEASURES if m != "coverage" or coverage_provider is not None]


def check_measure(measure: str) -> str:
    """The measure key, or InvalidCoordinate naming the accepted ones."""
    if measure not in available_measures():
        hint = (
            " (patrol coverage needs the patrol module, which is not installed yet)"
            if measure == "coverage"
            else ""
        )
        raise InvalidCoordinate(f"measure={measure!r} is not one of {available_measures()}{hint}")
    return measure


def tolerance_for_zoom(zoom: int | None) -> float:
    """Half a screen pixel in degrees at a web-map zoom (0 = no simplification)."""
    if zoom is None:
        return 0.0
    if not 0 <= zoom <= 22:
        raise InvalidCoordinate(f"zoom={zoom} must be between 0 and 22")
    return 360.0 / (256 * 2**zoom) / 2


def unit_outline(conn: Connection, unit: str) -> dict[str, Any]:
    """A unit's polygon as a GeoJSON Feature with its code, name, level and bbox."""
    u = get_unit(conn, unit, geometry=True)
    geom = u.pop("geometry")
    if geom is None:
        raise NotFound(f"unit {u['code']} ({u['name']}) has no boundary loaded")
    return {"type": "Feature", "id": u["code"], "geometry": geom, "properties": u}


def generations(conn: Connection, unit: str) -> list[dict[str, Any]]:
    """The grid generations of the unit's county, newest first; `current` marks the live one."""
    county = unit_prefix(unit)[:6]
    rows = sql.execute(conn, "mapdata/generations", county=county).mappings()
    return [
        {
            "id": r["id"],
            "name": r["name"],
            "valid_from": r["valid_from"].isoformat(),
            "valid_to": r["valid_to"].isoformat() if r["valid_to"] else None,
            "current": r["valid_to"] is None,
            "grids": r["grids"],
            "description": r["description"],
        }
        for r in rows
    ]


def current_generation(conn: Connection, unit: str) -> int:
    """The id of the unit's county's current generation."""
    for g in generations(conn, unit):
        if g["current"]:
            return int(g["id"])
    raise NotFound(f"unit {unit} has no current grid generation; load or draw grids first")


def _where(unit: str | None, grid: str | None) -> tuple[str, str | None]:
    """(code prefix, grid code or None) of a layer asked for a unit or one grid."""
    if not unit and not grid:
        raise InvalidCode(
            f"unit={unit!r}: give unit= (a 6-digit county, 9-digit town or 12-digit village "
            "code) or grid= (15 digits)"
        )
    if grid:
        gcode = grid_code(grid)
        return (unit_prefix(unit) if unit else gcode[:12]), gcode
    return unit_prefix(unit or ""), None


def _area(
    unit: str | None, grid: str | None, bbox: tuple[float, float, float, float] | None
) -> dict[str, Any]:
    """The bound parameters of the area a layer is asked for: a unit or one grid, and a bbox."""
    prefix, gcode = _where(unit, grid)
    minx, miny, maxx, maxy = bbox if bbox else (None, None, None, None)
    return {"prefix": prefix, "grid": gcode, "minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}


class CoverageCache:
    """Patrol coverage per set of grids, kept `ttl_s` seconds (a thread-safe, bounded map).

    Coverage is a seven-day measure that costs a county about a third of a second of the
    database and a tenth of the worker's CPU (every household against every fix near it): as
    the wall's poll it was three quarters of what the whole request mix cost (issue 13).
    Counted once a minute it is still the same figure to anyone looking. While one request
    counts it again the others are given the last count; only the very first waits for it.
    """

    def __init__(self, ttl_s: float = 60.0, max_entries: int = 64) -> None:
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._entries: dict[tuple[str, ...], tuple[float, dict[str, float]]] = {}
        self._counting: dict[tuple[str, ...], threading.Event] = {}
        self._lock = threading.Lock()
        self.counted = 0  # how often it was counted (for tests)

    def get(
        self, codes: list[str], count: Callable[[list[str]], dict[str, float]]
    ) -> dict[str, float]:
        """Coverage of `codes` from the cache, or `count(codes)` when older than ttl_s."""
        key = tuple(codes)
        while True:
            with self._lock:
                hit = self._entries.get(key)
                if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
                    return hit[1]
                counting = self._counting.get(key)
                if counting is None:
                    counting = self._counting[key] = threading.Event()
                    break
                if hit is not None:
                    return hit[1]  # being counted again by another request: the last count
            counting.wait(30)  # the first count of these grids: wait for it, then read it
        try:
            shares = count(codes)
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.pop(min(self._entries, key=lambda k: self._entries[k][0]))
                self._entries[key] = (time.monotonic(), shares)
                self.counted += 1
            return shares
        finally:
            with self._lock:
                self._counting.pop(key, None)
            counting.set()


def grid_measures(
    conn: Connection,
    unit: str | None = None,
    *,
    grid: str | None = None,
    generation: int | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    zoom: int | None = None,
    geometry: bool = True,
    with_coverage: bool = True,
    coverage_cache: CoverageCache | None = None,
) -> dict[str, Any]:
    """Grids of a unit (or one grid) with households, open/overdue cases and open per 100 hh.

    `with_coverage=False` leaves out patrol coverage (seconds for a county), for pages that
    show it only when asked; with `coverage_cache` it is counted at most once per its ttl_s
    (households and cases are always counted now).
    """
    area = _area(unit, grid, bbox)
    rows = sql.rows(
        conn,
        "mapdata/map_grids",
        generation=generation,
        tolerance=tolerance_for_zoom(zoom),
        geometry=geometry,
        **area,
    )
    if not rows and area["grid"]:
        raise NotFound(f"no grid has code {area['grid']} in the current generation")
    coverage: dict[str, float] = {}
    if with_coverage and coverage_provider is not None and rows:
        provider = coverage_provider
        codes = [r["code"] for r in rows]
        coverage = (
            coverage_cache.get(codes, lambda c: provider(conn, c))
            if coverage_cache is not None
            else provider(conn, codes)
        )
    features = []
    for r in rows:
        hh = int(r["households"])
        features.append(
            row_feature(
                r,
                "code",
                GRID_COLUMNS,
                generated=r["geom_generated"],
                households=hh,
                open_cases=int(r["open_cases"]),
                overdue_cases=int(r["overdue_cases"]),
                open_per_100=round(100 * int(r["open_cases"]) / hh, 2) if hh else 0.0,
                coverage=coverage.get(r["code"]),
            )
        )
    return {"type": "FeatureCollection", "numberReturned": len(features), "features": features}


def grid_measures_json(conn: Connection, unit: str, **kw: Any) -> bytes:
    """`grid_measures` as a poll sends it (compact UTF-8 JSON), counted off the event loop."""
    return to_json(grid_measures(conn, unit, **kw))


def balance(fc: dict[str, Any]) -> dict[str, Any]:
    """Households per grid: mean, spread, and each grid's ratio to the mean (planner colouring)."""
    counts = [f["properties"]["households"] for f in fc["features"]]
    if not counts:
        return {"grids": 0, "mean": 0.0, "min": 0, "max": 0, "cv": 0.0}
    mean = sum(counts) / len(counts)
    sd = math.sqrt(sum((c - mean) ** 2 for c in counts) / len(counts))
    for f in fc["features"]:
        f["properties"]["balance"] = round(f["properties"]["households"] / mean, 3) if mean else 0
    return {
        "grids": len(counts),
        "mean": round(mean, 1),
        "min": min(counts),
        "max": max(counts),
        "cv": round(sd / mean, 3) if mean else 0.0,
    }


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t else None


def open_reports(
    conn: Connection,
    unit: str | None = None,
    *,
    grid: str | None = None,
    overdue_only: bool = False,
    limit: int = MAX_REPORTS,
) -> dict[str, Any]:
    """Open reports of a unit or grid as GeoJSON points, newest first (overdue: latest first)."""
    # The same statement as the poll's path, so the two cannot drift apart.
    row = sql.first(
        conn, "mapdata/map_reports_geojson", **_reports_params(unit, grid, overdue_only, limit)
    )
    assert row is not None  # an aggregate: always one row
    fc: dict[str, Any] = json.loads(row["geojson"])
    return fc


def _reports_params(
    unit: str | None, grid: str | None, overdue_only: bool, limit: int
) -> dict[str, Any]:
    """The bound parameters of mapdata/map_reports_geojson, the limit checked first."""
    if not 1 <= limit <= MAX_REPORTS:
        raise InvalidCoordinate(f"limit={limit} must be between 1 and {MAX_REPORTS}")
    prefix, gcode = _where(unit, grid)
    return {
        "prefix": prefix,
        "grid": gcode,
        "overdue_only": overdue_only,
        "limit": limit,
        "cat_codes": list(CATEGORY_NAMES),
        "cat_names": [n for n, _ in CATEGORY_NAMES.values()],
        "cat_zh": [z for _, z in CATEGORY_NAMES.values()],
    }


async def open_reports_geojson(
    aconn: AsyncConnection[Any],
    unit: str | None = None,
    *,
    grid: str | None = None,
    overdue_only: bool = False,
    limit: int = MAX_REPORTS,
) -> bytes:
    """`open_reports` as GeoJSON text built by the database in one round trip (the poll's path:
    no Python object per report); the same features, properties and order."""
    row = await sql.afirst(
        aconn, "mapdata/map_reports_geojson", **_reports_params(unit, grid, overdue_only, limit)
    )
    assert row is not None  # an aggregate: always one row
    return str(row["geojson"]).encode()


def staff_feature(r: Any) -> dict[str, Any]:
    """A staff member's last fix (a `mapdata/map_staff` row) as a point Feature."""
    return {
        "type": "Feature",
        "id": r["staff_id"],
        # 6 decimals: about 0.1 m, finer than any phone's fix.
        "geometry": {"type": "Point", "coordinates": [round(r["lon"], 6), round(r["lat"], 6)]},
        "properties": {
            "staff_id": r["staff_id"],
            "name": r["name"],
            "role": r["role"],
            "generated": r["generated"],
            "grid_code": r["grid_code"],
            "fixed_at": _iso(r["fixed_at"]),
            "age_s": round(r["age_s"]),
            "accuracy_m": r["accuracy_m"],
        },
    }


def staff_positions(
    conn: Connection, unit: str, max_age_h: int = STAFF_MAX_AGE_H
) -> dict[str, Any]:
    """Each staff member's last fix in the last `max_age_h` hours, with its age in seconds."""
    if not 1 <= max_age_h <= 24 * 30:
        raise InvalidCoordinate(f"max_age_h={max_age_h} must be between 1 and 720")
    rows = sql.rows(
        conn, "mapdata/map_staff", prefix=unit_prefix(unit), max_age_h=max_age_h, after=None
    )
    features = [staff_feature(r) for r in rows]
    note = (
        None
        if features
        else f"no staff position in the last {max_age_h} h (no patrol fixes recorded yet)"
    )
    return {"type": "FeatureCollection", "features": features, "note": note}


def staff_positions_json(conn: Connection, unit: str, max_age_h: int = STAFF_MAX_AGE_H) -> bytes:
    """`staff_positions` as a poll sends it (compact UTF-8 JSON)."""
    return to_json(staff_positions(conn, unit, max_age_h))


def ranking(conn: Connection, unit: str) -> list[dict[str, Any]]:
    """Child units ranked worst first: overdue cases, then open cases per 100 households.

    Each row also carries its last 30 days' closure and on-time closure rates (gisgrid.scores).
    """
    u = get_unit(conn, unit)
    if u["level"] == "village":
        fc = grid_measures(conn, unit)
        rows = [
            {
                "code": f["properties"]["code"],
                "name": f["properties"]["name"],
                "households": f["properties"]["households"],
                "open_cases": f["properties"]["open_cases"],
                "overdue_cases": f["properties"]["overdue_cases"],
            }
            for f in fc["features"]
        ]
    else:
        rows = [
            dict(r) for r in sql.execute(conn, "mapdata/map_ranking", code=u["code"]).mappings()
        ]
    start, end = reports.period(None, None)
    month = reports.closure_scores(
        conn, [(r["code"], reports.code_prefix(r["code"])) for r in rows], start, end
    )
    for r in rows:
        hh = r["households"]
        r["open_per_100"] = round(100 * r["open_cases"] / hh, 2) if hh else 0.0
        m = month[r["code"]]
        r["due_30d"] = m["due"]
        r["closure_rate_30d"] = m["closure_rate"]
        r["on_time_rate_30d"] = m["on_time_rate"]
    rows.sort(key=lambda r: (-r["overdue_cases"], -r["open_per_100"], r["code"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


def households(
    conn: Connection,
    *,
    grid: str | None = None,
    unit: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int = MAX_HOUSEHOLDS,
) -> dict[str, Any]:
    """Household points of a grid or unit (no personal fields), optionally inside a bbox."""
    if not 1 <= limit <= MAX_HOUSEHOLDS:
        raise InvalidCoordinate(f"limit={limit} must be between 1 and {MAX_HOUSEHOLDS}")
    rows = sql.rows(conn, "mapdata/map_households", limit=limit + 1, **_area(unit, grid, bbox))
    truncated = len(rows) > limit
    # Short keys: a worker's phone downloads this on a weak link.
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(r["lon"], 6), round(r["lat"], 6)]},
            "properties": {
                "id": r["id"],
                "a": r["address"],
                "n": r["size"],
                "c": r["care_tags"] or [],
            },
        }
        for r in rows[:limit]
    ]
    return {"type": "FeatureCollection", "truncated": truncated, "features": features}


def basemap_offset(lon: float, lat: float, datum: str) -> tuple[float, float]:
    """(dlon, dlat) that a basemap in `datum` is shifted by at a point, to undo on the page."""
    if datum == "wgs84":
        return 0.0, 0.0
    if datum == "gcj02":
        glon, glat = wgs84_to_gcj02(lon, lat)
        return float(glon) - lon, float(glat) - lat
    raise InvalidCoordinate(f"basemap datum={datum!r} must be 'wgs84' or 'gcj02'")
