"""The demo county in PostGIS: real divisions, generated grids that tile every village exactly."""

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

# Deqing's 13 towns/streets, NBS 2023 statistical division codes (统计用区划代码).
DEQING_TOWNS = {
    "441226001000": "德城街道",
    "441226101000": "新圩镇",
    "441226102000": "回龙镇",
    "441226103000": "官圩镇",
    "441226105000": "马圩镇",
    "441226106000": "高良镇",
    "441226107000": "莫村镇",
    "441226109000": "永丰镇",
    "441226110000": "武垄镇",
    "441226111000": "播植镇",
    "441226112000": "凤村镇",
    "441226113000": "悦城镇",
    "441226114000": "九市镇",
}


def test_towns_are_the_real_thirteen(conn: Connection, demo_county: str) -> None:
    rows = conn.execute(
        text("SELECT code, name FROM admin_unit WHERE parent_code = :c AND level = 'town'"),
        {"c": demo_county},
    ).all()
    assert dict(rows) == DEQING_TOWNS


def test_villages_are_the_real_193(conn: Connection, demo_county: str) -> None:
    rows = dict(
        conn.execute(
            text(
                "SELECT v.code, v.name FROM admin_unit v "
                "JOIN admin_unit t ON t.code = v.parent_code "
                "WHERE t.parent_code = :c AND v.level = 'village'"
            ),
            {"c": demo_county},
        ).all()
    )
    assert len(rows) == 193
    assert rows["441226001001"].endswith("居委会")
    assert all(code[:9] + "000" in DEQING_TOWNS for code in rows)


def test_county_outline_is_real_and_sized(conn: Connection, demo_county: str) -> None:
    area_km2, generated = conn.execute(
        text(
            "SELECT ST_Area(geom::geography) / 1e6, geom_generated FROM admin_unit WHERE code = :c"
        ),
        {"c": demo_county},
    ).one()
    assert not generated
    assert abs(area_km2 - 2003) / 2003 < 0.01  # official figure: 2,003 km2


def test_grids_tile_each_village_exactly(conn: Connection, demo_county: str) -> None:
    # Gap/overlap per village in square metres: village area minus the union of its grids, and
    # the sum of grid areas minus their union (which is the overlap).
    rows = conn.execute(
        text("""
        SELECT v.code,
               ST_Area(ST_SymDifference(v.geom, ST_Union(g.geom))::geography) AS mismatch_m2,
               SUM(ST_Area(g.geom::geography)) - ST_Area(ST_Union(g.geom)::geography) AS overlap_m2,
               count(*) AS grids
        FROM admin_unit v JOIN grid g ON g.village_code = v.code AND g.valid_to IS NULL
        WHERE v.code LIKE '441226%' AND v.level = 'village'
        GROUP BY v.code, v.geom""")
    ).all()
    assert len(rows) == 193
    assert max(r.mismatch_m2 for r in rows) < 1.0
    assert max(r.overlap_m2 for r in rows) < 1.0
    assert 850 <= sum(r.grids for r in rows) <= 950


def test_no_two_grids_overlap(conn: Connection, demo_county: str) -> None:
    overlaps = conn.execute(
        text("""
        SELECT count(*) FROM grid a JOIN grid b
          ON a.id < b.id AND a.geom && b.geom AND ST_Relate(a.geom, b.geom, '2********')
        WHERE a.valid_to IS NULL AND b.valid_to IS NULL""")
    ).scalar_one()
    assert overlaps == 0


def test_towns_cover_the_county(conn: Connection, demo_county: str) -> None:
    mismatch = conn.execute(
        text("""
        SELECT ST_Area(ST_SymDifference(c.geom, ST_Union(t.geom))::geography)
        FROM admin_unit c JOIN admin_unit t ON t.parent_code = c.code
        WHERE c.code = :c GROUP BY c.geom"""),
        {"c": demo_county},
    ).scalar_one()
    assert mismatch < 1.0


def test_grid_codes_extend_their_village(conn: Connection, demo_county: str) -> None:
    bad = conn.execute(
        text(
            "SELECT count(*) FROM grid "
            "WHERE code !~ '^[0-9]{15}$' OR left(code, 12) <> village_code"
        )
    ).scalar_one()
    assert bad == 0


