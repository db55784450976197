"""Report intake on the demo county: edges, GCJ-02, 属地兜底, refusals, idempotency, duplicates,
assignment. Every write happens in the `conn` fixture's transaction and is rolled back."""

from __future__ import annotations

import datetime as dt
import math
import threading
from typing import Any

import numpy as np
import pytest
import shapely
from sqlalchemy import Connection, Engine, text

from gisgrid.datum import wgs84_to_gcj02
from gisgrid.errors import IdempotencyConflict, InvalidReport, OutsideCoverage
from gisgrid.reports import api_keys, intake
from gisgrid.reports.intake import IntakeConfig, ReportIn
from tests.browser import until

NOW = dt.datetime(2030, 3, 5, 2, 0, tzinfo=dt.UTC)  # a Tuesday, 10:00 China time; no demo overlap


def _offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    return (
        lon + east_m / (111_320 * math.cos(math.radians(lat))),
        lat + north_m / 111_320,
    )


def _shared_vertex(conn: Connection) -> tuple[float, float, str, str, shapely.Geometry]:
    """A vertex two current grids share, their codes (low, high) and the higher one's polygon."""
    row = conn.execute(
        text(
            "SELECT ST_X(d.geom) AS x, ST_Y(d.geom) AS y, a.code AS a, b.code AS b, "
            "ST_AsBinary(b.geom) AS bg "
            "FROM grid a JOIN grid b ON a.code < b.code AND ST_Touches(a.geom, b.geom) "
            "CROSS JOIN LATERAL ST_DumpPoints(a.geom) d "
            "WHERE a.valid_to IS NULL AND b.valid_to IS NULL AND ST_Covers(b.geom, d.geom) "
            "AND a.village_code = b.village_code "
            "ORDER BY a.code, b.code LIMIT 1"
        )
    ).one()
    return row.x, row.y, row.a, row.b, shapely.from_wkb(bytes(row.bg))


def _inside_grid(conn: Connection, nth: int) -> Any:
    """The nth current grid by code: its code and a point inside it (lon, lat)."""
    return conn.execute(
        text(
            "SELECT code, ST_X(p), ST_Y(p) FROM (SELECT code, ST_PointOnSurface(geom) p FROM grid "
            "WHERE valid_to IS NULL ORDER BY code OFFSET :n LIMIT 1) s"
        ),
        {"n": nth},
    ).one()


def _covering_codes(conn: Connection, lon: float, lat: float) -> list[str]:
    return list(
        conn.execute(
            text(
                "SELECT code FROM grid WHERE valid_to IS NULL AND "
                "ST_Covers(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) ORDER BY code"
            ),
            {"x": lon, "y": lat},
        ).scalars()
    )


def test_point_on_a_shared_vertex_goes_to_the_lowest_code(
    conn: Connection, demo_county: str
) -> None:
    x, y, low, high, _ = _shared_vertex(conn)
    covering = _covering_codes(conn, x, y)
    assert low in covering and high in covering
    where = intake.place(conn, x, y, 5.0)
    assert where["grid"]["code"] == min(covering) == low
    assert high in where["candidates"] and not where["fallback"]


def test_point_a_few_metres_inside_the_other_grid_keeps_the_edge_candidate(
    conn: Connection, demo_county: str
) -> None:
    x, y, low, high, high_poly = _shared_vertex(conn)
    for angle in np.linspace(0, 2 * math.pi, 16, endpoint=False):
        px, py = _offset(x, y, 2.5 * math.cos(angle), 2.5 * math.sin(angle))
        if _covering_codes(conn, px, py) == [high]:
            break
    else:
        pytest.fail("no direction from the shared vertex lies only in the higher grid")
    assert shapely.covers(high_poly, shapely.Point(px, py))
    where = intake.place(conn, px, py, 5.0)
    assert where["grid"]["code"] == high
    assert low in where["candidates"]
    # The tolerance is in metres: just above the true distance includes it, just below does not.
    d = conn.execute(
        text(
            "SELECT ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography)"
            " FROM grid WHERE code = :c AND valid_to IS NULL"
        ),
        {"x": px, "y": py, "c": low},
    ).scalar_one()
    assert 0 < d <= 2.5
    assert low in intake.place(conn, px, py, d * 1.01)["candidates"]
    assert low not in intake.place(conn, px, py, d * 0.99)["candidates"]


