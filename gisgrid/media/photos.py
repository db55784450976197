"""Photos (照片): read once, kept by content, served without EXIF.

A photo arrives as JPEG, PNG or HEIC (an iPhone's own format; read by pillow-heif). It is
checked by its bytes, not its name; its EXIF position and time are read (they say where and
when it was taken, to compare with the report's point); then one copy for the screen (at most
1600 px, orientation applied, re-encoded as JPEG with no EXIF, XMP or ICC data, so nothing
about the phone or the place reaches whoever looks at it) and one thumbnail are written under
the state dir, named by the SHA-256 of the bytes received. The same photo sent twice is the
same file and the same row; the original upload is not kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import piexif
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import Principal
from gisgrid.errors import PayloadTooLarge, UnsupportedMedia

pillow_heif.register_heif_opener()

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # a HEIC straight from a phone is 1-4 MB
MAX_PIXELS = 50_000_000  # a decompression bomb is refused, not decoded
SCREEN_SIDE = 1600
THUMB_SIDE = 320
QUALITY = 82
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
# EXIF times carry no zone unless OffsetTimeOriginal says; phones here are on China time.
LOCAL = ZoneInfo("Asia/Shanghai")
URL_PREFIX = "/media/"


@dataclass(frozen=True)
class PhotoStore:
    """Where photo files live: <root>/<first two hex digits>/<sha256>.<jpg|thumb.jpg>."""

    root: Path

    def path(self, sha: str, thumb: bool = False) -> Path:
        """The file of a photo's screen copy or thumbnail."""
        return self.root / sha[:2] / f"{sha}{'.thumb' if thumb else ''}.jpg"


@dataclass(frozen=True)
class Prepared:
    """A photo read and re-encoded, not yet written anywhere."""

    sha256: str
    media_type: str
    bytes_in: int
    width: int
    height: int
    taken_at: dt.datetime | None
    taken_lon: float | None
    taken_lat: float | None
    screen: bytes
    thumb: bytes


# Prepared's fields that are the photo's bytes, not a description of it.
ENCODED = ("screen", "thumb")


def sniff(data: bytes) -> str:
    """The media type by the file's first bytes, or UnsupportedMedia naming what is read."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "image/heic"
    raise UnsupportedMedia(
        f"the upload ({len(data):,} bytes, starting {data[:12]!r}) is not a JPEG, PNG or HEIC photo"
    )


def _rational(v: Any) -> float:
    return float(v[0]) / float(v[1]) if v[1] else 0.0


def _degrees(dms: Any, ref: bytes | str | None) -> float | None:
    try:
        value = _rational(dms[0]) + _rational(dms[1]) / 60 + _rational(dms[2]) / 3600
    except (TypeError, IndexError, ValueError, ZeroDivisionError):
        return None
    ref_s = ref.decode(errors="ignore") if isinstance(ref, bytes) else (ref or "")
    return -value if ref_s.upper().startswith(("S", "W")) else value


def read_exif(exif: bytes | None) -> tuple[dt.datetime | None, float | None, float | None]:
    """(taken_at, lon, lat) from EXIF bytes; None where the photo does not say."""
    if not exif:
        return None, None, None
    try:
        tags = piexif.load(exif if exif.startswith(b"Exif") else b"Exif\x00\x00" + exif)
    except Exception:  # a broken EXIF block says nothing; the photo itself is still good
        return None, None, None
    gps, ex = tags.get("GPS") or {}, tags.get("Exif") or {}
    lat = _degrees(gps.get(piexif.GPSIFD.GPSLatitude), gps.get(piexif.GPSIFD.GPSLatitudeRef))
    lon = _degrees(gps.get(piexif.GPSIFD.GPSLongitude), gps.get(piexif.GPSIFD.GPSLongitudeRef))
    # Out of range, or 0,0 ("no fix" on some phones): no position.
    if (
        lat is None
        or lon is None
        or not (-90 <= lat <= 90 and -180 <= lon <= 180)
        or lat == lon == 0
    ):
        lat = lon = None
    when = None
    raw = ex.get(piexif.ExifIFD.DateTimeOriginal) or (tags.get("0th") or {}).get(
        piexif.ImageIFD.DateTime
    )
    if raw:
        try:
            naive = dt.datetime.strptime(raw.decode(errors="ignore")[:19], "%Y:%m:%d %H:%M:%S")
            offset = ex.get(piexif.ExifIFD.OffsetTimeOriginal)
            if offset:
                sign = -1 if offset.decode()[0] == "-" else 1
                hh, mm = offset.decode()[1:].split(":")
                tz: dt.tzinfo = dt.timezone(sign * dt.timedelta(hours=int(hh), minutes=int(mm)))
            else:
                tz = LOCAL
            when = naive.replace(tzinfo=tz)
        except (ValueError, IndexError, UnicodeDecodeError):
            when = None
    return (
        when,
        (round(lon, 7) if lon is not None else None),
        (round(lat, 7) if lat is not None else None),
    )


def _jpeg(im: Image.Image, side: int) -> bytes:
    copy = im.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # No exif=, icc_profile= or xmp=: the screen copy carries pixels only.
    copy.save(out, format="JPEG", quality=QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def prepare(data: bytes) -> Prepared:
    """Check, read and re-encode one upload (no disk, no database)."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PayloadTooLarge(
            f"photo of {len(data):,} bytes is over the {MAX_PHOTO_BYTES:,}-byte limit; "
            "send it shrunk (the map shrinks photos before sending)"
        )
    if not data:
        raise UnsupportedMedia("the photo is empty (0 bytes)")
    media_type = sniff(data)
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > MAX_PIXELS:
                raise UnsupportedMedia(
                    f"photo of {im.width}x{im.height} pixels is over {MAX_PIXELS:,} pixels"
                )
            taken_at, lon, lat = read_exif(im.info.get("exif") or _exif_of(im))
            im.load()
            upright = ImageOps.exif_transpose(im)
            rgb = _flatten(upright)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedMedia(f"the {media_type} photo cannot be read: {exc}") from None
    screen = _jpeg(rgb, SCREEN_SIDE)
    with Image.open(io.BytesIO(screen)) as shown:
        width, height = shown.size
    return Prepared(
        sha256=hashlib.sha256(data).hexdigest(),
        media_type=media_type,
        bytes_in=len(data),
        width=width,
        height=height,
        taken_at=taken_at,
        taken_lon=lon,
        taken_lat=lat,
        screen=screen,
        thumb=_jpeg(rgb, THUMB_SIDE),
    )


