"""1,000,000 points -> the demo county's ~900 grids: gisgrid vs geopandas sjoin vs PostGIS UPDATE.

Same points, same grids, one run. Points are uniform over the grids' bounding box (seeded), so
some fall outside every grid, as real imports do. Results are compared point by point.
"""

from __future__ import annotations

import io
import time

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import text

from bench.common import demo_engine
from gisgrid.assignment import assign
from gisgrid.settings import Settings

N = 1_000_000


def _engine():  # type: ignore[no-untyped-def]
    settings = Settings()
    return demo_engine(settings.demo_county, settings)


def main() -> None:
    """Print points per second for each, the ratios, and whether the answers agree."""
    engine = _engine()
    with engine.connect() as conn:
        t = time.perf_counter()
        index, grid_ids = assign.load_index(conn)
        build_s = time.perf_counter() - t
    polys, codes = index.polygons, index.codes
    minx, miny, maxx, maxy = shapely.total_bounds(polys)
    rng = np.random.default_rng(2026)
    x, y = rng.uniform(minx, maxx, N), rng.uniform(miny, maxy, N)
    print(f"{N:,} points, {len(polys)} grids; index built (with DB read) in {build_s:.2f} s")

    t = time.perf_counter()
    ours = index.assign(x, y)
    ours_s = time.perf_counter() - t

    grids = gpd.GeoDataFrame({"code": codes}, geometry=list(polys), crs=4326)
    t = time.perf_counter()
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4326)
    joined = gpd.sjoin(points, grids, how="left", predicate="within")
    sjoin_s = time.perf_counter() - t
    theirs = joined.groupby(level=0)["index_right"].min().reindex(range(N))
    theirs_idx = theirs.fillna(-1).to_numpy(dtype=np.int64)

    with engine.begin() as conn:
        conn.execute(
            text("CREATE TEMP TABLE bench_pt (id int, grid_id int, geom geometry(Point, 4326))")
        )
        buf = io.StringIO()
        for i in range(0, N, 200_000):
            sl = slice(i, i + 200_000)
            ids = np.arange(N)[sl]
            buf.write(
                "".join(
                    f"{a}\tSRID=4326;POINT({b:.17g} {c:.17g})\n"
                    for a, b, c in zip(ids, x[sl], y[sl], strict=True)
                )
            )
        buf.seek(0)
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy("COPY bench_pt (id, geom) FROM STDIN") as copy:
            copy.write(buf.getvalue())
        conn.execute(text("CREATE INDEX ON bench_pt USING gist (geom)"))
        conn.execute(text("ANALYZE bench_pt"))
        t = time.perf_counter()
        conn.execute(
            text(
                "UPDATE bench_pt p SET grid_id = g.id FROM grid g "
                "WHERE g.valid_to IS NULL AND ST_Contains(g.geom, p.geom)"
            )
        )
        pg_s = time.perf_counter() - t
        rows = conn.execute(
            text("SELECT id, coalesce(grid_id, -1) FROM bench_pt ORDER BY id")
        ).all()
    by_id = {int(g): i for i, g in enumerate(grid_ids)}
    pg_idx = np.array([by_id.get(int(g), -1) for _, g in rows], dtype=np.int64)

    rate = {name: N / s for name, s in (("gisgrid", ours_s), ("sjoin", sjoin_s), ("postgis", pg_s))}
    print(f"inside a grid: {(ours >= 0).mean():.1%}")
    print(f"gisgrid GridIndex.assign    {rate['gisgrid']:>12,.0f} points/s  ({ours_s:.3f} s)")
    print(f"geopandas sjoin(within)     {rate['sjoin']:>12,.0f} points/s  ({sjoin_s:.3f} s)")
    print(f"PostGIS UPDATE..ST_Contains {rate['postgis']:>12,.0f} points/s  ({pg_s:.3f} s)")
    print(
        f"ratio gisgrid/sjoin   {rate['gisgrid'] / rate['sjoin']:.1f}x  "
        f"(counting the index build too: {sjoin_s / (ours_s + build_s):.1f}x)"
    )
    print(f"ratio gisgrid/PostGIS {rate['gisgrid'] / rate['postgis']:.1f}x")
    print(
        f"identical to sjoin: {np.array_equal(ours, theirs_idx)}; "
        f"identical to PostGIS: {np.array_equal(ours, pg_idx)}"
    )


if __name__ == "__main__":
    main()
