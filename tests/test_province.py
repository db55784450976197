"""The GENERATED province: codes no real province has, realistic sizes, the same places in
PostGIS and in GeoParquet, every row labelled generated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import shapely
from sqlalchemy import Connection, text

from bench.common import one
from gisgrid.assignment import GridIndex
from gisgrid.demo import province
from tests.conftest import PROVINCE, small_province_template

seed_template = small_province_template


def test_plan_is_realistic_generated_and_tiles_without_overlap() -> None:
    plans = province.plan_province(24, seed=3)
    codes = [p.code for p in plans]
    assert all(c.startswith("90") and len(c) == 12 for c in codes) and len(set(codes)) == 24
    assert codes[8] == "900221000000"  # the ninth county opens the second prefecture
    outlines = np.array([p.outline for p in plans], dtype=object)
    assert shapely.is_valid(outlines).all()
    union = shapely.union_all(outlines)
    assert abs(union.area - shapely.area(outlines).sum()) < 1e-6  # no overlaps
    km2 = shapely.area(outlines) * 111.32**2 * np.cos(np.radians(34))
    assert 1_000 < np.median(km2) < 3_000
    hh = np.array([p.households for p in plans])
    assert 100_000 < np.median(hh) < 220_000
    assert all(130 < p.households / p.grids < 170 for p in plans)
    # The same seed plans the same province; scale shrinks the counts, not the map.
    small = province.plan_province(24, seed=3, scale=0.01)
    assert [p.outline.wkb for p in small] == [p.outline.wkb for p in plans]
    assert all(s.households < 3_000 for s in small)


def _xy(path: Path) -> np.ndarray:
    """The (x, y) columns of a native-encoded GeoParquet point file, in file order."""
    geometry = pq.read_table(path, columns=["geometry"]).column("geometry").combine_chunks()
    return np.column_stack([geometry.field("x").to_numpy(), geometry.field("y").to_numpy()])


def test_parquet_points_are_sorted_generated_and_in_their_grids(province_parquet: str) -> None:
    layout = province.ParquetLayout(Path(province_parquet))
    manifest = json.loads(layout.manifest.read_text())
    assert "GENERATED" in manifest["generated"] and manifest["counties"] == PROVINCE["counties"]
    files = layout.point_files()
    assert [f.stem for f in files] == [c["county"] for c in manifest["county_list"]]
    grids = pq.read_table(layout.grids).to_pandas()
    index = GridIndex.build(grids["code"], shapely.from_wkb(grids["geometry"]))
    total = 0
    for f in files:
        meta = json.loads(pq.read_schema(f).metadata[b"geo"])
        assert meta["columns"]["geometry"]["encoding"] == "point"
        assert "GENERATED" in meta["generated"]
        points = pq.read_table(f).to_pandas()
        total += len(points)
        assert np.all(np.diff(points["hilbert"].to_numpy().astype(np.int64)) >= 0)
        xy = _xy(f)
        got = index.codes[index.assign(xy[:, 0], xy[:, 1])]
        homes = points["kind"].astype(str).to_numpy() == "household"
        # A household lies inside the grid it was drawn in; reports scatter around homes.
        assert (got[homes] == points["grid_code"].to_numpy()[homes]).all()
        assert 0.05 < (~homes).mean() < 0.15
    assert total == manifest["points"]


def test_postgis_holds_the_same_places_labelled_generated(
    conn: Connection, small_province: list[str], province_parquet: str
) -> None:
    first = small_province[0]
    row = conn.execute(
        text("SELECT generator, notes FROM dataset WHERE county_code = :c"),
        {"c": first},
    ).one()
    assert row.generator == province.PROVINCE_GENERATOR
    assert "GENERATED" in row.notes["generated"] and row.notes["patrol_day"]["fixes"] > 0
    flags = one(
        conn,
        "SELECT bool_and(h.generated) AS people, bool_and(g.geom_generated) AS grids, "
        "count(*) AS n FROM household h JOIN grid g ON g.id = h.grid_id WHERE g.code LIKE :p",
        p=first[:6] + "%",
    )
    assert flags.people and flags.grids
    tracks = one(
        conn,
        "SELECT bool_and(t.generated), count(*) FROM patrol_track t JOIN grid g "
        "ON g.id = t.grid_id WHERE g.code LIKE :p",
        p=first[:6] + "%",
    )
    assert tracks[0] and tracks[1] > 0
    db_xy = np.array(
        conn.execute(
            text(
                "SELECT ST_X(h.geom), ST_Y(h.geom) FROM household h JOIN grid g "
                "ON g.id = h.grid_id WHERE g.code LIKE :p ORDER BY h.id"
            ),
            {"p": first[:6] + "%"},
        ).all()
    )
    part = Path(province_parquet) / "points" / f"{first[:6]}.parquet"
    points = pq.read_table(part).to_pandas()
    homes = (points["kind"].astype(str) == "household").to_numpy()
    xy = _xy(part)[homes][np.argsort(points["id"].to_numpy()[homes])]
    assert len(db_xy) == flags.n == len(xy) and np.abs(db_xy - xy).max() < 1e-9


def test_cli_writes_parquet_without_a_database(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from gisgrid.cli import main

    args = ["province", "generate", "--counties", "1", "--scale", "0.005", "--seed", "4"]
    assert main([*args, "--parquet", str(tmp_path), "--no-db"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["parquet"]["points"] > 500 and "postgis" not in out
    assert (tmp_path / "points" / "900121.parquet").is_file()
