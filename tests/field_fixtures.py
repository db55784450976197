"""Shared set-up for the field tests (issue 16): a grid, its worker, a grid elsewhere, photos.

The accounts are made once in the module's template (`seed_template = make_field`); what a test
makes (reports, visits, photos' rows) goes into its own copy, dropped after it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import piexif
import pillow_heif
from PIL import Image
from sqlalchemy import Engine, text

from bench.common import one
from tests.databases import sign_up

PASSWORD = "field work password"
MARK = "（现场测试）"


@dataclass
class Field:
    """A grid nobody patrolled near one of its households, its worker, and a grid elsewhere."""

    grid: str
    lon: float
    lat: float
    households: list[int]
    quiet_household: int  # no patrol fix within 30 m in the last 7 days
    care_household: int | None
    away_grid: str
    away_household: int
    away_lon: float
    away_lat: float
    worker: str
    away_worker: str
    operator: str
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str = "worker") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def make_field(engine: Engine) -> Field:
    """Pick the grids, make the accounts, sign them in (once, in the module's template)."""
    with engine.connect() as conn:
        grid, lon, lat = one(
            conn,
            "SELECT g.code, ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)) "
            "FROM grid g WHERE g.valid_to IS NULL AND g.code LIKE '441226%' "
            "AND (SELECT count(*) FROM household h WHERE h.grid_id = g.id) BETWEEN 20 AND 400 "
            "AND EXISTS (SELECT 1 FROM household h WHERE h.grid_id = g.id "
            "            AND cardinality(h.care_tags) > 0) "
            "AND NOT EXISTS (SELECT 1 FROM report r WHERE r.grid_id = g.id "
            "  AND r.status IN ('submitted', 'registered', 'dispatched', 'in_progress')) "
            "ORDER BY g.code DESC LIMIT 1",
        )
        households = list(
            conn.execute(
                text(
                    "SELECT h.id FROM household h JOIN grid g ON g.id = h.grid_id "
                    "WHERE g.code = :g ORDER BY h.id"
                ),
                {"g": grid},
            ).scalars()
        )
        quiet = conn.execute(
            text(
                "SELECT h.id FROM household h JOIN grid g ON g.id = h.grid_id WHERE g.code = :g "
                "AND cardinality(h.care_tags) = 0 AND NOT EXISTS (SELECT 1 FROM patrol_fix f "
                "WHERE f.geom && ST_Expand(h.geom, 0.002) AND f.t > now() - interval '8 days' "
                "AND ST_DWithin(f.geom::geography, h.geom::geography, 40)) "
                "AND NOT EXISTS (SELECT 1 FROM household_visit v WHERE v.household_id = h.id) "
                "ORDER BY h.id DESC LIMIT 1"
            ),
            {"g": grid},
        ).scalar_one()
        care = conn.execute(
            text(
                "SELECT h.id FROM household h JOIN grid g ON g.id = h.grid_id WHERE g.code = :g "
                "AND cardinality(h.care_tags) > 0 ORDER BY h.id LIMIT 1"
            ),
            {"g": grid},
        ).scalar()
        away_grid, away_hh, away_lon, away_lat = conn.execute(
            text(
                "SELECT g.code, h.id, ST_X(h.geom), ST_Y(h.geom) FROM grid g "
                "JOIN household h ON h.grid_id = g.id WHERE g.valid_to IS NULL "
                "AND left(g.code, 9) <> :town AND g.code LIKE '441226%' ORDER BY g.code, h.id "
                "LIMIT 1"
            ),
            {"town": grid[:9]},
        ).one()
    households = [quiet] + [h for h in households if h != quiet]  # tests use [1:] freely
    f = Field(
        grid=grid,
        lon=lon,
        lat=lat,
        households=households,
        quiet_household=quiet,
        care_household=care,
        away_grid=away_grid,
        away_household=away_hh,
        away_lon=away_lon,
        away_lat=away_lat,
        worker="t-field-worker",
        away_worker="t-field-away",
        operator="t-field-operator",
    )
    plan = {
        "worker": ("grid_worker", grid),
        "away": ("grid_worker", away_grid),
        "operator": ("town_operator", grid[:9]),
    }
    f.tokens = sign_up(engine, plan, PASSWORD, "t-field")
    return f


def dispatched_report(engine: Engine, grid: str, description: str = MARK) -> int:
    """A dispatched report at a point inside the grid (straight into the table)."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                text(
                    "INSERT INTO report (category, description, source, status, grid_id, "
                    "reported_at, dispatched_at, due_at, generated, geom, reporter, "
                    "handler_level) SELECT 'SJ01', :d, 'resident', 'dispatched', g.id, "
                    "now() - interval '1 hour', now() - interval '50 minutes', "
                    "now() + interval '1 day', false, ST_PointOnSurface(g.geom), "
                    "'{\"phone\": \"13800138000\"}'::jsonb, 'full_time' FROM grid g "
                    "WHERE g.code = :g AND g.valid_to IS NULL RETURNING id"
                ),
                {"g": grid, "d": description},
            ).scalar_one()
        )


def _dms(value: float) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    deg = int(value)
    minutes_f = (value - deg) * 60
    minutes = int(minutes_f)
    seconds = round((minutes_f - minutes) * 60 * 10000)
    return ((deg, 1), (minutes, 1), (seconds, 10000))


def exif_bytes(lon: float | None, lat: float | None, when: str = "2024:05:06 10:11:12") -> bytes:
    """EXIF with a GPS position and a time taken, as a phone writes it."""
    gps = {}
    if lon is not None and lat is not None:
        gps = {
            piexif.GPSIFD.GPSLatitudeRef: b"N" if lat >= 0 else b"S",
            piexif.GPSIFD.GPSLatitude: _dms(abs(lat)),
            piexif.GPSIFD.GPSLongitudeRef: b"E" if lon >= 0 else b"W",
            piexif.GPSIFD.GPSLongitude: _dms(abs(lon)),
        }
    return bytes(
        piexif.dump(
            {
                "0th": {piexif.ImageIFD.Make: b"TestPhone", piexif.ImageIFD.Orientation: 1},
                "Exif": {
                    piexif.ExifIFD.DateTimeOriginal: when.encode(),
                    piexif.ExifIFD.OffsetTimeOriginal: b"+08:00",
                },
                "GPS": gps,
            }
        )
    )


def photo_bytes(
    fmt: str = "JPEG",
    lon: float | None = None,
    lat: float | None = None,
    size: tuple[int, int] = (1200, 900),
    colour: tuple[int, int, int] = (200, 60, 40),
) -> bytes:
    """A photo in JPEG, PNG or HEIC, with EXIF (position and time) when lon/lat are given."""
    pillow_heif.register_heif_opener()
    im = Image.new("RGB", size, colour)
    for x in range(0, size[0], 40):  # some detail, so it is not one flat colour
        im.paste((255, 255, 255), (x, 0, x + 8, size[1]))
    out = io.BytesIO()
    exif = exif_bytes(lon, lat) if lon is not None else b""
    if fmt == "HEIF":
        im.save(out, format="HEIF", quality=60, exif=exif or None)
    elif fmt == "PNG":
        im.save(out, format="PNG", exif=exif or None)
    else:
        im.save(out, format="JPEG", quality=85, exif=exif)
    return out.getvalue()
