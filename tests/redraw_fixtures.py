"""A tiny GENERATED county for redraw tests that publish (the demo county is never redrawn).

County 990300, one town, two villages far from every demo county:
- village 一村 (990300001001), 3 km x 2 km: grid 001 (west two thirds, ~260 households: above
  a [100, 200] band) and grid 002 (east third, ~90 households: below it);
- village 二村 (990300001002), 2 km x 2 km: one grid of ~150 households.
Households sit in settlements along generated roads; every grid has a grid chief, a household
group with its leader and two open reports.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection, Engine, text

COUNTY = "990300"
TOWN = COUNTY + "001"
V1, V2 = TOWN + "001", TOWN + "002"
X0, Y0 = 101.0, 30.0
KM = 0.0104  # ~1 km in degrees at 30N (lon: 0.01038, lat: 0.00901; a compromise is fine here)
VILLAGES = {
    V1: shapely.box(X0, Y0, X0 + 3 * KM, Y0 + 2 * KM),
    V2: shapely.box(X0 + 3 * KM, Y0, X0 + 5 * KM, Y0 + 2 * KM),
}
GRIDS = {
    V1 + "001": shapely.box(X0, Y0, X0 + 2 * KM, Y0 + 2 * KM),
    V1 + "002": shapely.box(X0 + 2 * KM, Y0, X0 + 3 * KM, Y0 + 2 * KM),
    V2 + "001": VILLAGES[V2],
}
HOUSEHOLDS = {V1 + "001": 260, V1 + "002": 90, V2 + "001": 150}
ROADS = [
    # A county road along the middle, two village roads across one, a lane in the east.
    [(X0 - 0.001, Y0 + 1.0 * KM), (X0 + 5 * KM + 0.001, Y0 + 1.05 * KM)],
    [(X0 + 0.7 * KM, Y0 - 0.001), (X0 + 0.75 * KM, Y0 + 2 * KM + 0.001)],
    [(X0 + 1.4 * KM, Y0 - 0.001), (X0 + 1.35 * KM, Y0 + 2 * KM + 0.001)],
    [(X0 + 4 * KM, Y0 - 0.001), (X0 + 4.02 * KM, Y0 + 2 * KM + 0.001)],
]
GEN_FROM = "2024-01-01T00:00:00Z"


def staff_grid(conn: Connection, grid_id: int, code: str, valid_from: str) -> int:
    """A GENERATED grid chief and household leader for a test grid, and the leader's household
    group; returns the group's id."""
    chief, leader = (
        conn.execute(
            text(
                "INSERT INTO staff (name, role, on_duty, generated) "
                "VALUES (:n, CAST(:r AS staff_role), true, true) RETURNING id"
            ),
            {"n": f"{role} {code}", "r": role},
        ).scalar_one()
        for role in ("grid_chief", "household_leader")
    )
    group = conn.execute(
        text(
            "INSERT INTO household_group (code, grid_id, leader_id) "
            "VALUES (:c, :g, :l) RETURNING id"
        ),
        {"c": code + "01", "g": grid_id, "l": leader},
    ).scalar_one()
    for staff, role in ((chief, "grid_chief"), (leader, "household_leader")):
        conn.execute(
            text(
                "INSERT INTO staff_assignment (staff_id, grid_id, role, valid_from) "
                "VALUES (:s, :g, CAST(:r AS staff_role), :f)"
            ),
            {"s": staff, "g": grid_id, "r": role, "f": valid_from},
        )
    return int(group)


def _wkt(g: shapely.Geometry) -> str:
    return shapely.MultiPolygon([g]).wkt if g.geom_type == "Polygon" else g.wkt


def insert_units(conn: Connection, units: list[tuple[str, str, str, str | None, Any]]) -> None:
    """Administrative units (code, name, level, parent code, shapely geometry), generated."""
    for code, name, level, parent, geom in units:
        conn.execute(
            text(
                "INSERT INTO admin_unit (code, name, level, parent_code, geom_generated, geom) "
                "VALUES (:c, :n, CAST(:l AS unit_level), :p, true, ST_GeomFromText(:g, 4326))"
            ),
            {"c": code, "n": name, "l": level, "p": parent, "g": _wkt(geom)},
        )


def insert_generation(conn: Connection, name: str, county: str, valid_from: str) -> int:
    """A grid generation of the county (12-digit code) from valid_from; its id."""
    return int(
        conn.execute(
            text(
                "INSERT INTO generation (name, county_code, valid_from) "
                "VALUES (:n, :c, :f) RETURNING id"
            ),
            {"n": name, "c": county, "f": valid_from},
        ).scalar_one()
    )


