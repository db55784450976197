"""gisgrid's own browser assets (Leaflet, plugins, page JS/CSS) under /static: no CDN."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from gisgrid.errors import NotFound

router = APIRouter(tags=["static"])

STATIC_DIR = Path(__file__).resolve().parent.parent.parent / "maps" / "static"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
}


def _resolve(path: str) -> Path:
    full = (STATIC_DIR / path).resolve()
    # Refuse ../ escapes and anything that is not a served asset type.
    if STATIC_DIR not in full.parents or full.suffix not in TYPES or not full.is_file():
        raise NotFound(f"no static asset {path!r}")
    return full


def shell_assets() -> dict[str, bytes]:
    """Every served asset as URL -> bytes: what the offline service worker precaches."""
    return {
        f"/static/{f.relative_to(STATIC_DIR).as_posix()}": f.read_bytes()
        for f in sorted(STATIC_DIR.rglob("*"))
        if f.is_file() and f.suffix in TYPES
    }


def read_static(path: str) -> str:
    """The text of a static asset (for self-contained HTML exports)."""
    return _resolve(path).read_text(encoding="utf-8")


@router.get("/static/{path:path}", include_in_schema=False)
def static(path: Annotated[str, PathParam()]) -> FileResponse:
    """A vendored or gisgrid asset; versioned folders, so browsers may cache for a day."""
    full = _resolve(path)
    cache = "public, max-age=86400" if "/vendor/" in f"/{path}" else "public, max-age=60"
    return FileResponse(full, media_type=TYPES[full.suffix], headers={"Cache-Control": cache})
