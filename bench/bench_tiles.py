"""Grid MVT tiles from `gisgrid serve` and from tipg (PyPI) on the same PostGIS table, same run.

Both servers run as one-worker processes against the same database, freshly started for each of
three runs. Cold: every tile of the county at z10-13 fetched once by 4 concurrent clients
(gisgrid's cache empty, tipg's first request for each). Warm: wrk, 4 connections cycling through
the same tiles for 10 s. gisgrid is measured on the README's plain URL
`/tiles/grids/{z}/{x}/{y}.mvt` (the current generation) and on the pinned `?generation=` one.
Also prints MVT bytes against GeoJSON of the same grids. tipg is installed into its own venv
under the state dir (.gisgrid/tipg-venv) so its pins cannot disturb gisgrid's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from bench.common import (
    database_url,
    demo_engine,
    fetch_once,
    repeat,
    serve_gisgrid,
    serve_peer,
    wrk,
    wrk_paths,
)
from gisgrid.mapdata import layers, tiles
from gisgrid.settings import Settings

COUNTY = "441226"
ZOOMS = (10, 11, 12, 13)
CLIENTS = 4
WARM_TARGET, COLD_TARGET = 10.0, 2.0


def _tipg_uvicorn(settings: Settings) -> Path:
    venv = settings.state_dir / "tipg-venv"
    uv = venv / "bin" / "uvicorn"
    if not uv.exists():
        print("installing tipg into", venv, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "tipg", "uvicorn"], check=True)
    return uv


def _tile_list(bbox: list[float]) -> list[tuple[int, int, int]]:
    out = []
    for z in ZOOMS:
        x0, y0 = tiles.lonlat_to_tile(bbox[0], bbox[3], z)
        x1, y1 = tiles.lonlat_to_tile(bbox[2], bbox[1], z)
        out += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return out


def _warm(base: str, urls: list[str]) -> float:
    r = wrk(base, wrk_paths(urls), connections=CLIENTS, seconds=10)
    if r["non2xx"] or r["sock_err"]:
        raise RuntimeError(f"wrk saw errors from {base}: {r}")
    return r["req_s"]


def main() -> None:
    """Print cold and warm tiles/s for gisgrid (plain and pinned URLs) and tipg, and ratios."""
    settings = Settings()
    engine = demo_engine(COUNTY, settings)
    with engine.connect() as conn:
        bbox = layers.unit_outline(conn, COUNTY)["properties"]["bbox"]
        gen = layers.current_generation(conn, COUNTY)
    tlist = _tile_list(bbox)
    print(f"{len(tlist)} grid tiles at z{ZOOMS[0]}-{ZOOMS[-1]} over Deqing (generation {gen})")
    plain = [f"/tiles/grids/{z}/{x}/{y}.mvt" for z, x, y in tlist]
    pinned = [f"/tiles/grids/{z}/{x}/{y}.mvt?generation={gen}" for z, x, y in tlist]
    t_urls = [
        f"/collections/public.grid/tiles/WebMercatorQuad/{z}/{x}/{y}?properties=code,name,village_code"
        for z, x, y in tlist
    ]
    tipg_argv = [str(_tipg_uvicorn(settings)), "tipg.main:app", "--port", "{port}",
                 "--log-level", "warning", "--no-access-log"]  # fmt: skip
    tipg_env = {"DATABASE_URL": database_url(engine), "TIPG_DB_SCHEMAS": '["public"]'}
    sizes: dict[str, int] = {}

    def run() -> dict[str, float]:
        with (
            serve_gisgrid(engine) as g,
            serve_peer("tipg", tipg_argv, tipg_env) as t,
        ):
            # Cold: plain URLs first (as a map opening the README's URL would), then tipg.
            g_cold, sizes["gisgrid"] = fetch_once(g.base, plain, CLIENTS)
            t_cold, sizes["tipg"] = fetch_once(t.base, t_urls, CLIENTS)
            warm_plain = _warm(g.base, plain)
            warm_pinned = _warm(g.base, pinned)
            warm_tipg = _warm(t.base, t_urls)
            # Ratios per run (both servers under the same load), then their medians.
            return {
                "cold_gisgrid": g_cold,
                "cold_tipg": t_cold,
                "cold_ratio": g_cold / t_cold,
                "warm_plain": warm_plain,
                "warm_pinned": warm_pinned,
                "warm_tipg": warm_tipg,
                "warm_ratio": warm_plain / warm_tipg,
            }

    m = repeat("tiles", run)
    with serve_gisgrid(engine) as g, httpx.Client(base_url=g.base, timeout=60) as c:
        gj_bytes = 0
        for z, x, y in tlist:
            b = ",".join(f"{v:.7f}" for v in tiles.tile_bounds(z, x, y))
            r = c.get(f"/maps/data/grids?unit={COUNTY}&bbox={b}&zoom={z}&generation={gen}")
            gj_bytes += len(r.content)
    engine.dispose()
    cold, warm = m["cold_ratio"], m["warm_ratio"]
    print("medians of 3 runs (ratios: the median of each run's ratio):")
    print(
        f"  cold (each tile once, {CLIENTS} connections): gisgrid plain URL "
        f"{m['cold_gisgrid']:6.0f} tiles/s  tipg {m['cold_tipg']:6.0f}  ratio {cold:5.2f}x "
        f"(target {COLD_TARGET:g}x: {'met' if cold >= COLD_TARGET else 'NOT met'})"
    )
    print(
        f"  warm (wrk {CLIENTS} connections, 10 s): gisgrid plain URL {m['warm_plain']:6.0f} "
        f"tiles/s  pinned ?generation= {m['warm_pinned']:6.0f}  tipg {m['warm_tipg']:6.0f}  "
        f"ratio {warm:5.2f}x (target {WARM_TARGET:g}x: "
        f"{'met' if warm >= WARM_TARGET else 'NOT met'}); plain/pinned "
        f"{m['warm_plain'] / m['warm_pinned']:.2f}"
    )
    print(
        f"  bytes: gisgrid MVT {sizes['gisgrid'] / 1024:.0f} KiB, tipg MVT "
        f"{sizes['tipg'] / 1024:.0f} KiB, same grids as GeoJSON {gj_bytes / 1024:.0f} KiB: "
        f"MVT/GeoJSON {sizes['gisgrid'] / gj_bytes:.3f}"
    )