def insert_grid(
    conn: Connection, code: str, name: str, generation: int, valid_from: str, geom: Any
) -> int:
    """A generated grid of the generation in its village (the code's first 12 digits); its id."""
    return int(
        conn.execute(
            text(
                "INSERT INTO grid (code, name, village_code, generation_id, valid_from, "
                "geom_generated, geom) VALUES (:c, :n, :v, :g, :f, true, "
                "ST_GeomFromText(:w, 4326)) RETURNING id"
            ),
            {
                "c": code,
                "n": name,
                "v": code[:12],
                "g": generation,
                "f": valid_from,
                "w": _wkt(geom),
            },
        ).scalar_one()
    )


def _settlements(box: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """n household points in 3 settlements of the box (sigma ~ a tenth of its size) + scatter."""
    x0, y0, x1, y1 = box.bounds
    centres = rng.uniform(
        (x0 + (x1 - x0) * 0.2, y0 + (y1 - y0) * 0.2),
        (x1 - (x1 - x0) * 0.2, y1 - (y1 - y0) * 0.2),
        (3, 2),
    )
    pick = centres[rng.integers(0, 3, n)]
    pts = pick + rng.normal(0, 1, (n, 2)) * np.array([(x1 - x0) / 10, (y1 - y0) / 10])
    scatter = rng.random(n) < 0.3
    pts[scatter] = rng.uniform((x0, y0), (x1, y1), (int(scatter.sum()), 2))
    return np.clip(pts, (x0 + 1e-5, y0 + 1e-5), (x1 - 1e-5, y1 - 1e-5))


def make_county(engine: Engine, seed: int = 15) -> dict[str, object]:
    """Create the test county; returns its codes and points."""
    rng = np.random.default_rng(seed)
    with engine.begin() as conn:
        whole = shapely.union_all(list(VILLAGES.values()))
        units = [
            (COUNTY + "000000", "测试县(redraw, generated)", "county", None, whole),
            (TOWN + "000", "测试镇", "town", COUNTY + "000000", whole),
            (V1, "一村", "village", TOWN + "000", VILLAGES[V1]),
            (V2, "二村", "village", TOWN + "000", VILLAGES[V2]),
        ]
        insert_units(conn, units)
        gen = insert_generation(conn, "test-990300-1", COUNTY + "000000", GEN_FROM)
        points: dict[str, np.ndarray] = {}
        for code, geom in GRIDS.items():
            vname = "一村" if code.startswith(V1) else "二村"
            gid = insert_grid(conn, code, f"{vname}第{int(code[-3:])}网格", gen, GEN_FROM, geom)
            group = staff_grid(conn, gid, code, GEN_FROM)
            pts = _settlements(geom, HOUSEHOLDS[code], rng)
            points[code] = pts
            conn.execute(
                text(
                    "INSERT INTO household (grid_id, group_id, address, size, care_tags, "
                    "generated, geom) SELECT :g, :grp, 'test', 3, "
                    "CASE WHEN i % 9 = 0 THEN ARRAY['left_behind_elderly'] ELSE '{}' END, true, "
                    "ST_SetSRID(ST_MakePoint(x, y), 4326) "
                    "FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) "
                    "WITH ORDINALITY AS t(x, y, i)"
                ),
                {"g": gid, "grp": group, "xs": pts[:, 0].tolist(), "ys": pts[:, 1].tolist()},
            )
            for x, y in pts[:2]:
                conn.execute(
                    text(
                        "INSERT INTO report (category, source, status, grid_id, generated, geom) "
                        "VALUES ('test', 'resident', 'dispatched', :g, true, "
                        "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
                    ),
                    {"g": gid, "x": x, "y": y},
                )
        for k, line in enumerate(ROADS):
            seg = shapely.LineString(line)
            conn.execute(
                text(
                    "INSERT INTO road_segment (county_code, source_id, kind, source, generated, "
                    "length_m, node_from, node_to, geom) VALUES (:c, :s, 'village_road', "
                    "'test', true, ST_Length(ST_GeomFromText(:w, 4326)::geography), :a, :b, "
                    "ST_GeomFromText(:w, 4326))"
                ),
                {"c": COUNTY + "000000", "s": f"t{k}", "w": seg.wkt, "a": 2 * k, "b": 2 * k + 1},
            )
    return {"county": COUNTY, "town": TOWN, "villages": [V1, V2], "points": points}
