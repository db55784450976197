"""Importing a whole county's grids (~900): gisgrid's dry run and commit vs a plain GeoPandas load.

The demo county's grids are exported to a GeoPackage and imported back as a new generation:
gisgrid reads, checks (validity, codes, parents, overlaps, gaps, slivers) and commits (grids,
lineage, households, groups, open reports and staff moved) inside one transaction that is then
rolled back, so the demo county is left as it was. The peer is what `ogr2ogr`-style loading
does with the same file: geopandas.read_file + to_postgis into a scratch table, no checks, no
history, nobody moved.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

import geopandas as gpd
from sqlalchemy import text

from bench.common import demo_engine
from gisgrid.boundaries.check import plan_import
from gisgrid.boundaries.commit import commit_import
from gisgrid.boundaries.export import grids_frame, write_grids
from gisgrid.boundaries.read import read_boundaries

COUNTY = "441226"


def main() -> None:
    """Print gisgrid's dry run and commit times next to a GeoPandas to_postgis load."""
    engine = demo_engine(COUNTY)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "grids.gpkg"
        with engine.connect() as conn:
            frame = grids_frame(conn, unit=COUNTY)
        write_grids(frame, "gpkg", path)
        n = len(frame)
        print(f"{n} grids of {COUNTY} in {path.name} ({path.stat().st_size / 1e6:.1f} MB)")

        t0 = time.perf_counter()
        with engine.connect() as conn:
            plan = plan_import(conn, read_boundaries(path), "grid")
            dry = time.perf_counter() - t0
            assert plan.errors == 0, plan.report()["problem_counts"]
            t1 = time.perf_counter()
            summary = commit_import(
                conn,
                plan,
                generation=f"bench-{time.time_ns()}",
                valid_from=dt.datetime.now(dt.UTC),
            )
            commit = time.perf_counter() - t1
            conn.rollback()  # leave the demo county as it was
        moved = summary["households_moved"]["by_point"] + summary["households_moved"]["by_lineage"]

        t2 = time.perf_counter()
        peer = gpd.read_file(path)
        peer.to_postgis("bench_import_peer", engine, if_exists="replace", index=False)
        load = time.perf_counter() - t2
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS bench_import_peer"))
    engine.dispose()
    print(f"gisgrid dry run (read + every check):         {dry:6.2f} s  ({n / dry:,.0f} grids/s)")
    print(
        f"gisgrid commit (grids, lineage, {moved:,} households, groups, reports, staff): "
        f"{commit:6.2f} s"
    )
    print(f"peer geopandas read_file + to_postgis:        {load:6.2f} s  ({n / load:,.0f} grids/s)")
    print(
        f"ratio dry run / peer load: {dry / load:.1f}x; (dry run + commit) / peer load: "
        f"{(dry + commit) / load:.1f}x"
    )
