"""A GENERATED province (合成省): many counties at realistic density, for scale tests and benches.

Nothing here is real. The province takes the code 90, which no province has (GB/T 2260 runs
11-82), so every code in it says it is generated: counties 90PPCC, towns and villages under them
by the usual 3+3 digits, grids by 3 more. Names are labels ("合成001县", "第2镇", "第2-7村").
It is drawn over open country in the south of Henan (lon 112-117, lat 32-36), where no demo
county lies, so the province and the demo counties can share a database.

Each county is a cell of about 1,800 km² (China's counties run ~1,000-3,000 km² in the east),
laid in brick rows whose borders follow meridians and parallels (see plan_province), with
~150,000 households (lognormal, sigma 0.35; Deqing has 132,258), one grid per ~150 households,
~4.5 grids a village and ~14 villages a town (Deqing: 900 grids, 193 villages, 13 towns).
Inside a county the demo county's generator does the rest, unchanged: nested Voronoi towns,
villages and grids (gisgrid.demo.tessellate), clustered households, a chief and workers per
grid, household leaders, departments, a month of cases round the loop and, with roads
generated over the households, a patrol day (gisgrid.demo.patrol_day). `scale` shrinks
every count (households, grids, villages, towns) for tests: 0.01 is a ~1,500-household county.

Two outputs, one geometry for a seed: PostGIS (every table, by COPY, a transaction per county,
the dataset row saying GENERATED) and GeoParquet for the bulk benchmarks (points of households
and a year of reports, grids), which holds millions of points without PostGIS having to.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from sqlalchemy import Engine

from gisgrid.demo.county import (
    GENERATED_PROVINCE,
    CountyDraw,
    CountyProfile,
    Division,
    draw_county,
    is_loaded,
    unload_county,
    write_county,
)
from gisgrid.errors import InvalidReport

PROVINCE_GENERATOR = "gisgrid.province/1"
PROVINCE_NOTE = (
    "GENERATED province: codes (province 90, which does not exist), names, outlines, towns, "
    "villages, grids, households, people, staff, reports and patrols are all synthetic."
)
ORIGIN = (112.0, 32.0)  # south-west corner of the province, degrees
CELL = (0.45, 0.40)  # a county's cell on average, degrees: ~42 x 44 km at 34 N, ~1,850 km²
COUNTIES_PER_PREFECTURE = 8
HOUSEHOLDS_MEDIAN = 150_000
HOUSEHOLDS_SIGMA = 0.35
HOUSEHOLDS_PER_GRID = 150
GRIDS_PER_VILLAGE = 4.5
VILLAGES_PER_TOWN = 14
RESIDENTS_PER_HOUSEHOLD = 3.1  # as CountyProfile.households assumes
REPORTS_PER_HOUSEHOLD_YEAR = 0.1  # Deqing's demo: ~1,000 reports a month, 132,258 households
REPORT_NOISE_M = 25.0  # a report's place: near a home, phone GPS and where the problem is
M_PER_DEG = 111_320.0
HILBERT_LEVEL = 16


@dataclass(frozen=True)
class CountyPlan:
    """One county of the province before anything inside it is drawn."""

    index: int
    code: str  # 12 digits
    name: str
    outline: shapely.Polygon
    households: int
    grids: int
    villages: int
    towns: int
    seed: int

    @property
    def profile(self) -> CountyProfile:
        """The size figures the county generator takes."""
        return CountyProfile(
            self.code[:6],
            round(self.households * RESIDENTS_PER_HOUSEHOLD),
            self.grids,
            f"GENERATED province county: {self.households:,} households (lognormal around "
            f"{HOUSEHOLDS_MEDIAN:,}), one grid per ~{HOUSEHOLDS_PER_GRID} households",
        )


def county_code(index: int) -> str:
    """The 12-digit code of the index-th county: prefecture index // 8 + 1, counties 21.."""
    pref, k = divmod(index, COUNTIES_PER_PREFECTURE)
    if pref >= 99:
        raise InvalidReport(f"county index {index} is beyond the 99 prefectures a code can hold")
    return f"{GENERATED_PROVINCE}{pref + 1:02d}{21 + k:02d}000000"