def test_gcj02_input_lands_where_its_wgs84_point_does(conn: Connection, demo_county: str) -> None:
    _, x, y = _inside_grid(conn, 40)
    gx, gy = wgs84_to_gcj02(x, y)
    # The GCJ-02 pair read as WGS84 is hundreds of metres away: a naive server misplaces it.
    assert math.dist((gx, gy), (x, y)) * 111_320 > 100
    got = intake.submit_report(
        conn, ReportIn("SJ03", lon=float(gx), lat=float(gy), crs="gcj02"), now=NOW
    )
    assert got["grid"]["code"] == _covering_codes(conn, x, y)[0]
    assert got["point"]["lon"] == pytest.approx(x, abs=1e-8)
    assert got["point"]["lat"] == pytest.approx(y, abs=1e-8)
    assert got["input_point"] == {"lon": gx, "lat": gy, "crs": "gcj02"}
    bad = ReportIn("SJ03", lon=float(gx), lat=float(gy), crs="gcj2")
    with pytest.raises(InvalidReport, match="gcj2"):
        intake.submit_report(conn, bad, now=NOW)


def test_point_in_the_county_but_in_no_grid_goes_to_the_nearest(
    conn: Connection, demo_county: str
) -> None:
    code, x, y = _inside_grid(conn, 100)
    # A redraw that leaves a hole: the grid is closed and nothing replaces it (rolled back).
    conn.execute(text("UPDATE grid SET valid_to = now() WHERE code = :c"), {"c": code})
    assert _covering_codes(conn, x, y) == []
    got = intake.submit_report(conn, ReportIn("SJ99", lon=x, lat=y), now=NOW)
    assert got["fallback"] is True and got["grid"]["code"] != code
    nearest = conn.execute(
        text(
            "SELECT code FROM grid WHERE valid_to IS NULL ORDER BY "
            "ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography), "
            "code LIMIT 1"
        ),
        {"x": x, "y": y},
    ).scalar_one()
    assert got["grid"]["code"] == nearest