def test_households_sit_in_their_grid(conn: Connection, demo_county: str) -> None:
    total, inside, generated = conn.execute(
        text("""
        SELECT count(*), count(*) FILTER (WHERE ST_Covers(g.geom, h.geom)), bool_and(h.generated)
        FROM household h JOIN grid g ON g.id = h.grid_id""")
    ).one()
    assert 120_000 <= total <= 140_000  # ~410,000 residents
    assert inside == total
    assert generated


def test_every_grid_is_staffed(conn: Connection, demo_county: str) -> None:
    rows = conn.execute(
        text("""
        SELECT g.code,
               count(*) FILTER (WHERE a.role = 'grid_chief') AS chiefs,
               count(*) FILTER (WHERE a.role = 'full_time') AS workers,
               count(*) FILTER (WHERE a.role = 'household_leader') AS leaders,
               (SELECT count(*) FROM household h WHERE h.grid_id = g.id) AS households
        FROM grid g JOIN staff_assignment a ON a.grid_id = g.id
        GROUP BY g.id, g.code""")
    ).all()
    assert all(r.chiefs == 1 and r.workers >= 1 for r in rows)
    # About one household leader (联户长) per ten households.
    assert all(r.leaders == -(-r.households // 10) for r in rows)


def test_open_reports_are_in_their_grid(conn: Connection, demo_county: str) -> None:
    n, inside = conn.execute(
        text("""
        SELECT count(*), count(*) FILTER (WHERE ST_Covers(g.geom, r.geom))
        FROM report r JOIN grid g ON g.id = r.grid_id
        WHERE r.status IN ('registered', 'dispatched', 'in_progress')""")
    ).one()
    assert n >= 200
    assert inside == n


def test_a_county_unloads_completely(own_engine, settings) -> None:  # type: ignore[no-untyped-def]
    """Load a second, small demo county with its roads, unload it: nothing of it remains."""
    from gisgrid.demo import county as demo
    from gisgrid.demo import patrol_day
    from gisgrid.patrols import roads

    county = "610729"  # Liuba: 282 grids, the smallest demo
    counts = demo.load_demo_county(own_engine, county, settings.cache_dir, progress=lambda m: None)
    assert counts["grids"] == 282 and counts["villages"] == 76
    with own_engine.begin() as conn:
        roads.generate_demo_network(conn, county, progress=lambda m: None)
    # Its generated patrol day (a short morning keeps it quick) goes with it.
    now = dt.datetime(2024, 5, 6, 9, 45, tzinfo=ZoneInfo("Asia/Shanghai"))
    day = patrol_day.load_patrol_day(own_engine, county, now=now, progress=lambda m: None)
    with own_engine.connect() as conn:
        tracks = (
            conn.execute(
                text(
                    "SELECT tr.id FROM patrol_track tr JOIN grid g ON g.id = tr.grid_id "
                    "WHERE tr.generated AND g.code LIKE '610729%'"
                )
            )
            .scalars()
            .all()
        )
    assert day["tracks"] == len(tracks) > 50 and day["fixes"] > 0
    demo.unload_county(own_engine, county, progress=lambda m: None)  # the subject
    left = {}
    with own_engine.connect() as conn:
        left["patrol_track"], left["patrol_fix"] = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM patrol_track WHERE id = ANY(:t)), "
                "(SELECT count(*) FROM patrol_fix WHERE track_id = ANY(:t))"
            ),
            {"t": tracks},
        ).one()
        for table, where in [
            ("admin_unit", "code LIKE '610729%'"),
            ("grid", "code LIKE '610729%'"),
            ("generation", "county_code = '610729000000'"),
            ("road_segment", "county_code = '610729000000'"),
            ("key_place", "county_code = '610729000000'"),
            ("dataset", "county_code = '610729000000'"),
            ("household", "grid_id NOT IN (SELECT id FROM grid)"),
            (
                "staff",
                "id NOT IN (SELECT staff_id FROM staff_assignment) "
                "AND id NOT IN (SELECT leader_id FROM household_group "
                "WHERE leader_id IS NOT NULL)",
            ),
        ]:
            left[table] = conn.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar()
    assert left == dict.fromkeys(left, 0)
    assert demo.is_loaded(own_engine, "441226")  # the other county is untouched
