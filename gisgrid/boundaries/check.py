"""Validating an import: every problem, with its feature and what to do about it. Writes nothing."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.boundaries import crs as crsmod
from gisgrid.boundaries.read import RawBoundaries
from gisgrid.divisions import LEVELS
from gisgrid.errors import InvalidCode

CODE_LENGTH = {"county": (6, 12), "town": (9, 12), "village": (12,), "grid": (15,)}
PARENT_LEVEL = {"grid": "village", "village": "town", "town": "county", "county": None}


@dataclass(frozen=True)
class Tolerances:
    """How much disagreement is noise rather than a problem (planners' files are never exact)."""

    inside_m2: float = 10.0  # area of a feature allowed outside its parent
    overlap_m2: float = 1.0  # overlap between two features
    gap_m2: float = 1.0  # hole inside a parent not covered by its children
    sliver_m2: float = 100.0  # a feature smaller than this is a sliver
    sliver_thinness: float = 0.05  # 4*pi*area/perimeter^2 below this is a sliver (circle = 1)
    # Gaps, overlaps and overhangs narrower than this everywhere are digitising noise (a datum
    # round trip or a 7-decimal file moves edges by ~1 cm), not a planner's mistake.
    snap_m: float = 1.0


@dataclass
class ImportPlan:
    """A checked import: the features in WGS84, the problems found, and the report."""

    level: str
    county_code: str | None
    source: dict[str, Any]
    codes: np.ndarray
    names: np.ndarray
    geoms: np.ndarray  # WGS84 MultiPolygons (repaired where asked), None where unusable
    problems: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        """How many problems block a commit."""
        return sum(p["severity"] == "error" for p in self.problems)

    def report(self, committed: bool = False) -> dict[str, Any]:
        """The report a planner reads: every problem, by feature, with counts."""
        kinds = Counter(p["problem"] for p in self.problems)
        return {
            "level": self.level,
            "county": self.county_code,
            "source": self.source,
            "features": len(self.codes),
            "errors": self.errors,
            "warnings": len(self.problems) - self.errors,
            "committable": self.errors == 0,
            "committed": committed,
            "problem_counts": dict(sorted(kinds.items())),
            "problems": self.problems,
            **self.stats,
        }

    def add(self, problem: str, severity: str, message: str, fix: str, **extra: Any) -> None:
        """Record one problem."""
        self.problems.append(
            {"problem": problem, "severity": severity, "message": message, "fix": fix, **extra}
        )

    def feature(self, i: int) -> dict[str, Any]:
        """How a report names feature i: its row, code and name."""
        return {"index": int(i), "code": str(self.codes[i]), "name": str(self.names[i])}


def _thinness(geoms: np.ndarray) -> np.ndarray:
    perim = shapely.length(geoms)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(perim > 0, 4 * np.pi * shapely.area(geoms) / perim**2, 0.0)


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a geometry (what make_valid keeps for a boundary), as MultiPolygon."""
    parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(polys) if polys else shapely.MultiPolygon()


def _lonlat(g: shapely.Geometry) -> list[float]:
    p = shapely.point_on_surface(g)
    return [round(p.x, 6), round(p.y, 6)]


def plan_import(
    conn: Connection,
    raw: RawBoundaries,
    level: str,
    *,
    crs: str | None = None,
    repair: bool = False,
    tolerances: Tolerances | None = None,
) -> ImportPlan:
    """Check a file for every problem the issue names; write nothing (reads admin_unit only)."""
    if level not in LEVELS:
        raise InvalidCode(f"level={level!r} must be one of {', '.join(LEVELS)}")
    tol = tolerances or Tolerances()
    n = len(raw.codes)
    codes = np.asarray(raw.codes, dtype=object)
    plan = ImportPlan(
        level=level,
        county_code=None,
        source={"name": raw.source_name, "sha256": raw.sha256, "format": raw.format},
        codes=codes,
        names=np.asarray(raw.names, dtype=object),
        geoms=np.full(n, None, dtype=object),
    )
    county = _county_of(conn, codes, level)
    plan.county_code = county["code"] if county else None
    _check_codes(conn, plan, raw, level, county)
    _check_names(plan)
    src = _source_crs(plan, raw, crs, county)
    if src is None:
        return plan
    plan.source["crs"] = src.label
    geoms = _check_shapes(plan, raw, src, repair)
    if county is not None:
        _check_crs_fits(plan, src, geoms, county)
    usable = ~shapely.is_missing(geoms)
    plan.geoms = geoms
    if county is None or county.get("missing") or not usable.any():
        return plan
    lon = county["lon"]
    gm = np.full(n, None, dtype=object)
    gm[usable] = crsmod.metric(geoms[usable], lon)
    _check_slivers(plan, gm, usable, tol)
    _check_overlaps(plan, gm, usable, tol)
    if PARENT_LEVEL[level]:
        _check_parents(conn, plan, gm, usable, level, county, tol)
    area = float(shapely.area(gm[usable]).sum())
    plan.stats["area_km2"] = round(area / 1e6, 3)
    return plan


def _county_of(conn: Connection, codes: np.ndarray, level: str) -> dict[str, Any] | None:
    """The loaded county most codes belong to, with its centre, or None."""
    prefixes = Counter(str(c)[:6] for c in codes if len(str(c)) >= 6 and str(c).isdigit())
    if not prefixes:
        return None
    prefix = prefixes.most_common(1)[0][0]
    row = sql.first(conn, "boundaries/county_extent", c=prefix + "000000")
    if row is None:
        return {"code": prefix + "000000", "missing": True} if level != "county" else None
    return dict(row)


def _check_codes(
    conn: Connection,
    plan: ImportPlan,
    raw: RawBoundaries,
    level: str,
    county: dict[str, Any] | None,
) -> None:
    codes = plan.codes
    if county and county.get("missing"):
        plan.add(
            "county_not_loaded",
            "error",
            f"county {county['code']} (from the codes' first 6 digits) is not in the database",
            "load the county first (boundaries import ... --level county), or fix the codes",
            county=str(county["code"]),
        )
    lengths = CODE_LENGTH[level]
    for i, c in enumerate(codes):
        c = str(c)
        if not c:
            plan.add(
                "missing_code",
                "error",
                f"feature #{i} has no code",
                f"give every {level} its {'/'.join(map(str, lengths))}-digit code",
                feature=plan.feature(i),
            )
        elif not c.isdigit() or len(c) not in lengths:
            plan.add(
                "bad_code",
                "error",
                f"code {c!r} is not a {'/'.join(map(str, lengths))}-digit {level} code",
                "use the statistical division code (12 digits) or, for grids, village code + 3",
                feature=plan.feature(i),
            )
    counts = Counter(str(c) for c in codes if c)
    for c, k in sorted(counts.items()):
        if k > 1:
            rows = [int(i) for i in np.flatnonzero(codes == c)]
            plan.add(
                "duplicate_code",
                "error",
                f"code {c} is used by {k} features (rows {rows})",
                "give each feature its own code, or merge the features if they are one area",
                features=[plan.feature(i) for i in rows],
            )
    if county and county.get("missing"):
        return
    parent_level = PARENT_LEVEL[level]
    if parent_level is None:
        return
    expected = np.array([_parent_code(str(c), level) for c in codes], dtype=object)
    if raw.parents is not None:
        for i in map(int, np.flatnonzero((raw.parents != "") & (raw.parents != expected))):
            plan.add(
                "code_not_under_parent",
                "error",
                f"code {codes[i]} does not extend its parent's code {raw.parents[i]} "
                f"({level} codes start with their {parent_level}'s code)",
                f"renumber the {level} under {raw.parents[i]}, or correct its parent",
                feature=plan.feature(int(i)),
                parent=str(raw.parents[i]),
            )
    known = set(
        sql.execute(
            conn, "boundaries/known_parents", l=parent_level, c=sorted({e for e in expected if e})
        ).scalars()
    )
    for i in range(len(codes)):
        if expected[i] and expected[i] not in known:
            plan.add(
                "unknown_parent",
                "error",
                f"code {codes[i]} extends {expected[i]}, which is not a {parent_level} in the "
                "database",
                f"check the code; the {parent_level}s are listed at /api/v1/units/<code>/children",
                feature=plan.feature(i),
                parent=str(expected[i]),
            )


# Names end up on pages (tooltips, lists, pop-ups): they are escaped there, and a name that is
# markup or carries control characters is a mistake or an attack in the file, so it is refused.
_MARKUP = re.compile(r"[<>]|&#?\w+;|[\x00-\x1f\x7f]")
MAX_NAME = 100


def _check_names(plan: ImportPlan) -> None:
    for i, name in enumerate(plan.names):
        text_ = "" if name is None else str(name)
        found = _MARKUP.search(text_)
        if found:
            plan.add(
                "name_has_markup",
                "error",
                f"feature #{i} ({plan.codes[i]}) has the name {text_[:80]!r}, which holds "
                f"{found.group()!r}: names are plain text",
                "remove angle brackets, character references and control characters",
                feature=plan.feature(i),
            )
        elif len(text_) > MAX_NAME:
            plan.add(
                "name_too_long",
                "error",
                f"feature #{i} ({plan.codes[i]}) has a name of {len(text_)} characters",
                f"shorten it to {MAX_NAME} characters at most",
                feature=plan.feature(i),
            )


def _parent_code(code: str, level: str) -> str:
    if not code.isdigit():
        return ""
    if level == "grid" and len(code) == 15:
        return code[:12]
    if level == "village" and len(code) == 12:
        return code[:9] + "000"
    if level == "town" and len(code) in (9, 12):
        return code[:6] + "000000"
    return ""


def _source_crs(
    plan: ImportPlan, raw: RawBoundaries, crs: str | None, county: dict[str, Any] | None
) -> crsmod.SourceCrs | None:
    declared = crsmod.from_file_crs(raw.crs)
    given = crsmod.parse_crs(crs) if crs else None
    plan.source["crs_declared"] = declared.label if declared else None
    if given and declared:
        same_lonlat = {given.epsg, declared.epsg} <= {4326, 4490}
        if given.epsg != declared.epsg and not same_lonlat:
            plan.add(
                "crs_conflict",
                "error",
                f"the file declares {declared.label} but crs={crs!r} was given",
                "drop --crs to use the file's CRS, or fix the file's .prj / CRS",
            )
        return given
    if given or declared:
        return given or declared
    valid = [g for g in raw.geoms if g is not None and not shapely.is_empty(g)]
    if not valid:
        return crsmod.SourceCrs(4326)
    bounds = shapely.total_bounds(np.array(valid, dtype=object))
    verdict, advice = crsmod.guess_from_coordinates(bounds, county.get("lon") if county else None)
    if verdict == "ok":
        plan.add(
            "crs_assumed",
            "warning",
            "the file declares no CRS; its coordinates look like lon/lat, so EPSG:4326 is assumed",
            "pass --crs (e.g. gcj02 if the file was traced on a Gaode/Tencent map)",
        )
        return crsmod.SourceCrs(4326)
    plan.add("crs_missing", "error", advice, "pass --crs with the file's coordinate system")
    return None


def _check_shapes(
    plan: ImportPlan, raw: RawBoundaries, src: crsmod.SourceCrs, repair: bool
) -> np.ndarray:
    """Empty, wrong type, out of range, swapped, invalid; returns WGS84 MultiPolygons or None."""
    n = len(raw.codes)
    geoms = np.asarray(raw.geoms, dtype=object).copy()
    for i, why in raw.unreadable.items():
        plan.add("unreadable_geometry", "error", why, "fix the WKT", feature=plan.feature(i))
    missing = shapely.is_missing(geoms)
    empty = missing.copy()
    empty[~missing] = shapely.is_empty(geoms[~missing])
    for i in map(int, np.flatnonzero(empty)):
        if int(i) not in raw.unreadable:
            plan.add(
                "empty_geometry",
                "error",
                f"feature {plan.codes[i] or '#' + str(i)} has no geometry",
                "draw its boundary or remove the feature",
                feature=plan.feature(int(i)),
            )
    types = np.full(n, -1)
    types[~empty] = shapely.get_type_id(geoms[~empty])
    wrong = ~empty & ~np.isin(types, (3, 6))
    for i in map(int, np.flatnonzero(wrong)):
        plan.add(
            "wrong_geometry_type",
            "error",
            f"feature {plan.codes[i]} is a {geoms[i].geom_type}, not a Polygon or MultiPolygon",
            "export boundaries as polygons (close the lines into rings)",
            feature=plan.feature(int(i)),
            geometry_type=geoms[i].geom_type,
        )
    ok = ~empty & ~wrong
    if not src.projected:
        ok &= ~_check_ranges(plan, geoms, ok, repair)
    out = np.full(n, None, dtype=object)
    if ok.any():
        out[ok] = crsmod.to_wgs84(geoms[ok], src)
    _check_validity(plan, out, ok, repair)
    return out


def _check_ranges(plan: ImportPlan, geoms: np.ndarray, ok: np.ndarray, repair: bool) -> np.ndarray:
    """Flag lon/lat outside the globe; swap them back under repair. Returns rows still unusable."""
    bad = np.zeros(len(geoms), dtype=bool)
    idx = np.flatnonzero(ok)
    b = shapely.bounds(geoms[idx])
    lon_ok = (b[:, 0] >= -180) & (b[:, 2] <= 180)
    lat_ok = (b[:, 1] >= -90) & (b[:, 3] <= 90)
    swapped_ok = (b[:, 1] >= -180) & (b[:, 3] <= 180) & (b[:, 0] >= -90) & (b[:, 2] <= 90)
    for k in map(int, np.flatnonzero(~(lon_ok & lat_ok))):
        i = int(idx[k])
        if swapped_ok[k]:
            plan.add(
                "coordinates_swapped",
                "warning" if repair else "error",
                f"feature {plan.codes[i]} has lat up to {b[k, 3]:.6g} and lon {b[k, 0]:.6g}: "
                "lon and lat are apparently swapped",
                "swap x and y for this feature (done: --repair)"
                if repair
                else "swap x and y, or re-run with --repair to swap them",
                feature=plan.feature(i),
                repaired=repair,
            )
            if repair:
                geoms[i] = shapely.transform(geoms[i], lambda xy: xy[:, ::-1])
            else:
                bad[i] = True
        else:
            plan.add(
                "coordinates_out_of_range",
                "error",
                f"feature {plan.codes[i]} has coordinates x {b[k, 0]:.6g}..{b[k, 2]:.6g}, "
                f"y {b[k, 1]:.6g}..{b[k, 3]:.6g}, outside lon [-180, 180] / lat [-90, 90]",
                "the file is probably projected: pass --crs with its EPSG code",
                feature=plan.feature(i),
            )
            bad[i] = True
    return bad


def _check_validity(plan: ImportPlan, out: np.ndarray, ok: np.ndarray, repair: bool) -> None:
    idx = np.flatnonzero(ok)
    if not len(idx):
        return
    valid = shapely.is_valid(out[idx])
    for k in map(int, np.flatnonzero(~valid)):
        i = int(idx[k])
        reason = shapely.is_valid_reason(out[i])
        fixed = _polygonal(shapely.make_valid(out[i]))
        lon = _lonlat(fixed if not fixed.is_empty else out[i].envelope)[0]
        before, after = shapely.area(crsmod.metric(np.array([out[i], fixed]), lon))
        plan.add(
            "invalid_geometry",
            "warning" if repair else "error",
            f"feature {plan.codes[i]} is not a valid polygon: {reason}",
            f"repair with make_valid (done: --repair): area as drawn {before:,.0f} m2 -> "
            f"{after:,.0f} m2 after repair"
            if repair
            else "re-run with --repair to apply the proposed repair, or fix it in the editor",
            feature=plan.feature(i),
            area_as_drawn_m2=round(float(before), 1),
            area_repaired_m2=round(float(after), 1),
            area_change_m2=round(float(after - before), 1),
            location=_lonlat(out[i].envelope),
            repaired=repair,
        )
        out[i] = fixed if repair and not fixed.is_empty else None
    good = np.flatnonzero(~shapely.is_missing(out))
    single = shapely.get_type_id(out[good]) == 3
    for i in good[single]:
        out[i] = shapely.MultiPolygon([out[i]])


def _check_crs_fits(
    plan: ImportPlan, src: crsmod.SourceCrs, geoms: np.ndarray, county: dict[str, Any]
) -> None:
    if county.get("missing"):
        return
    if src.projected and src.epsg is not None:
        cm = crsmod.central_meridian(src.epsg)
        half = crsmod.zone_half_width(src.epsg)
        if cm is not None and abs(county["lon"] - cm) > half + 0.5:
            plan.add(
                "crs_does_not_fit_county",
                "error",
                f"{src.label} is a Gauss-Kruger zone centred on {cm:g}E but {county['name']} is at "
                f"{county['lon']:.2f}E, {abs(county['lon'] - cm):.1f} degrees away",
                f"check the file's CRS; the 3-degree zone for this county is "
                f"EPSG:{crsmod.gk_zone_for(county['lon'])}",
            )
    usable = np.flatnonzero(~shapely.is_missing(geoms))
    if not len(usable):
        return
    margin = 0.05  # degrees (~5 km): a feature this far outside is not a drawing error
    env = shapely.box(
        county["minx"] - margin,
        county["miny"] - margin,
        county["maxx"] + margin,
        county["maxy"] + margin,
    )
    outside = usable[~shapely.intersects(geoms[usable], env)]
    if len(outside):
        where = shapely.centroid(geoms[outside[0]])
        plan.add(
            "outside_county",
            "error",
            f"{len(outside)} of {len(usable)} features lie outside {county['name']} "
            f"(the first, {plan.codes[outside[0]]}, at {where.x:.5f}, {where.y:.5f}); "
            f"read as {src.label}",
            "check --crs: a wrong zone or datum moves features away from the county",
            features=[plan.feature(int(i)) for i in outside[:50]],
        )


def _check_slivers(plan: ImportPlan, gm: np.ndarray, usable: np.ndarray, tol: Tolerances) -> None:
    idx = np.flatnonzero(usable)
    area = shapely.area(gm[idx])
    thin = _thinness(gm[idx])
    for k in map(int, np.flatnonzero((area < tol.sliver_m2) | (thin < tol.sliver_thinness))):
        i = int(idx[k])
        plan.add(
            "sliver",
            "warning",
            f"feature {plan.codes[i]} is a sliver: {area[k]:,.1f} m2, thinness {thin[k]:.3f} "
            f"(a circle is 1; below {tol.sliver_thinness} or {tol.sliver_m2} m2 is a sliver)",
            "merge it into a neighbour unless it is a real, narrow area",
            feature=plan.feature(i),
            area_m2=round(float(area[k]), 1),
            thinness=round(float(thin[k]), 4),
        )


def _check_overlaps(plan: ImportPlan, gm: np.ndarray, usable: np.ndarray, tol: Tolerances) -> None:
    idx = np.flatnonzero(usable)
    geoms = gm[idx]
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if not len(a):
        return
    inter = shapely.intersection(geoms[a], geoms[b])
    area = shapely.area(inter)
    wide = ~shapely.is_empty(shapely.buffer(inter, -tol.snap_m / 2))
    for k in map(int, np.flatnonzero((area > tol.overlap_m2) & wide)):
        i, j = int(idx[a[k]]), int(idx[b[k]])
        plan.add(
            "overlap",
            "error",
            f"features {plan.codes[i]} and {plan.codes[j]} overlap by {area[k]:,.1f} m2",
            "move the shared boundary so the area belongs to one of them",
            features=[plan.feature(i), plan.feature(j)],
            area_m2=round(float(area[k]), 1),
            location=_lonlat(plan.geoms[i].intersection(plan.geoms[j])),
        )


def _check_parents(
    conn: Connection,
    plan: ImportPlan,
    gm: np.ndarray,
    usable: np.ndarray,
    level: str,
    county: dict[str, Any],
    tol: Tolerances,
) -> None:
    """Inside the parent (within tolerance), and the parent wholly covered by its children."""
    parent_level = PARENT_LEVEL[level]
    rows = sql.execute(
        conn, "boundaries/parent_units", l=parent_level, p=county["code"][:6] + "%"
    ).all()
    if not rows:
        return
    pcodes = np.array([r.code for r in rows], dtype=object)
    pnames = {r.code: r.name for r in rows}
    pgeoms = crsmod.metric(shapely.from_wkb([r.wkb for r in rows]), county["lon"])
    pos = {c: k for k, c in enumerate(pcodes)}
    parent_of = np.array([_parent_code(str(c), level) for c in plan.codes], dtype=object)
    has_parent = usable & np.array([p in pos for p in parent_of])
    idx = np.flatnonzero(has_parent)
    if len(idx):
        parents = pgeoms[[pos[p] for p in parent_of[idx]]]
        snapped = shapely.buffer(parents, tol.snap_m)
        outside = shapely.area(shapely.difference(gm[idx], snapped))
        share = outside / np.maximum(shapely.area(gm[idx]), 1e-9)
        for k in map(int, np.flatnonzero(outside > tol.inside_m2)):
            i = int(idx[k])
            plan.add(
                "not_inside_parent",
                "error",
                f"{level} {plan.codes[i]} reaches {outside[k]:,.0f} m2 ({share[k]:.1%}) "
                f"outside its "
                f"{parent_level} {parent_of[i]} {pnames[parent_of[i]]} (tolerance "
                f"{tol.inside_m2:g} m2)",
                f"clip it to the {parent_level} boundary, or move it to the {parent_level} "
                "it is in",
                feature=plan.feature(i),
                parent=str(parent_of[i]),
                area_outside_m2=round(float(outside[k]), 1),
                share_outside=round(float(share[k]), 4),
            )
    gaps = 0
    for code, k in pos.items():
        members = idx[parent_of[idx] == code]
        if not len(members):
            plan.add(
                "gap",
                "error",
                f"{parent_level} {code} {pnames[code]} has no {level} in the file "
                f"({shapely.area(pgeoms[k]):,.0f} m2 uncovered)",
                f"draw the {level}s of {pnames[code]}: every {parent_level} must be fully covered",
                parent=code,
                area_m2=round(float(shapely.area(pgeoms[k])), 1),
            )
            gaps += 1
            continue
        hole = shapely.difference(pgeoms[k], shapely.union_all(gm[members]))
        pieces = shapely.get_parts(hole)
        areas = shapely.area(pieces)
        thin = _thinness(pieces)
        for piece, area, t in zip(pieces, areas, thin, strict=True):
            if area <= tol.gap_m2 or shapely.buffer(piece, -tol.snap_m / 2).is_empty:
                continue
            sliver = bool(t < tol.sliver_thinness)
            near = members[shapely.distance(gm[members], piece) < 1.0]
            plan.add(
                "gap",
                "error",
                f"{'sliver ' if sliver else ''}gap of {area:,.1f} m2 inside {parent_level} {code} "
                f"{pnames[code]} not covered by any {level} (next to "
                f"{', '.join(str(plan.codes[j]) for j in near[:4]) or 'none'})",
                f"extend a neighbouring {level} over it, or draw a {level} there",
                parent=code,
                area_m2=round(float(area), 1),
                sliver=sliver,
                features=[plan.feature(int(j)) for j in near[:4]],
                location=_lonlat(crsmod.from_metric(piece, county["lon"])),
            )
            gaps += 1
    plan.stats["parents_checked"] = len(pos)