def plan_province(counties: int, seed: int, scale: float = 1.0) -> list[CountyPlan]:
    """The counties of a generated province: outlines, sizes and seeds (no database)."""
    if not 1 <= counties <= 99 * COUNTIES_PER_PREFECTURE:
        raise InvalidReport(f"counties={counties}; a generated province holds 1 to 792")
    if not 0 < scale <= 1:
        raise InvalidReport(f"scale={scale}; give a share in (0, 1] of a realistic county")
    rng = np.random.default_rng([seed, 0])
    cols = math.ceil(math.sqrt(counties))
    rows = math.ceil(counties / cols)
    # Brick rows: each row of counties has its own random borders between columns. Borders run
    # along meridians and parallels, densified to ~100 m, so the vertices each county's
    # tessellation inserts on a border round (to 1e-7 degrees) onto the very same line its
    # neighbour has: counties meet edge to edge, never overlapping (a slanted border would not).
    outline = np.empty(counties, dtype=object)
    for r in range(rows):
        k = np.arange(r * cols, min((r + 1) * cols, counties))
        widths = rng.uniform(0.7, 1.3, len(k))
        edges = np.round(ORIGIN[0] + np.concatenate([[0], np.cumsum(widths)]) * CELL[0], 4)
        y0, y1 = ORIGIN[1] + r * CELL[1], ORIGIN[1] + (r + 1) * CELL[1]
        outline[k] = shapely.box(edges[:-1], y0, edges[1:], y1)
    outline = shapely.segmentize(outline, 0.001)
    households = np.maximum(
        np.round(HOUSEHOLDS_MEDIAN * rng.lognormal(0, HOUSEHOLDS_SIGMA, counties) * scale), 60
    ).astype(int)
    grids = np.maximum(np.round(households / HOUSEHOLDS_PER_GRID), 1).astype(int)
    villages = np.maximum(np.round(grids / GRIDS_PER_VILLAGE), 1).astype(int)
    towns = np.maximum(np.round(villages / VILLAGES_PER_TOWN), 1).astype(int)
    return [
        CountyPlan(
            i,
            county_code(i),
            f"合成{i + 1:03d}县",
            outline[i],
            int(households[i]),
            int(grids[i]),
            int(villages[i]),
            int(towns[i]),
            int(rng.integers(0, 2**31)),
        )
        for i in range(counties)
    ]


