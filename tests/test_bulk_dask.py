"""Bulk work on Dask gives the single-process answers: assignment (PostGIS and GeoParquet),
patrol coverage over a period, scores of every unit; results in narrow tables by COPY."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from sqlalchemy import Engine, text

from gisgrid import bulk
from gisgrid.assignment import GridIndex
from gisgrid.patrols import coverage_by_unit
from gisgrid.reports import IntakeConfig
from gisgrid.reports.scores import scores_of
from tests.conftest import small_province_template

seed_template = small_province_template


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A running two-worker Dask scheduler, reached by address as `--cluster` reaches one."""
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local.scheduler_address


def _single_process(engine: Engine, prefix: str) -> pd.Series:
    """Every household under a code prefix by one GridIndex over all the prefix's current
    grids, as `gisgrid assign` does (the bulk job reads the households by their grid's code)."""
    with engine.connect() as conn:
        grids = conn.execute(
            text("SELECT id, code, ST_AsBinary(geom) AS wkb FROM grid "
                 "WHERE valid_to IS NULL AND code LIKE :p ORDER BY code"), {"p": prefix + "%"}
        ).all()  # fmt: skip
        pts = pd.DataFrame(
            conn.execute(
                text("SELECT h.id, ST_X(h.geom) x, ST_Y(h.geom) y FROM household h "
                     "JOIN grid g ON g.id = h.grid_id WHERE g.code LIKE :p"), {"p": prefix + "%"}
            ).all()
        )  # fmt: skip
    index = GridIndex.build(
        [g.code for g in grids], shapely.from_wkb([bytes(g.wkb) for g in grids])
    )
    ids = np.array([g.id for g in grids])
    at = index.assign(pts["x"].to_numpy(), pts["y"].to_numpy())
    got = pd.Series(ids[np.maximum(at, 0)], index=pts["id"].to_numpy(), dtype="Int64")
    got[at < 0] = pd.NA
    return got.sort_index()


def _job_rows(engine: Engine, job: int) -> pd.Series:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT point_id, grid_id FROM bulk_assignment WHERE job_id = :j"), {"j": job}
        ).all()
    frame = pd.DataFrame(rows, columns=["point_id", "grid_id"])
    return frame.set_index("point_id")["grid_id"].astype("Int64").sort_index()


def test_assignment_on_a_cluster_equals_one_process_and_applies_only_changes(
    own_engine: Engine, own_database_url: str, small_province: list[str], cluster: str
) -> None:
    county = small_province[0][:6]
    with own_engine.begin() as conn:
        # Households on grid vertices and on the county's own border (ties: the lowest code
        # wins, whichever partition reads the point), and others told the wrong grid.
        saved = conn.execute(
            text(
                "SELECT h.id, h.grid_id, ST_AsEWKB(h.geom) AS g FROM household h "
                "JOIN grid g ON g.id = h.grid_id WHERE g.code LIKE :p ORDER BY h.id LIMIT 300"
            ),
            {"p": county + "%"},
        ).all()
        ids = [r.id for r in saved]
        conn.execute(
            text(
                "UPDATE household h SET geom = v.geom FROM ("
                " SELECT (row_number() OVER (ORDER BY g.code, d.path)) AS k,"
                "  ST_SetSRID(d.geom, 4326) AS geom FROM grid g,"
                "  LATERAL ST_DumpPoints(g.geom) d WHERE g.code LIKE :p AND g.valid_to IS NULL"
                ") v WHERE v.k = h.id - :first + 1 AND h.id = ANY(:ids) AND v.k <= 150"
            ),
            {"p": county + "%", "ids": ids, "first": ids[0]},
        )
        wrong = conn.execute(
            text(
                "UPDATE household SET grid_id = (SELECT min(id) FROM grid WHERE code LIKE :p "
                "AND valid_to IS NULL) WHERE id = ANY(:ids) AND id % 2 = 0"
            ),
            {"p": county + "%", "ids": ids[150:]},
        ).rowcount
    try:
        single = _single_process(own_engine, "90")
        with bulk.open_runner(cluster=cluster) as runner:
            assert runner.describe().startswith("dask tcp://")
            job = bulk.run_assignment(own_engine, own_database_url, "household", runner, unit="90")
        assert job["partitions"] == len(small_province) and job["totals"]["rows"] == len(single)
        assert _job_rows(own_engine, job["job"]).equals(single)
        # Some moved points sit where two or three grids meet: the tie rule was exercised.
        with own_engine.connect() as conn:
            before = dict(conn.execute(text("SELECT id, grid_id FROM household")).all())
        # Grids are told apart by id; the single-process answer says which rows change.
        moved = bulk.apply_assignment(own_engine, job["job"], progress=print)
        changed = sum(1 for i, g in single.items() if g is not pd.NA and before.get(i) != g)
        assert sum(moved.values()) == changed >= wrong > 50
        assert _single_process(own_engine, "90").equals(single)
    finally:
        with own_engine.begin() as conn:
            for r in saved:
                conn.execute(
                    text("UPDATE household SET grid_id = :g, geom = ST_GeomFromEWKB(:w) "
                         "WHERE id = :i"),
                    {"g": r.grid_id, "w": bytes(r.g), "i": r.id},
                )  # fmt: skip


