"""Committing a redraw over HTTP: households and open reports follow, history stays answerable.

Redraws are committed on a tiny GENERATED test county (code 990100, 4 grids), made once into a
template of the module's, and each test commits into a copy of that template of its own.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import pytest
import shapely
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from bench.common import rows
from gisgrid.boundaries.check import plan_import
from gisgrid.boundaries.commit import commit_import
from gisgrid.boundaries.read import read_boundaries
from tests.databases import Databases
from tests.redraw_fixtures import insert_generation, insert_grid, insert_units, staff_grid

COUNTY = "990100"
V1, V2 = "990100001001", "990100001002"
X0, Y0, W = 100.0, 30.0, 0.04  # a 4 x 4 km square far from every demo county
OLD = {
    V1 + "001": shapely.box(X0, Y0, X0 + W / 2, Y0 + W / 2),
    V1 + "002": shapely.box(X0, Y0 + W / 2, X0 + W / 2, Y0 + W),
    V2 + "001": shapely.box(X0 + W / 2, Y0, X0 + W, Y0 + W / 2),
    V2 + "002": shapely.box(X0 + W / 2, Y0 + W / 2, X0 + W, Y0 + W),
}
# The redraw: V1's south grid split in two (001 west, 003 east), its north grid unchanged,
# V2's two grids merged into one.
NEW = {
    V1 + "001": shapely.box(X0, Y0, X0 + W / 4, Y0 + W / 2),
    V1 + "002": OLD[V1 + "002"],
    V1 + "003": shapely.box(X0 + W / 4, Y0, X0 + W / 2, Y0 + W / 2),
    V2 + "001": shapely.box(X0 + W / 2, Y0, X0 + W, Y0 + W),
}
BEFORE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
REDRAW = "2025-06-01T00:00:00+08:00"


def _make_small_county(engine: Engine) -> dict[str, list[tuple]]:
    """A generated 4-grid county with households, groups, staff and reports."""
    rng = np.random.default_rng(3)
    with engine.begin() as conn:
        units = [
            (
                COUNTY + "000000",
                "测试县(generated)",
                "county",
                None,
                shapely.box(X0, Y0, X0 + W, Y0 + W),
            ),
            (
                COUNTY + "001000",
                "测试镇",
                "town",
                COUNTY + "000000",
                shapely.box(X0, Y0, X0 + W, Y0 + W),
            ),
            (V1, "一村", "village", COUNTY + "001000", shapely.box(X0, Y0, X0 + W / 2, Y0 + W)),
            (V2, "二村", "village", V1[:9] + "000", shapely.box(X0 + W / 2, Y0, X0 + W, Y0 + W)),
        ]
        insert_units(conn, units)
        gen = insert_generation(conn, "test-990100-1", COUNTY + "000000", "2024-01-01T00:00:00Z")
        households, reports = [], []
        for code, geom in OLD.items():
            gid = insert_grid(conn, code, code, gen, "2024-01-01T00:00:00Z", geom)
            group = staff_grid(conn, gid, code, "2024-01-01T00:00:00Z")
            x0, y0, x1, y1 = geom.bounds
            pts = rng.uniform((x0 + 1e-4, y0 + 1e-4), (x1 - 1e-4, y1 - 1e-4), (13, 2))
            for k, (x, y) in enumerate(pts):
                if k < 10:
                    hid = conn.execute(
                        text(
                            "INSERT INTO household (grid_id, group_id, address, size, care_tags, "
                            "generated, geom) VALUES (:g, :grp, 'test', 3, '{}', true, "
                            "ST_SetSRID(ST_MakePoint(:x, :y), 4326)) RETURNING id"
                        ),
                        {"g": gid, "grp": group, "x": x, "y": y},
                    ).scalar_one()
                    households.append((hid, x, y))
                else:
                    status = "closed" if k == 12 else "dispatched"
                    rid = conn.execute(
                        text(
                            "INSERT INTO report (category, source, status, grid_id, generated, "
                            "geom) "
                            "VALUES ('test', 'resident', CAST(:s AS report_status), :g, true, "
                            "ST_SetSRID(ST_MakePoint(:x, :y), 4326)) RETURNING id"
                        ),
                        {"s": status, "g": gid, "x": x, "y": y},
                    ).scalar_one()
                    reports.append((rid, x, y, status, code))
    return {"households": households, "reports": reports}


@pytest.fixture(scope="module")
def county_template(databases: Databases) -> Iterator[tuple[str, dict[str, list[tuple]]]]:
    """The worker's template with the small county: made once, copied for every test."""
    with databases.derived(_make_small_county, "county") as made:
        yield made


