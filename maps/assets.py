"""The pages' own browser assets under maps/static (Leaflet, plugins, page JS/CSS): no CDN."""

from __future__ import annotations

from pathlib import Path

from gisgrid.errors import NotFound

STATIC_DIR = Path(__file__).resolve().parent / "static"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
}


def resolve(path: str) -> Path:
    """The file behind /static/<path>, or NotFound (no ../ escapes, only served types)."""
    try:
        full = (STATIC_DIR / path).resolve()
    except (ValueError, OSError):  # a NUL byte, a name too long for the file system
        raise NotFound(f"no static asset {path[:100]!r}") from None
    if STATIC_DIR not in full.parents or full.suffix not in TYPES or not full.is_file():
        raise NotFound(f"no static asset {path!r}")
    return full


# Assets only the center's wall uses: a worker's phone is not made to download and keep them
# (ECharts alone is 700 KB).
WALL_ONLY = ("vendor/echarts-", "gisgrid/wall.")


def shell_assets() -> dict[str, bytes]:
    """Every served asset a phone may need offline, URL -> bytes: what the service worker
    precaches (the wall's own charts and script are left out)."""
    return {
        f"/static/{rel}": f.read_bytes()
        for f in sorted(STATIC_DIR.rglob("*"))
        if f.is_file()
        and f.suffix in TYPES
        and not (rel := f.relative_to(STATIC_DIR).as_posix()).startswith(WALL_ONLY)
    }


def read_static(path: str) -> str:
    """The text of a static asset (for self-contained HTML exports)."""
    return resolve(path).read_text(encoding="utf-8")
