"""Patrols: track intake, coverage of a unit, a suggested next route, road/key-place import."""

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ConnDep, DbDep, PhotosDep
from api.params import MAX_INT, IdempotencyKey
from api.photos import is_file, read_photo
from api.security import PrincipalDep, body_limit, client_address
from gisgrid.access.accounts import (
    FIELD_ROLES,
    MAP_EDITORS,
    REGISTER_READERS,
    Principal,
    require_staff_in_scope,
)
from gisgrid.divisions.codes import unit_prefix
from gisgrid.errors import InvalidReport, InvalidTrack, PayloadTooLarge
from gisgrid.patrols import coverage, roads, routing, tracks
from gisgrid.reports import field

# A day of 1 Hz fixes as GPX is ~10 MB; anything far beyond that is a mistake or an attack.
# (the front door, api/front.py, counts the bytes of a chunked upload against the same limit.)
MAX_UPLOAD_BYTES = body_limit("/api/v1/patrols/tracks")

router = APIRouter(prefix="/api/v1", tags=["patrols"])


async def _body(request: Request) -> tuple[bytes, str, str | None]:
    """Raw body, or the `file` part of a multipart upload (with its file name)."""
    ctype = request.headers.get("content-type", "")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(
            f"upload of {int(declared):,} bytes is over the {MAX_UPLOAD_BYTES:,}-byte limit; "
            "split the tracks into several uploads"
        )
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        part = form.get("file")
        if part is None or isinstance(part, str):
            raise InvalidTrack("multipart upload needs a `file` part")
        return await part.read(), part.content_type or "", part.filename
    return await request.body(), ctype, None


@router.post("/patrols/tracks")
async def upload_track(
    request: Request,
    db: DbDep,
    who: PrincipalDep,
    staff: Annotated[
        int | None, Query(ge=1, le=MAX_INT, description="staff id, unless each fix names one")
    ] = None,
    max_speed_mps: Annotated[float, Query(gt=0, le=100)] = 15.0,
    duty_start_h: Annotated[float, Query(ge=0, le=24)] = 6.0,
    duty_end_h: Annotated[float, Query(ge=0, le=24)] = 22.0,
    source: Annotated[str, Query(max_length=20)] = "phone",
) -> dict[str, Any]:
    """GPX or GeoJSON upload, or a JSON batch of {staff, t, lon, lat}; stored exactly once."""
    who.require(FIELD_ROLES, "uploading patrol tracks")
    data, ctype, _ = await _body(request)
    if not data.strip():
        raise InvalidTrack("empty body: send GPX, GeoJSON or a JSON list of fixes")
    # Parsing a big upload takes seconds: on a thread, before any database slot is taken.
    frame = await run_in_threadpool(tracks.parse_upload, data, ctype, staff)
    rules = tracks.IntakeRules(max_speed_mps, duty_start_h, duty_end_h)
    return await db.run(_ingest, who, frame, source, rules)


def _ingest(
    conn: Any, who: Principal, frame: Any, source: str, rules: tracks.IntakeRules
) -> dict[str, Any]:
    staff_ids = frame["staff"].dropna().astype("int64").tolist()
    require_staff_in_scope(conn, who, staff_ids, "uploading patrol tracks")
    return tracks.ingest_fixes(conn, frame, source=source, rules=rules)


@router.get("/coverage")
def unit_coverage(
    conn: ConnDep,
    who: PrincipalDep,
    unit: Annotated[str, Query(description="grid (15 digits) or county/town/village code")],
    start: Annotated[
        dt.datetime, Query(description="ISO 8601 with zone, e.g. 2024-05-01T00:00+08:00")
    ],
    end: Annotated[dt.datetime, Query(description="exclusive end, ISO 8601 with zone")],
    buffer_m: Annotated[float, Query(ge=1, le=100)] = coverage.DEFAULT_BUFFER_M,
) -> dict[str, Any]:
    """Road, household and key-place coverage; uncovered roads and unvisited places as GeoJSON."""
    who.require(REGISTER_READERS, "reading patrol coverage")
    who.require_scope(unit if len(unit.strip()) == 15 else unit_prefix(unit), "patrol coverage")
    return coverage.coverage_by_unit(conn, unit, start, end, buffer_m=buffer_m)


@router.get("/patrols/next")
def next_route(
    conn: ConnDep,
    who: PrincipalDep,
    staff: Annotated[int, Query(ge=1, le=MAX_INT, description="staff id of the worker")],
    lookback_days: Annotated[float, Query(gt=0, le=90)] = 7.0,
    max_stops: Annotated[int, Query(ge=1, le=30)] = 10,
    at: Annotated[dt.datetime | None, Query(description="plan as of (default now)")] = None,
) -> dict[str, Any]:
    """A suggested route along the roads through unvisited key places and overdue households."""
    who.require(FIELD_ROLES, "planning a patrol route")
    require_staff_in_scope(conn, who, [staff], "planning a patrol route")
    return routing.suggest_route(
        conn, staff, at=at, lookback_days=lookback_days, max_stops=max_stops
    )