@pytest.fixture(scope="module")
def template(county_template: tuple[str, dict[str, list[tuple]]]) -> str:
    """Each test's own database is a copy of the template with the small county."""
    return county_template[0]


@pytest.fixture
def small_county(county_template: tuple[str, dict[str, list[tuple]]]) -> dict[str, list[tuple]]:
    """The small county's households and reports (ids are the same in every copy)."""
    return county_template[1]


# Each test commits a redraw (or tries to): it does so in a database of its own.
@pytest.fixture
def database_url(own_database_url: str) -> str:
    return own_database_url


@pytest.fixture
def engine(own_engine: Engine) -> Engine:
    return own_engine


@pytest.fixture
def server(own_server: str) -> str:
    return own_server


def _redraw_file(tmp_path: Path) -> Path:
    frame = gpd.GeoDataFrame(
        {"code": list(NEW), "name": list(NEW)},  # same names: 002 is unchanged, not renamed
        geometry=list(NEW.values()),
        crs=4326,
    )
    path = tmp_path / "redraw.geojson"
    frame.to_file(path, driver="GeoJSON")
    return path


def _fingerprint(engine: Engine, sequences: bool = True) -> dict[str, str]:
    """Every row of every table (and every sequence): equal means nothing was written.

    The audit log is left out on purpose: every request, a dry run included, is recorded there.
    """
    with engine.connect() as conn:
        tables = rows(
            conn,
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT IN ('spatial_ref_sys', 'audit_log') ORDER BY 1",
        )
        out = {}
        for (t,) in tables:
            # Table names come from the catalogue, not from input.
            out[t] = conn.execute(
                text(
                    f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) "
                    f'FROM "{t}" x'
                )
            ).scalar_one()
        for name, value in (
            conn.execute(text("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1")).all()
            * sequences
        ):
            if name != "audit_log_id_seq":
                out["seq:" + name] = str(value)
    return out


def _current_grid_of(conn: Connection, table: str, row_id: int) -> str:
    return conn.execute(
        text(f"SELECT g.code FROM {table} t JOIN grid g ON g.id = t.grid_id WHERE t.id = :i"),
        {"i": row_id},
    ).scalar_one()


@pytest.fixture
def http(own_admin_http: httpx.Client) -> httpx.Client:
    """Imports need a map editor; these tests act as an admin (scope checks below)."""
    return own_admin_http