def divisions_of(plan: CountyPlan) -> list[Division]:
    """The county, its towns and villages as the demo's divisions list (codes and labels)."""
    county = plan.code
    out = [Division(county, plan.name, "county", "")]
    per_town = np.full(plan.towns, plan.villages // plan.towns)
    per_town[: plan.villages % plan.towns] += 1
    for t in range(plan.towns):
        # Towns 001-099 are streets (街道) in the code scheme; generated towns are 101+.
        town = f"{county[:6]}{101 + t:03d}"
        out.append(Division(town + "000", f"第{t + 1}镇", "town", county))
        out += [
            Division(f"{town}{201 + v:03d}", f"第{t + 1}-{v + 1}村委会", "village", town + "000")
            for v in range(int(per_town[t]))
        ]
    return out


def draw(plan: CountyPlan, progress: Callable[[str], None] = print) -> CountyDraw:
    """The county's towns, villages, grids and households, by the demo county's generator."""
    return draw_county(
        plan.code, divisions_of(plan), plan.outline, plan.profile, plan.seed, progress
    )


def load_province(
    engine: Engine,
    counties: int,
    seed: int,
    scale: float = 1.0,
    *,
    patrol_day: bool = True,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Load (or keep, when this generator's copy is there) every county into PostGIS.

    Per county, one transaction by COPY: units, grids, households, staff, departments, reports
    (gisgrid.demo.county.write_county); then its GENERATED roads and patrol day (one fix a
    minute), as `gisgrid demo` does for a demo county. Returns each county's row counts.
    """
    from gisgrid.demo import patrol_day as day
    from gisgrid.patrols import generate_demo_network

    out = []
    for plan in plan_province(counties, seed, scale):
        if is_loaded(engine, plan.code, PROVINCE_GENERATOR):
            progress(f"{plan.code} ({plan.name}) is loaded; kept")
            out.append({"county": plan.code, "kept": True})
            continue
        unload_county(engine, plan.code, progress=lambda m: None)  # an older copy's rows
        counts = write_county(
            engine,
            draw(plan, progress),
            plan.profile,
            plan.seed,
            generator=PROVINCE_GENERATOR,
            notes=_notes(plan, counties, seed, scale),
            outline_source="generated by gisgrid.demo.province (no real outline)",
            progress=progress,
        )
        if patrol_day:
            with engine.begin() as conn:
                generate_demo_network(conn, plan.code, seed=plan.seed, progress=progress)
            got = day.load_patrol_day(engine, plan.code, seed=plan.seed, now=now, progress=progress)
            counts = {**counts, "patrol_tracks": got["tracks"], "patrol_fixes": got["fixes"]}
        out.append({"county": plan.code, **counts})
    return out


def unload_province(
    engine: Engine, counties: int, seed: int, scale: float = 1.0, progress=print
) -> None:  # type: ignore[no-untyped-def]
    """Delete every county of the generated province (as a demo county is unloaded)."""
    for plan in plan_province(counties, seed, scale):
        unload_county(engine, plan.code, progress=progress)


def _notes(plan: CountyPlan, counties: int, seed: int, scale: float) -> dict[str, str]:
    return {
        "generated": PROVINCE_NOTE,
        "profile": plan.profile.source,
        "province": json.dumps({"counties": counties, "seed": seed, "scale": scale}),
    }


# --- GeoParquet: points and grids, partitioned by county, Hilbert-sorted inside -------------


def report_points(draw: CountyDraw, households: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A year of reports' places (GENERATED): near a random home, with REPORT_NOISE_M of scatter
    (some fall in the next grid, a few outside the county); and the home each was drawn near."""
    rng = np.random.default_rng([seed, 2])
    n = max(1, round(households * REPORTS_PER_HOUSEHOLD_YEAR))
    home = rng.integers(0, len(draw.points), n)
    lat = draw.points[home, 1]
    noise = rng.normal(0, REPORT_NOISE_M, (n, 2)) / M_PER_DEG
    noise[:, 0] /= np.cos(np.radians(lat))
    return draw.points[home] + noise, home


def hilbert_keys(x: np.ndarray, y: np.ndarray, bounds: tuple[float, ...]) -> np.ndarray:
    """Hilbert curve positions (level 16) of points within bounds, as geopandas computes them."""
    series = gpd.GeoSeries(shapely.points(x, y))
    return series.hilbert_distance(total_bounds=bounds, level=HILBERT_LEVEL).to_numpy(np.uint32)


@dataclass(frozen=True)
class ParquetLayout:
    """Where a generated province lies on disk."""

    root: Path

    @property
    def manifest(self) -> Path:
        """province.json: generator, seed, scale, counties and their counts."""
        return self.root / "province.json"

    @property
    def points(self) -> Path:
        """points/<county6>.parquet: id, kind, county, grid_code (where generated), hilbert,
        geometry (GeoParquet 1.1 native point encoding: a struct of x, y doubles, so a reader
        takes both columns straight into numpy), sorted by the Hilbert key."""
        return self.root / "points"

    @property
    def grids(self) -> Path:
        """grids.parquet: code, county, xmin, ymin, xmax, ymax, geometry (WKB), county-sorted."""
        return self.root / "grids.parquet"

    def point_files(self) -> list[Path]:
        """The point partitions, in county order."""
        return sorted(self.points.glob("*.parquet"))


def write_parquet(
    root: Path,
    counties: int,
    seed: int,
    scale: float = 1.0,
    progress: Callable[[str], None] = print,
    map_counties: Callable[..., Iterator[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Write the province's points and grids as GeoParquet under root (kept when the manifest
    says this generator, seed, scale and count made them); returns the manifest.

    `map_counties(fn, plans)` may run the counties elsewhere (a Dask client's map); by default
    they are drawn here, one after another.
    """
    layout = ParquetLayout(Path(root))
    want = {
        "generator": PROVINCE_GENERATOR,
        "counties": counties,
        "seed": seed,
        "scale": scale,
        "point_encoding": POINT_ENCODING,
    }
    if layout.manifest.exists():
        have = json.loads(layout.manifest.read_text())
        if {k: have.get(k) for k in want} == want:
            progress(f"{root}: this province is written already ({have['points']:,} points)")
            return dict(have)
    layout.points.mkdir(parents=True, exist_ok=True)
    for old in layout.point_files():
        old.unlink()
    plans = plan_province(counties, seed, scale)
    bounds = _province_bounds(plans)
    t0 = time.perf_counter()
    run = map_counties or (lambda fn, items: map(fn, items))
    done = []
    grid_parts = []
    for got in run(_county_parquet, [(p, str(layout.points), bounds) for p in plans]):
        grid_parts.append(got.pop("grid_table"))
        done.append(got)
        progress(
            f"{got['county']}: {got['households']:,} households, {got['reports']:,} reports, "
            f"{got['grids']:,} grids ({time.perf_counter() - t0:.0f} s)"
        )
    # Counties may finish in any order (on a cluster): the grid file is written county-sorted,
    # so a reader's box filter skips the row groups of counties far away.
    order = np.argsort([d["county"] for d in done], kind="stable")
    done = [done[i] for i in order]
    grids = pa.concat_tables([grid_parts[i] for i in order])
    pq.write_table(grids, layout.grids, row_group_size=2_000)
    manifest = {
        **want,
        "generated": PROVINCE_NOTE,
        "points": sum(d["households"] + d["reports"] for d in done),
        "households": sum(d["households"] for d in done),
        "reports": sum(d["reports"] for d in done),
        "grid_count": grids.num_rows,
        "bounds": list(bounds),
        "county_list": done,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    layout.manifest.write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    return manifest


def _province_bounds(plans: list[CountyPlan]) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = shapely.total_bounds(np.array([p.outline for p in plans], dtype=object))
    pad = 0.01  # reports scattered past the edge still get a key
    return (float(x0 - pad), float(y0 - pad), float(x1 + pad), float(y1 + pad))


GEO_META = {
    "version": "1.1.0",
    "primary_column": "geometry",
    "columns": {"geometry": {"encoding": "WKB", "geometry_types": [], "crs": None}},
}
# GeoParquet 1.1's native (GeoArrow) encoding for the points: reading 10 million WKB points
# through shapely cost ~6 us a point, the x/y struct is read as two numpy arrays.
POINT_ENCODING = "point"
POINT_TYPE = pa.struct(
    [pa.field("x", pa.float64(), nullable=False), pa.field("y", pa.float64(), nullable=False)]
)


def _geoparquet(
    table: pa.Table, types: list[str], bbox: list[float], encoding: str = "WKB"
) -> pa.Table:
    """Mark a table with a `geometry` column (WKB, or a native encoding) as GeoParquet (CRS
    omitted = OGC:CRS84)."""
    meta = json.loads(json.dumps(GEO_META))
    meta["columns"]["geometry"]["encoding"] = encoding
    meta["columns"]["geometry"]["geometry_types"] = types
    meta["columns"]["geometry"]["bbox"] = bbox
    meta["generated"] = PROVINCE_NOTE
    return table.replace_schema_metadata({b"geo": json.dumps(meta).encode()})


def _county_parquet(
    job: tuple[CountyPlan, str, tuple[float, float, float, float]],
) -> dict[str, Any]:
    """Draw one county and write its points partition; its grids come back as an Arrow table."""
    plan, points_dir, bounds = job
    d = draw(plan, progress=lambda m: None)
    n_hh = len(d.points)
    rep_xy, _ = report_points(d, n_hh, plan.seed)
    xy = np.vstack([d.points, rep_xy])
    n = len(xy)
    codes = d.grids["code"].to_numpy(dtype=str)
    key = hilbert_keys(xy[:, 0], xy[:, 1], bounds)
    order = np.argsort(key, kind="stable")
    # Ids: the county's 6 digits then a running number, unique across the province.
    ids = int(plan.code[:6]) * 10_000_000 + np.arange(n, dtype=np.int64)
    kind = np.where(np.arange(n) < n_hh, "household", "report")
    grid_code = np.concatenate([codes[d.grid_of], np.full(n - n_hh, None, dtype=object)])
    xy = xy[order]
    table = pa.table(
        {
            "id": ids[order],
            "kind": pa.array(kind[order]).dictionary_encode(),
            "county": pa.array(np.full(n, plan.code[:6])).dictionary_encode(),
            "grid_code": pa.array(grid_code[order], type=pa.string()),
            "hilbert": pa.array(key[order], type=pa.uint32()),
            "geometry": pa.StructArray.from_arrays(
                [pa.array(xy[:, 0]), pa.array(xy[:, 1])], fields=list(POINT_TYPE)
            ),
        }
    )
    bbox = [float(v) for v in (*xy.min(0), *xy.max(0))]
    pq.write_table(
        _geoparquet(table, ["Point"], bbox, POINT_ENCODING),
        Path(points_dir) / f"{plan.code[:6]}.parquet",
        row_group_size=50_000,
    )
    polys = d.grids.geometry.to_numpy()
    b = shapely.bounds(polys)
    grids = pa.table(
        {
            "code": pa.array(codes),
            "county": pa.array(np.full(len(codes), plan.code[:6])),
            "xmin": b[:, 0],
            "ymin": b[:, 1],
            "xmax": b[:, 2],
            "ymax": b[:, 3],
            "geometry": pa.array(shapely.to_wkb(polys), type=pa.binary()),
        }
    )
    extent = [float(v) for v in (*b.min(0)[:2], *b.max(0)[2:])]
    grids = _geoparquet(grids, ["Polygon", "MultiPolygon"], extent)
    return {
        "county": plan.code[:6],
        "name": plan.name,
        "households": n_hh,
        "reports": n - n_hh,
        "grids": len(codes),
        "villages": plan.villages,
        "towns": plan.towns,
        "seconds": round(d.seconds, 1),
        "grid_table": grids,
    }
