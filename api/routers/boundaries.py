"""Boundary files in (dry run by default, commit on a second call) and out."""

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from api.deps import ConnDep
from api.params import aware
from api.security import PrincipalDep, body_limit
from gisgrid.access.accounts import MAP_EDITORS
from gisgrid.boundaries.export import EXPORT_FORMATS, grids_frame, write_grids
from gisgrid.boundaries.service import import_boundaries
from gisgrid.errors import InvalidImport

router = APIRouter(prefix="/api/v1/boundaries", tags=["boundaries"])

MAX_UPLOAD = body_limit("/api/v1/boundaries/imports")


@router.post("/imports")
def post_import(
    conn: ConnDep,
    who: PrincipalDep,
    file: Annotated[
        UploadFile, File(description="GeoJSON, GPKG, zipped Shapefile, GeoParquet, CSV")
    ],
    level: Annotated[str, Form(description="county, town, village or grid")],
    crs: Annotated[str | None, Form(description="EPSG:4326/4490/4491-4554, gcj02, bd09")] = None,
    generation: Annotated[str | None, Form(description="name of the new generation")] = None,
    commit: Annotated[bool, Form(description="write it (all or nothing); default dry run")] = False,
    repair: Annotated[bool, Form(description="apply the proposed repairs")] = False,
    valid_from: Annotated[dt.datetime | None, Form()] = None,
    code_field: Annotated[str | None, Form()] = None,
    name_field: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    """Check an uploaded boundary file and return the report; with commit=true, also write it."""
    who.require(MAP_EDITORS, "importing boundaries")
    name = Path(file.filename or "upload").name
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidImport(f"{name!r} is larger than {MAX_UPLOAD // 2**20} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        return import_boundaries(
            conn,
            path,
            level,
            crs=crs,
            repair=repair,
            commit=commit,
            generation=generation,
            valid_from=aware(valid_from),
            source_name=name,
            code_field=code_field,
            name_field=name_field,
            scope=who.scope,
        )


@router.get("/export", response_class=Response)
def export_grids(
    conn: ConnDep,
    format: Annotated[str, Query(description=", ".join(EXPORT_FORMATS))] = "geojson",
    generation: Annotated[str | None, Query(description="a generation by name")] = None,
    as_of: Annotated[dt.datetime | None, Query(description="grids valid on this date")] = None,
    unit: Annotated[str | None, Query(description="county, town or village code")] = None,
) -> Response:
    """Grids of any generation as GeoJSON, GeoPackage, zipped Shapefile, CSV or GeoParquet."""
    if format not in EXPORT_FORMATS:
        raise InvalidImport(f"format={format!r} must be one of {', '.join(EXPORT_FORMATS)}")
    frame = grids_frame(conn, unit=unit, generation=generation, as_of=aware(as_of))
    media, suffix = EXPORT_FORMATS[format]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_grids(frame, format, Path(tmp) / f"grids{suffix}")
        body = path.read_bytes()
    filename = f"grids-{generation or (as_of.date().isoformat() if as_of else 'current')}{suffix}"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