def test_redraw_over_http_moves_people_and_keeps_history(
    http: httpx.Client, engine: Engine, small_county: dict, tmp_path: Path
) -> None:
    path = _redraw_file(tmp_path)
    before = _fingerprint(engine)
    form = {"level": "grid", "generation": "test-990100-2", "valid_from": REDRAW}
    r = http.post(
        "/api/v1/boundaries/imports",
        data=form,
        files={"file": (path.name, path.read_bytes(), "application/geo+json")},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["dry_run"] and report["committable"] and report["errors"] == 0, report
    assert _fingerprint(engine) == before  # the dry run wrote nothing at all

    r = http.post(
        "/api/v1/boundaries/imports",
        data={**form, "commit": "true"},
        files={"file": (path.name, path.read_bytes(), "application/geo+json")},
    )
    assert r.status_code == 200, r.text
    summary = r.json()["commit"]
    assert summary["lineage"] == {"merged": 2, "split": 2, "unchanged": 1}
    assert summary["grids_closed"] == 4 and summary["grids_created"] == 4
    assert summary["households_moved"] == {"by_point": 40, "by_lineage": 0}
    assert summary["open_reports_moved"]["by_point"] == 8
    assert summary["grids_without_staff"] == [V1 + "003"]  # the split's smaller... new half

    with engine.connect() as conn:
        for hid, x, y in small_county["households"]:
            want = next(c for c, g in NEW.items() if g.covers(shapely.Point(x, y)))
            assert _current_grid_of(conn, "household", hid) == want
        for rid, x, y, status, old_code in small_county["reports"]:
            got = _current_grid_of(conn, "report", rid)
            if status == "closed":
                assert got == old_code  # handled in the old grid; history stays true
            else:
                assert got == next(c for c, g in NEW.items() if g.covers(shapely.Point(x, y)))
        groups = conn.execute(
            text(
                "SELECT count(*) FROM household_group hg JOIN grid g ON g.id = hg.grid_id "
                "WHERE hg.code LIKE :p AND g.valid_to IS NULL"
            ),
            {"p": COUNTY + "%"},
        ).scalar_one()
        assert groups == 4

    # East half of V1's old south grid: now grid 003; on a date before the redraw, grid 001.
    pt = {"lon": X0 + 3 * W / 8, "lat": Y0 + W / 4}
    now = http.get("/api/v1/locate", params=pt).json()
    assert now["grid"]["code"] == V1 + "003"
    then = http.get("/api/v1/locate", params={**pt, "as_of": BEFORE.isoformat()}).json()
    assert then["grid"]["code"] == V1 + "001"
    assert [s["role"] for s in then["staff"]] == ["grid_chief"]
    assert http.get(f"/api/v1/grids/{V2}002").status_code == 404  # merged away
    old = http.get(f"/api/v1/grids/{V2}002", params={"as_of": "2025-05-31"})
    assert old.status_code == 200 and old.json()["properties"]["generation"] == "test-990100-1"

    # OGC API: datetime selects the version valid then.
    bbox = f"{X0},{Y0},{X0 + W},{Y0 + W}"
    cur = http.get("/ogc/collections/grids/items", params={"bbox": bbox}).json()
    past = http.get(
        "/ogc/collections/grids/items", params={"bbox": bbox, "datetime": "2025-01-01T00:00:00Z"}
    ).json()
    both = http.get("/ogc/collections/grids/items", params={"bbox": bbox, "datetime": "../.."})
    assert sorted(f["properties"]["code"] for f in cur["features"]) == sorted(NEW)
    assert sorted(f["properties"]["code"] for f in past["features"]) == sorted(OLD)
    assert both.json()["numberMatched"] == 8

    # Export of the old generation by name, read back.
    exp = http.get(
        "/api/v1/boundaries/export", params={"format": "gpkg", "generation": "test-990100-1"}
    )
    assert exp.status_code == 200 and "attachment" in exp.headers["content-disposition"]
    (tmp_path / "old.gpkg").write_bytes(exp.content)
    back = gpd.read_file(tmp_path / "old.gpkg")
    assert sorted(back.code) == sorted(OLD)

    # A file with an error is refused on commit, naming the problem; nothing is written.
    before = _fingerprint(engine)
    broken = dict(NEW)
    broken.pop(V1 + "003")
    frame = gpd.GeoDataFrame({"code": list(broken)}, geometry=list(broken.values()), crs=4326)
    r = http.post(
        "/api/v1/boundaries/imports",
        data={"level": "grid", "commit": "true"},
        files={"file": ("gap.geojson", frame.to_json(), "application/geo+json")},
    )
    assert r.status_code == 409 and "gap" in r.json()["detail"]
    assert _fingerprint(engine) == before


def test_a_commit_that_fails_late_leaves_no_trace(
    engine: Engine, small_county: dict, tmp_path: Path
) -> None:
    path = _redraw_file(tmp_path)
    # Sequences are left out: PostgreSQL never rolls back nextval(), by design.
    before = _fingerprint(engine, sequences=False)
    with engine.connect() as locker:
        # Another session holds the report table: the commit gets past grids, lineage and
        # households, then cannot move reports and must undo everything.
        locker.execute(text("LOCK TABLE report IN ACCESS EXCLUSIVE MODE"))
        with pytest.raises(OperationalError, match="lock timeout"), engine.begin() as conn:
            plan = plan_import(conn, read_boundaries(path), "grid")
            assert plan.errors == 0
            commit_import(
                conn,
                plan,
                generation="test-990100-fail",
                valid_from=dt.datetime.fromisoformat(REDRAW),
                lock_timeout_ms=300,
            )
        locker.rollback()
    assert _fingerprint(engine, sequences=False) == before


def test_bad_import_requests_are_4xx(http: httpx.Client, small_county: dict) -> None:
    r = http.post(
        "/api/v1/boundaries/imports",
        data={"level": "parish"},
        files={"file": ("x.geojson", json.dumps({"type": "FeatureCollection", "features": []}))},
    )
    assert r.status_code == 422 and "parish" in r.json()["detail"]
    r = http.post(
        "/api/v1/boundaries/imports",
        data={"level": "grid"},
        files={"file": ("x.dxf", b"0\nEOF\n")},
    )
    assert r.status_code == 422 and "unknown file type" in r.json()["detail"]
    r = http.post(
        "/api/v1/boundaries/imports",
        data={"level": "grid", "crs": "EPSG:999999"},
        files={"file": ("x.geojson", json.dumps({"type": "FeatureCollection", "features": []}))},
    )
    assert r.status_code == 422 and "999999" in r.json()["detail"]
    r = http.get("/api/v1/boundaries/export", params={"format": "dwg"})
    assert r.status_code == 422 and "dwg" in r.json()["detail"]
    r = http.get("/api/v1/boundaries/export", params={"generation": "nope"})
    assert r.status_code == 404 and "nope" in r.json()["detail"]


def test_village_import_replaces_units_and_keeps_the_old_ones(
    engine: Engine, small_county: dict, tmp_path: Path
) -> None:
    mid = X0 + 0.6 * W  # the boundary between the two villages moves east
    frame = gpd.GeoDataFrame(
        {"code": [V1, V2], "name": ["一村", "二村(新)"]},
        geometry=[shapely.box(X0, Y0, mid, Y0 + W), shapely.box(mid, Y0, X0 + W, Y0 + W)],
        crs=4326,
    )
    path = tmp_path / "villages.gpkg"
    frame.to_file(path, driver="GPKG")
    with engine.connect() as conn:
        plan = plan_import(conn, read_boundaries(path), "village")
        assert plan.errors == 0, plan.problems
        summary = commit_import(conn, plan)
        assert summary["units_written"] == 2 and summary["units_archived"] == 2
        row = conn.execute(
            text("SELECT name, ST_XMax(geom) FROM admin_unit WHERE code = :c"), {"c": V1}
        ).one()
        assert row[0] == "一村" and row[1] == pytest.approx(mid)
        old = conn.execute(
            text("SELECT name, ST_XMax(geom) FROM admin_unit_history WHERE code = :c"), {"c": V2}
        ).one()
        assert old[0] == "二村" and old[1] == pytest.approx(X0 + W)
        parts = conn.execute(
            text("SELECT ST_XMax(ST_Extent(geom)) FROM admin_unit_part WHERE code = :c"),
            {"c": V1},
        ).scalar_one()
        assert parts == pytest.approx(mid)  # the trigger re-subdivided the new boundary
        conn.rollback()


def test_cli_dry_run_lists_problems_and_exits_1(
    database_url: str,
    engine: Engine,
    small_county: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gisgrid.cli import main

    broken = dict(NEW)
    broken[V1 + "003"] = broken[V1 + "003"].buffer(0.002)  # overlaps its neighbours
    path = tmp_path / "broken.csv"
    gpd.GeoDataFrame({"code": list(broken)}, geometry=list(broken.values()), crs=4326).assign(
        wkt=lambda f: f.geometry.to_wkt()
    ).drop(columns="geometry").to_csv(path, index=False)
    monkeypatch.setenv("GISGRID_DATABASE_URL", database_url)
    before = _fingerprint(engine)
    assert main(["boundaries", "import", str(path), "--level", "grid"]) == 1
    out = capsys.readouterr().out
    assert "overlap" in out and V1 + "003" in out and "NOT committable" in out
    assert main(["boundaries", "import", str(path), "--level", "grid", "--commit"]) == 2
    assert _fingerprint(engine) == before


def test_imports_need_a_map_editor_in_scope(
    server: str, engine: Engine, small_county: dict, tmp_path: Path
) -> None:
    import uuid

    from gisgrid.access import accounts

    files = {"file": ("g.geojson", b'{"type": "FeatureCollection", "features": []}')}
    anon = httpx.post(f"{server}/api/v1/boundaries/imports", data={"level": "grid"}, files=files)
    assert anon.status_code == 401
    name = f"t-planner-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        accounts.create_account(conn, name, "planner password", "planner", "441226101")
    token = httpx.post(
        f"{server}/api/v1/auth/token", data={"username": name, "password": "planner password"}
    ).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    # A planner of one Deqing town may not import the test county's grids.
    src = _redraw_file(tmp_path)
    r = httpx.post(
        f"{server}/api/v1/boundaries/imports",
        headers=headers,
        data={"level": "grid"},
        files={"file": (src.name, src.read_bytes())},
    )
    assert r.status_code == 403 and "超出本账号的管辖范围 441226101" in r.json()["detail"]
