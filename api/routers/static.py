"""gisgrid's own browser assets (Leaflet, plugins, page JS/CSS) under /static: no CDN."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from maps import assets

router = APIRouter(tags=["static"])


@router.get("/static/{path:path}", include_in_schema=False)
def static(path: Annotated[str, PathParam()]) -> FileResponse:
    """A vendored or gisgrid asset; versioned folders, so browsers may cache for a day."""
    full = assets.resolve(path)
    cache = "public, max-age=86400" if "/vendor/" in f"/{path}" else "public, max-age=60"
    return FileResponse(
        full, media_type=assets.TYPES[full.suffix], headers={"Cache-Control": cache}
    )