@router.get("/patrols/way")
def way(
    conn: ConnDep,
    who: PrincipalDep,
    from_lon: Annotated[float, Query(description="where you are (WGS84)")],
    from_lat: Annotated[float, Query()],
    to_lon: Annotated[float, Query(description="where you are going (WGS84)")],
    to_lat: Annotated[float, Query()],
) -> dict[str, Any]:
    """带我去: the way along the patrol roads from a position to a place, as a GeoJSON line
    with its length (a straight line, `along_roads: false`, where no road is near)."""
    return routing.way_to(conn, who, from_lon, from_lat, to_lon, to_lat)


@router.post("/roads")
async def import_roads(
    request: Request,
    db: DbDep,
    who: PrincipalDep,
    county: Annotated[str, Query(description="county code, 6 or 12 digits")],
    commit: Annotated[bool, Query(description="write; otherwise a dry run")] = False,
    places: Annotated[bool, Query(description="the file holds key places, not roads")] = False,
) -> dict[str, Any]:
    """Import roads (GeoJSON, GeoPackage, OSM PBF) or key places for a county; dry run first."""
    who.require(MAP_EDITORS, "importing roads and key places")
    who.require_scope(unit_prefix(county), "importing roads and key places")
    data, _, name = await _body(request)
    suffix = Path(name or "").suffix or (
        ".pbf" if data[:4] != b'{"ty' and b"OSMHeader" in data[:64] else ".geojson"
    )
    # Reading a road file is seconds of work: on a thread, before a database slot is taken.
    frame = await run_in_threadpool(_read_upload, data, suffix, places)
    source = f"upload {name or ''}".strip()
    if places:
        return await db.run(_import_places, county, frame, source, commit)
    return await db.run(_import_roads, county, frame, source, commit)


def _read_upload(data: bytes, suffix: str, places: bool) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        return roads.read_roads(path) if not places else roads.read_places(path)


def _import_places(conn: Any, county: str, frame: Any, source: str, commit: bool) -> Any:
    return roads.import_key_places(conn, county, frame, source=source, commit=commit)


def _import_roads(conn: Any, county: str, frame: Any, source: str, commit: bool) -> Any:
    return roads.import_roads(
        conn, county, frame, source=source, commit=commit, progress=lambda m: None
    )


# A patrol report carries at most two photos (the problem, and after the on-the-spot fix); the
# same limit is counted on the bytes received by the front door (api/front.py).
MAX_PATROL_REPORT_BYTES = body_limit("/api/v1/patrols/reports")


@router.post("/patrols/reports", status_code=201, tags=["cases"])
async def patrol_report(
    request: Request,
    who: PrincipalDep,
    db: DbDep,
    photos: PhotosDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """巡查上报: a grid worker files a case where they stand (source `patrol`), multipart:
    `service_code`, `lon`, `lat` (WGS84), `description`, `address`, optional `photo`; to close
    it on the spot (即知即改) also `fixed_note` and an `after_photo`."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_PATROL_REPORT_BYTES:
        raise PayloadTooLarge(
            f"patrol report of {int(declared):,} bytes is over the "
            f"{MAX_PATROL_REPORT_BYTES:,}-byte limit (two photos of 10 MB at most)"
        )
    # The form and its photos are read and checked before a database slot is taken.
    form = await request.form()
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    photo = await read_photo(form.get("photo")) if is_file(form.get("photo")) else None
    after = await read_photo(form.get("after_photo")) if is_file(form.get("after_photo")) else None
    try:
        lon, lat = float(fields.get("lon", "")), float(fields.get("lat", ""))
    except ValueError:
        raise InvalidReport(
            f"lon={fields.get('lon')!r} and lat={fields.get('lat')!r} must be numbers (WGS84)"
        ) from None
    base = str(request.base_url).rstrip("/")

    sent = field.FieldReport(
        service_code=fields.get("service_code", ""),
        lon=lon,
        lat=lat,
        description=fields.get("description"),
        address=fields.get("address"),
        photo=photo,
        after_photo=after,
        fixed_note=fields.get("fixed_note"),
        idempotency_key=idempotency_key,
    )

    def file(conn: Any) -> dict[str, Any]:
        return field.file_patrol_report(
            conn,
            who,
            sent,
            store=photos,
            config=request.app.state.intake_config,
            media_base=base,
            client=client_address(request),
        )

    done = await db.run(file)
    return JSONResponse(
        jsonable_encoder(done),
        status_code=200 if done["replayed"] else 201,
        headers={"Idempotent-Replayed": "true" if done["replayed"] else "false"},
    )