def test_point_outside_every_county_is_refused_by_name(conn: Connection, demo_county: str) -> None:
    with pytest.raises(OutsideCoverage, match=r"lon=116\.4, lat=39\.9"):
        intake.submit_report(conn, ReportIn("SJ01", lon=116.4, lat=39.9), now=NOW)
    # 50 m outside the county outline is still outside (only the edge tolerance is forgiven).
    x, y = conn.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointN(ST_ExteriorRing(ST_GeometryN("
            "ST_Buffer(geom::geography, 50)::geometry, 1)), 1) p FROM admin_unit "
            "WHERE code = :c) s"  # the demo county (a generated province may be loaded too)
        ),
        {"c": demo_county},
    ).one()
    with pytest.raises(OutsideCoverage, match="outside the area"):
        intake.place(conn, x, y, 5.0)
    count = conn.execute(text("SELECT count(*) FROM report WHERE reported_at = :n"), {"n": NOW})
    assert count.scalar_one() == 0


def test_resubmission_with_the_same_key_returns_the_same_request(
    conn: Connection, demo_county: str
) -> None:
    x, y, *_ = _shared_vertex(conn)
    px, py = _offset(x, y, 30, 30)
    first = intake.submit_report(
        conn, ReportIn("SJ02", lon=px, lat=py, description="dirty", idempotency_key="k-1"), now=NOW
    )
    again = intake.submit_report(
        conn, ReportIn("SJ02", lon=px, lat=py, description="dirty", idempotency_key="k-1"), now=NOW
    )
    assert again["id"] == first["id"] and again["replayed"] and not first["replayed"]
    n = conn.execute(text("SELECT count(*) FROM report WHERE idempotency_key = 'k-1'"))
    assert n.scalar_one() == 1
    with pytest.raises(IdempotencyConflict, match="k-1"):
        intake.submit_report(
            conn, ReportIn("SJ02", lon=px, lat=py, description="other", idempotency_key="k-1")
        )
    # Another client's key of the same value is its own: a new report (linked as a duplicate).
    api_keys.create_key(conn, "test-intake-other-client")
    other_id = conn.execute(
        text("SELECT id FROM api_key WHERE name = 'test-intake-other-client'")
    ).scalar_one()
    other = intake.submit_report(
        conn,
        ReportIn("SJ02", lon=px, lat=py, description="dirty", idempotency_key="k-1"),
        api_key_id=other_id,
        now=NOW,
    )
    assert other["id"] != first["id"] and other["duplicate_of"] == first["id"]


def test_duplicates_within_radius_and_window_are_linked(conn: Connection, demo_county: str) -> None:
    _, x, y = _inside_grid(conn, 7)
    first = intake.submit_report(conn, ReportIn("SJ01", lon=x, lat=y), now=NOW)
    near = intake.submit_report(
        conn, ReportIn("SJ01", *_offset(x, y, 20, 0)), now=NOW + dt.timedelta(hours=1)
    )
    far = intake.submit_report(
        conn, ReportIn("SJ01", *_offset(x, y, 300, 0)), now=NOW + dt.timedelta(hours=1)
    )
    other_service = intake.submit_report(conn, ReportIn("SJ08", lon=x, lat=y), now=NOW)
    later = intake.submit_report(
        conn, ReportIn("SJ01", lon=x, lat=y), now=NOW + dt.timedelta(hours=30)
    )
    assert near["duplicate_of"] == first["id"] and near["status"] == "registered"
    assert near["handler"] == first["handler"] and near["due_at"] is None
    assert far["duplicate_of"] is None and other_service["duplicate_of"] is None
    assert later["duplicate_of"] is None  # SJ01's window is 24 h
    assert intake.read_report(conn, first["id"])["supporters"] == 1
    off = IntakeConfig(duplicate_rules={"SJ01": (0.0, 0.0)})
    alone = intake.submit_report(conn, ReportIn("SJ01", lon=x, lat=y), config=off, now=NOW)
    assert alone["duplicate_of"] is None


def _grid_with_two_full_time(conn: Connection) -> tuple[int, list[int], float, float]:
    row = conn.execute(
        text(
            "SELECT g.id, array_agg(s.id ORDER BY s.id) AS staff, "
            "ST_X(ST_PointOnSurface(g.geom)) AS x, ST_Y(ST_PointOnSurface(g.geom)) AS y "
            "FROM grid g JOIN staff_assignment a ON a.grid_id = g.id AND a.role = 'full_time' "
            "JOIN staff s ON s.id = a.staff_id WHERE g.valid_to IS NULL "
            "GROUP BY g.id HAVING count(*) = 2 ORDER BY g.id LIMIT 1"
        )
    ).one()
    conn.execute(text("UPDATE staff SET on_duty = true WHERE id = ANY(:s)"), {"s": row.staff})
    return row.id, row.staff, row.x, row.y


def test_least_loaded_on_duty_worker_then_chief_then_village(
    conn: Connection, demo_county: str
) -> None:
    grid_id, (a, b), x, y = _grid_with_two_full_time(conn)
    load = dict(
        conn.execute(
            text(
                "SELECT s, (SELECT count(*) FROM report WHERE assignee_id = s AND duplicate_of "
                "IS NULL AND status IN ('submitted','registered','dispatched','in_progress')) "
                "FROM unnest(CAST(:s AS int[])) s"
            ),
            {"s": [a, b]},
        ).all()
    )
    expected = min((load[a], a), (load[b], b))[1]
    # Found on patrol: registered and dispatched at once (a resident's report is checked first).
    got = intake.submit_report(conn, ReportIn("ZZ07", lon=x, lat=y, source="patrol"), now=NOW)
    assert got["handler"]["staff"]["id"] == expected
    assert got["handler"]["level"] == "full_time" and got["status"] == "dispatched"
    # China time 10:00 Tuesday + 2 working days (ZZ07) = Thursday 10:00.
    assert got["due_at"] == NOW + dt.timedelta(days=2)

    conn.execute(text("UPDATE staff SET on_duty = false WHERE id = ANY(:s)"), {"s": [a, b]})
    chief = conn.execute(
        text("SELECT staff_id FROM staff_assignment WHERE grid_id = :g AND role = 'grid_chief'"),
        {"g": grid_id},
    ).scalar_one()
    conn.execute(text("UPDATE staff SET on_duty = true WHERE id = :c"), {"c": chief})
    got = intake.submit_report(conn, ReportIn("ZZ07", lon=x, lat=y, source="patrol"), now=NOW)
    assert got["handler"]["staff"]["id"] == chief and got["handler"]["level"] == "grid_chief"

    conn.execute(text("UPDATE staff SET on_duty = false WHERE id = :c"), {"c": chief})
    got = intake.submit_report(conn, ReportIn("ZZ07", lon=x, lat=y, source="patrol"), now=NOW)
    assert got["handler"] == {"level": "village", "staff": None}
    assert got["village"]["code"] == got["grid"]["code"][:12]


def test_address_string_is_resolved_against_household_addresses(
    conn: Connection, demo_county: str
) -> None:
    address, x, y = conn.execute(
        text(
            "SELECT address, ST_X(geom), ST_Y(geom) FROM household h WHERE (SELECT count(*) "
            "FROM household o WHERE o.address = h.address) = 1 ORDER BY id LIMIT 1"
        )
    ).one()
    got = intake.submit_report(conn, ReportIn("ZZ02", address_string=address), now=NOW)
    assert (got["point"]["lon"], got["point"]["lat"]) == (x, y)
    with pytest.raises(InvalidReport, match="matches no household"):
        intake.submit_report(conn, ReportIn("ZZ02", address_string="火星1号"), now=NOW)
    with pytest.raises(InvalidReport, match="location is required"):
        intake.submit_report(conn, ReportIn("ZZ02"), now=NOW)


# --- Issue 17: residents' reports are checked first; the rest are routed by 三事分流 ----------


def test_residents_reports_wait_for_their_check_and_the_rest_are_routed_by_class(
    conn: Connection, demo_county: str
) -> None:
    grid_id, _, x, y = _grid_with_two_full_time(conn)
    off = IntakeConfig(duplicate_rules=dict.fromkeys(("SJ01", "SJ05"), (0.0, 0.0)))
    resident = intake.submit_report(conn, ReportIn("SJ05", lon=x, lat=y), config=off, now=NOW)
    assert (resident["status"], resident["stage"]["name"]) == ("submitted", "collected")
    assert resident["due_at"] is None and resident["dispatched_at"] is None
    assert resident["handler"]["level"] == "full_time"  # the worker checks it on site
    # China time 10:00 + 2 working hours to check it.
    assert resident["stage"]["due_at"] == NOW + dt.timedelta(hours=2)
    routed = {
        code: intake.submit_report(
            conn, ReportIn(code, lon=x, lat=y, source="patrol"), config=off, now=NOW
        )
        for code in ("ZZ07", "SJ01", "SJ05")  # 自家事, 大家事, 公家事
    }
    got = {
        code: (r["triage"]["label"], r["handler"]["level"], r["handler"]["staff"] is None)
        for code, r in routed.items()
    }
    assert got == {
        "ZZ07": ("自家事", "full_time", False),
        "SJ01": ("大家事", "village", True),
        "SJ05": ("公家事", "town", True),
    }
    assert routed["ZZ07"]["household_group_id"] is not None  # whose household affair it is
    assert all(r["stage"]["name"] == "registered" and r["due_at"] for r in routed.values())


def test_due_times_follow_the_countys_calendar(conn: Connection, demo_county: str) -> None:
    """Friday 9 February 2024, 16:00 China time: Spring Festival from the 10th to the 17th, the
    18th (a Sunday) worked; 4 working hours land on that Sunday (data/calendars/441226.json)."""
    _, _, x, y = _grid_with_two_full_time(conn)
    friday = dt.datetime(2024, 2, 9, 8, 0, tzinfo=dt.UTC)
    got = intake.submit_report(conn, ReportIn("SJ05", lon=x, lat=y, source="video"), now=friday)
    assert got["due_at"] == dt.datetime(2024, 2, 18, 3, 0, tzinfo=dt.UTC)  # Sunday 11:00 CN
    # Settings only (no county file): no holidays known. (Duplicates off: the same spot.)
    plain = IntakeConfig(county_calendars={}, duplicate_rules={"SJ05": (0.0, 0.0)})
    got = intake.submit_report(
        conn, ReportIn("SJ05", lon=x, lat=y + 1e-4, source="video"), config=plain, now=friday
    )
    assert got["due_at"] == dt.datetime(2024, 2, 12, 3, 0, tzinfo=dt.UTC)  # Monday 11:00


def test_an_original_deleted_while_its_supporter_is_filed_is_no_error(
    own_engine: Engine, demo_county: str
) -> None:
    """A report about to be linked as a duplicate of one that is being deleted: the intake
    waits for the delete and files it as a case of its own (it was a 500 from the foreign key
    fk_report_duplicate_of_report when the delete committed between the two; issue 13)."""
    with own_engine.begin() as conn:
        _, x, y = _inside_grid(conn, 11)
        first = intake.submit_report(conn, ReportIn("SJ01", lon=x, lat=y), now=NOW)
    assert first["duplicate_of"] is None
    filed: dict[str, Any] = {}

    def supporter() -> None:
        try:
            with own_engine.begin() as conn:
                later = NOW + dt.timedelta(minutes=5)
                filed["report"] = intake.submit_report(
                    conn, ReportIn("SJ01", lon=x, lat=y), now=later
                )
        except Exception as exc:  # the test's verdict below names it
            filed["error"] = exc

    with own_engine.connect() as deleter:
        deleting = deleter.begin()
        deleting_original = text("DELETE FROM report WHERE id = :id")  # the subject
        deleter.execute(deleting_original, {"id": first["id"]})
        thread = threading.Thread(target=supporter)
        thread.start()

        def waiting() -> bool:
            # A transaction of its own per look: pg_stat_activity is read once per transaction.
            with own_engine.connect() as watcher:
                return bool(
                    watcher.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                            "current_database() AND wait_event_type = 'Lock'"
                        )
                    ).scalar_one()
                )

        # The intake has found the original and waits on the delete's row lock.
        until(waiting, "the intake waiting for the deleted original's lock", timeout=60)
        deleting.commit()
    thread.join(30)
    assert "error" not in filed, filed.get("error")
    report = filed["report"]
    assert report["duplicate_of"] is None and report["status"] in intake.OPEN_STATUSES
