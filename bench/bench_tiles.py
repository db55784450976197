"""MVT tiles per second from gisgrid and from tipg (PyPI) on the same PostGIS tables.

Both servers run as separate one-worker uvicorn processes against the same database. Cold: every
tile of the county at z10-13 fetched once from a freshly started server (gisgrid's cache empty).
Warm: the same tiles fetched again three times. Also prints MVT bytes against GeoJSON of the same
grids (gisgrid's bbox + zoom-simplified GeoJSON endpoint). tipg is installed into its own venv
under the state dir (.gisgrid/tipg-venv) so its pins cannot disturb gisgrid's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.common import demo_engine
from gisgrid.mapdata import tiles
from gisgrid.settings import PROJECT_DIR, Settings

COUNTY = "441226"
ZOOMS = (10, 11, 12, 13)
WARM_REPEATS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tipg_python(settings: Settings) -> Path:
    venv = settings.state_dir / "tipg-venv"
    uv = venv / "bin" / "uvicorn"
    if not uv.exists():
        print("installing tipg into", venv, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "tipg", "uvicorn"], check=True)
    return uv


def _serve(cmd: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        cmd, env={**os.environ, **env}, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"{cmd[0]} did not start on port {port}")


def _tile_list(bbox: list[float]) -> list[tuple[int, int, int]]:
    out = []
    for z in ZOOMS:
        x0, y0 = tiles.lonlat_to_tile(bbox[0], bbox[3], z)
        x1, y1 = tiles.lonlat_to_tile(bbox[2], bbox[1], z)
        out += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return out


def _run(client: httpx.Client, urls: list[str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    total = 0
    for u in urls:
        r = client.get(u)
        r.raise_for_status()
        total += len(r.content)
    return len(urls) / (time.perf_counter() - t0), total


def _wrk_rate(base: str, urls: list[str], seconds: int = 10, connections: int = 4) -> float:
    """Requests/s from wrk cycling through `urls` at a fixed concurrency (server-bound)."""
    import re
    import shutil
    import tempfile

    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed: apt-get install wrk (./run bench does it)")
    paths = ",".join(f'"{u}"' for u in urls)
    script = (
        f"local paths = {{{paths}}}\nlocal i = 0\n"
        "request = function()\n  i = i + 1\n"
        "  return wrk.format('GET', paths[(i % #paths) + 1])\nend\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as f:
        f.write(script)
        f.flush()
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", f.name, base],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw error responses from {base}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def main() -> None:
    """Print cold and warm tiles/s for gisgrid and tipg, the ratios, and MVT vs GeoJSON bytes."""
    settings = Settings()
    engine = demo_engine(COUNTY, settings)
    with engine.connect() as conn:
        from gisgrid.mapdata import layers

        bbox = layers.unit_outline(conn, COUNTY)["properties"]["bbox"]
        gen = layers.current_generation(conn, COUNTY)
    engine.dispose()
    tlist = _tile_list(bbox)
    print(f"{len(tlist)} grid tiles at z{ZOOMS[0]}-{ZOOMS[-1]} over Deqing", flush=True)

    libpq = engine.url.render_as_string(hide_password=False).replace(
        "postgresql+psycopg://", "postgresql://"
    )
    gport, tport = _free_port(), _free_port()
    gis = _serve(
        [str(PROJECT_DIR / ".venv/bin/uvicorn"), "--factory", "api.app:create_app",
         "--port", str(gport), "--log-level", "warning"],
        {"GISGRID_DATABASE_URL": libpq}, gport,
    )  # fmt: skip
    tipg = _serve(
        [str(_tipg_python(settings)), "tipg.main:app", "--port", str(tport),
         "--log-level", "warning"],
        {"DATABASE_URL": libpq, "TIPG_DB_SCHEMAS": '["public"]'},
        tport,
    )  # fmt: skip
    try:
        g_urls = [f"/tiles/grids/{z}/{x}/{y}.mvt?generation={gen}" for z, x, y in tlist]
        t_urls = [
            f"/collections/public.grid/tiles/WebMercatorQuad/{z}/{x}/{y}"
            "?properties=code,name,village_code"
            for z, x, y in tlist
        ]
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{gport}", timeout=60) as g,
            httpx.Client(base_url=f"http://127.0.0.1:{tport}", timeout=60) as t,
        ):
            g_cold, g_bytes = _run(g, g_urls)
            t_cold, t_bytes = _run(t, t_urls)
            g_warm, _ = _run(g, g_urls * WARM_REPEATS)
            t_warm, _ = _run(t, t_urls * WARM_REPEATS)
            gj_bytes = 0
            for z, x, y in tlist:
                b = ",".join(f"{v:.7f}" for v in tiles.tile_bounds(z, x, y))
                r = g.get(f"/maps/data/grids?unit={COUNTY}&bbox={b}&zoom={z}&generation={gen}")
                gj_bytes += len(r.content)
        print(
            f"cold  gisgrid {g_cold:8.0f} tiles/s   tipg {t_cold:8.0f} tiles/s   "
            f"ratio {g_cold / t_cold:5.2f}x"
        )
        print(
            f"warm  gisgrid {g_warm:8.0f} tiles/s   tipg {t_warm:8.0f} tiles/s   "
            f"ratio {g_warm / t_warm:5.2f}x"
        )
        # Sequential single-client figures are bound by the Python client; wrk measures the
        # servers themselves at a fixed concurrency, both warm (every tile fetched before).
        g_wrk = _wrk_rate(f"http://127.0.0.1:{gport}", g_urls)
        t_wrk = _wrk_rate(f"http://127.0.0.1:{tport}", t_urls)
        print(
            f"warm, wrk 4 connections: gisgrid {g_wrk:8.0f} tiles/s   tipg {t_wrk:8.0f} tiles/s"
            f"   ratio {g_wrk / t_wrk:5.2f}x"
        )
        print(f"bytes gisgrid MVT {g_bytes / 1024:.0f} KiB, tipg MVT {t_bytes / 1024:.0f} KiB, "
              f"same grids as GeoJSON {gj_bytes / 1024:.0f} KiB: MVT/GeoJSON "
              f"{g_bytes / gj_bytes:.3f}")  # fmt: skip
    finally:
        for p in (gis, tipg):
            p.terminate()
            p.wait(timeout=10)