def _exif_of(im: Image.Image) -> bytes | None:
    exif = im.getexif()
    return exif.tobytes() if len(exif) else None


def _flatten(im: Image.Image) -> Image.Image:
    """RGB on white (PNG transparency would turn black in a JPEG)."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        back = Image.new("RGB", rgba.size, (255, 255, 255))
        back.paste(rgba, mask=rgba.getchannel("A"))
        return back
    return im.convert("RGB")


def _write(path: Path, data: bytes) -> None:
    """Write once, atomically: a file that exists is the same content (its name is its hash)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_files(store: PhotoStore, photo: Prepared) -> None:
    """The screen copy and the thumbnail on disk (idempotent)."""
    _write(store.path(photo.sha256), photo.screen)
    _write(store.path(photo.sha256, thumb=True), photo.thumb)


def discard_files(conn: Connection, store: PhotoStore, sha: str) -> None:
    """Remove files no photo row refers to (after a refused request wrote them)."""
    if sql.scalar(conn, "media/photo_id", sha=sha) is None:
        store.path(sha).unlink(missing_ok=True)
        store.path(sha, thumb=True).unlink(missing_ok=True)


def save(conn: Connection, store: PhotoStore, who: Principal, photo: Prepared) -> int:
    """The id of the photo's row (created if new), its files written (caller's transaction)."""
    write_files(store, photo)
    # The row describes the photo: every field but the encoded copies, which are files.
    described = {f.name: getattr(photo, f.name) for f in fields(photo) if f.name not in ENCODED}
    sql.execute(
        conn,
        "media/photo_insert",
        **described,
        account_id=who.account_id,
        username=who.username,
    )
    return int(sql.scalar(conn, "media/photo_id", sha=photo.sha256))


def url(sha: str, thumb: bool = False) -> str:
    """Where the photo is served (path only; the API adds the host where it needs one)."""
    return f"{URL_PREFIX}{sha}{'.thumb' if thumb else ''}.jpg"


def parse_name(name: str) -> tuple[str, bool] | None:
    """(sha256, thumb) from a served file name, or None if it is not one."""
    thumb = name.endswith(".thumb.jpg")
    sha = name[: -len(".thumb.jpg")] if thumb else name.removesuffix(".jpg")
    if not name.endswith(".jpg") or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        return None
    return sha, thumb