def test_geoparquet_points_on_a_cluster_equal_one_index(
    province_parquet: str, cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gisgrid.cli import main

    out = tmp_path / "assigned"
    args = ["bulk", "assign", "points", "--parquet", province_parquet, "--out", str(out)]
    assert main([*args, "--cluster", cluster]) == 0
    assert '"rows"' in capsys.readouterr().out
    grids = pq.read_table(Path(province_parquet) / "grids.parquet").to_pandas()
    index = GridIndex.build(grids["code"].tolist(), shapely.from_wkb(grids["geometry"]))
    for part in sorted((Path(province_parquet) / "points").glob("*.parquet")):
        ids, x, y = bulk.read_points(part)
        at = index.assign(x, y)
        want = np.where(at >= 0, index.codes[np.maximum(at, 0)], None)
        got = pq.read_table(out / part.name).to_pandas()
        assert got["id"].tolist() == ids.tolist()
        assert got["grid_code"].tolist() == want.tolist()


def test_points_read_alike_from_native_and_wkb_encodings(
    province_parquet: str, tmp_path: Path
) -> None:
    part = sorted((Path(province_parquet) / "points").glob("*.parquet"))[0]
    ids, x, y = bulk.read_points(part)
    assert pq.read_schema(part).field("geometry").type.num_fields == 2  # native x, y
    points = shapely.points(x, y)
    # Little-endian WKB (the fixed 21-byte records read without shapely) and big-endian WKB
    # (read through shapely): the same coordinates, bit for bit; a 3D point among 2D ones too.
    for big, name in ((False, "le"), (True, "be")):
        wkb = shapely.to_wkb(points, byte_order=0 if big else 1)
        table = pa.table({"id": ids, "geometry": pa.array(wkb, type=pa.binary())})
        pq.write_table(table, tmp_path / f"{name}.parquet")
        got_ids, gx, gy = bulk.read_points(tmp_path / f"{name}.parquet")
        assert np.array_equal(got_ids, ids) and np.array_equal(gx, x) and np.array_equal(gy, y)
    mixed = pa.array([*shapely.to_wkb(points[:5]), shapely.to_wkb(shapely.Point(1, 2, 3))])
    pq.write_table(pa.table({"id": np.arange(6), "geometry": mixed}), tmp_path / "z.parquet")
    _, gx, gy = bulk.read_points(tmp_path / "z.parquet")
    assert np.array_equal(gx, [*x[:5], 1.0]) and np.array_equal(gy, [*y[:5], 2.0])


def test_coverage_over_a_period_equals_one_unit_at_a_time(
    own_engine: Engine, own_database_url: str, small_province: list[str], cluster: str
) -> None:
    county = small_province[0]
    end = dt.datetime.now(dt.UTC)
    start = end - dt.timedelta(days=2)
    with bulk.open_runner(cluster=cluster) as runner:
        job = bulk.run_coverage(
            own_engine, own_database_url, county, start, end, runner, level="village", window_days=1
        )
    with own_engine.connect() as conn:
        rows = pd.DataFrame(
            conn.execute(
                text("SELECT * FROM bulk_coverage WHERE job_id = :j ORDER BY unit_code, "
                     "period_start"), {"j": job["job"]}
            ).mappings().all()
        )  # fmt: skip
        assert len(rows) == job["rows"] == 2 * rows["unit_code"].nunique() >= 4
        assert rows["fixes"].sum() > 0
        for r in rows.itertuples():
            one = coverage_by_unit(conn, r.unit_code, r.period_start, r.period_end)
            for k in bulk.coverage.FIELDS:
                assert getattr(r, k) == one[k], (r.unit_code, k)


def test_scores_of_every_unit_equal_the_scores_endpoint_figures(
    own_engine: Engine, own_database_url: str, small_province: list[str]
) -> None:
    end = dt.datetime.now(dt.UTC)
    start = end - dt.timedelta(days=60)
    config = IntakeConfig()
    # --workers 2: the runner starts (and stops) its own local cluster.
    with bulk.open_runner(workers=2) as runner:
        job = bulk.run_scores(own_engine, own_database_url, runner, "90", start, end, config)
    with own_engine.connect() as conn:
        got = pd.DataFrame(
            conn.execute(text("SELECT * FROM bulk_unit_score WHERE job_id = :j"), {"j": job["job"]})
            .mappings()
            .all()
        ).set_index("unit_code")
        assert job["partitions"] == len(small_province) and got["due"].sum() > 0
        for county in small_province:
            want = {}
            for by in ("towns", "villages", "grids"):
                s = scores_of(conn, county, start, end, by=by, config=config)
                want[s["unit"]["code"]] = s["unit"]
                want |= {c["code"]: c for c in s["children"]}
            assert set(got.index[got["county_code"] == county[:6]]) == set(want)
            for code, w in want.items():
                row = got.loc[code]
                for col in bulk.scores.COUNTS + bulk.scores.RATES:
                    v = None if pd.isna(row[col]) else row[col]
                    assert v == w[col], (code, col, v, w[col])
