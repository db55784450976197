"""Photos: served by content (no EXIF, cached for good), added to reports by their handlers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from api.deps import ConnDep, DbDep, PhotosDep
from api.params import IdempotencyKey, ReportId
from api.photos import read_photo
from api.security import PrincipalDep
from gisgrid import media
from gisgrid.errors import NotAuthenticated, NotFound

router = APIRouter(tags=["photos"])

# A photo's URL names its content: it never changes, so browsers and proxies keep it for good.
FOREVER = "max-age=31536000, immutable"


@router.get(
    "/media/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}},
    summary="A photo (screen copy or .thumb.jpg), without EXIF",
)
def photo_file(conn: ConnDep, who: PrincipalDep, photos: PhotosDep, name: str) -> FileResponse:
    """Photos on reports are public; photos of household visits only for staff in scope."""
    parsed = media.parse_name(name)
    if parsed is None:
        raise NotFound(f"{name!r} is not a photo name (<sha256>.jpg or <sha256>.thumb.jpg)")
    sha, thumb = parsed
    if not media.may_see(conn, who, sha):
        if who.is_public:
            raise NotAuthenticated(
                "this photo is of a household visit: sign in to see it",
                reason="auth.sign_in",
                action="seeing a household visit's photo",
            )
        raise who.outside_scope(
            "seeing a household visit's photo",
            f"照片 {sha[:12]}",
            f"photo {sha[:12]}... belongs to a household outside your scope",
        )
    path = photos.path(sha, thumb)
    if not path.is_file():
        raise NotFound(f"photo {sha[:12]}... is recorded but its file is missing")
    public = media.is_public(conn, sha)
    return FileResponse(
        path,
        media_type="image/jpeg",
        headers={"Cache-Control": f"{'public' if public else 'private'}, {FOREVER}"},
    )


@router.post("/api/v1/reports/{report_id}/photos", status_code=201, tags=["cases"])
async def add_photo(
    report_id: ReportId,
    who: PrincipalDep,
    db: DbDep,
    photos: PhotosDep,
    photo: UploadFile,
    stage: Annotated[str, Form(description="report, before (处置前) or after (处置后)")] = "after",
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A handler's photo on a case in scope: before (处置前) or after (处置后) the work, or with
    the report. JPEG, PNG or HEIC up to 10 MB; the served copy has no EXIF, staff see how far
    from the report's point the photo says it was taken."""
    # Checked and re-encoded on a thread before a database slot is taken.
    prepared = await read_photo(photo)
    added = await db.run(
        media.add_report_photo, photos, who, report_id, prepared, stage, idempotency_key
    )
    return JSONResponse(
        added | {"added_at": added["added_at"].isoformat(), "taken_at": _iso(added["taken_at"])},
        status_code=200 if added["replayed"] else 201,
        headers={"Idempotent-Replayed": "true" if added["replayed"] else "false"},
    )


def _iso(t: Any) -> str | None:
    return t.isoformat() if t is not None else None


@router.get("/api/v1/reports/{report_id}/photos", tags=["cases"])
def list_photos(conn: ConnDep, report_id: ReportId) -> list[dict[str, Any]]:
    """A report's photos as anyone may see them (no EXIF, no names, no positions)."""
    return media.report_photos(conn, report_id, staff=False)
