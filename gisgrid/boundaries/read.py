"""Reading planners' boundary files into plain arrays: codes, names, geometries as drawn."""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from gisgrid.errors import InvalidGeometry

# Field names planners' files use for the code and the name (English, pinyin initials, Chinese).
CODE_FIELDS = ("code", "grid_code", "wgbm", "bm", "dm", "adcode", "网格编码", "编码", "代码")
NAME_FIELDS = ("name", "grid_name", "wgmc", "mc", "网格名称", "名称")
PARENT_FIELDS = ("parent_code", "village_code", "parent", "cjbm", "村编码", "上级编码")
WKT_FIELDS = ("wkt", "geometry", "geom", "the_geom", "shape")
FORMATS = ("geojson", "gpkg", "shp.zip", "parquet", "csv")


@dataclass
class RawBoundaries:
    """Features as the file holds them: nothing converted, nothing repaired."""

    source_name: str
    sha256: str
    format: str
    crs: pyproj.CRS | None
    codes: np.ndarray  # str, '' where missing
    names: np.ndarray  # str, '' where missing
    parents: np.ndarray | None  # str, the parent code the file states, if it has the column
    geoms: np.ndarray  # shapely geometries, None where unreadable
    unreadable: dict[int, str] = field(default_factory=dict)  # row -> why


def _format_of(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".geojson", ".json")):
        return "geojson"
    if name.endswith(".gpkg"):
        return "gpkg"
    if name.endswith(".zip"):
        return "shp.zip"
    if name.endswith((".parquet", ".geoparquet")):
        return "parquet"
    if name.endswith((".csv", ".txt")):
        return "csv"
    if name.endswith(".shp"):
        return "shp"
    raise InvalidGeometry(
        f"{path.name!r}: unknown file type; gisgrid reads .geojson/.json, .gpkg, zipped Shapefile "
        "(.zip), GeoParquet (.parquet) and CSV with a WKT column (.csv)"
    )


def _as_text(col: pd.Series) -> np.ndarray:
    # Shapefiles and GeoPackages often store codes as numbers; 15 digits fit exactly in int64
    # but not always in a float, so floats are formatted without an exponent.
    if pd.api.types.is_float_dtype(col):
        return np.array(["" if pd.isna(v) else f"{v:.0f}" for v in col], dtype=object)
    return col.fillna("").astype(str).str.strip().to_numpy(dtype=object)


def _pick(columns: list[str], wanted: tuple[str, ...], given: str | None) -> str | None:
    if given:
        if given not in columns:
            raise InvalidGeometry(f"field {given!r} is not in the file; it has {columns}")
        return given
    lower = {c.lower(): c for c in columns}
    return next((lower[w] for w in wanted if w in lower), None)


def _read_frame(path: Path, fmt: str) -> tuple[pd.DataFrame, np.ndarray, pyproj.CRS | None]:
    if fmt == "parquet":
        gdf = gpd.read_parquet(path)
        return pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), gdf.geometry.values, gdf.crs
    if fmt == "csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False), np.array([]), None
    source = str(path)
    if fmt == "shp.zip":
        with zipfile.ZipFile(path) as zf:
            shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
        if len(shps) != 1:
            raise InvalidGeometry(
                f"{path.name!r} must hold exactly one .shp (with its .shx/.dbf/.prj); found {shps}"
            )
        source = f"/vsizip/{path}/{shps[0]}"
    # on_invalid="ignore": an unparseable geometry becomes None and is reported, not raised.
    gdf = pyogrio.read_dataframe(source, on_invalid="ignore")
    return pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), gdf.geometry.values, gdf.crs


def read_boundaries(
    path: Path,
    *,
    source_name: str | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
) -> RawBoundaries:
    """Read a boundary file: codes, names, optional parent codes and geometries, unchanged."""
    path = Path(path)
    fmt = _format_of(path)
    try:
        frame, geoms, crs = _read_frame(path, fmt)
    except InvalidGeometry:
        raise
    except Exception as exc:  # GDAL, pyarrow and pandas each raise their own classes
        name = source_name or path.name
        raise InvalidGeometry(f"{name!r} could not be read as {fmt}: {exc}") from exc
    columns = list(frame.columns)
    unreadable: dict[int, str] = {}
    if fmt == "csv":
        wkt = _pick(columns, WKT_FIELDS, None)
        if wkt is None:
            raise InvalidGeometry(
                f"{path.name!r} has no WKT column; name one of {list(WKT_FIELDS)} (has {columns})"
            )
        text = frame.pop(wkt).to_numpy(dtype=object)
        geoms = shapely.from_wkt(text, on_invalid="ignore")
        for i in np.flatnonzero(shapely.is_missing(geoms) & (text != "")):
            unreadable[int(i)] = f"WKT {str(text[i])[:40]!r} cannot be parsed"
        columns = list(frame.columns)
    code_col = _pick(columns, CODE_FIELDS, code_field)
    if code_col is None:
        raise InvalidGeometry(
            f"{path.name!r} has no code field; name it one of {list(CODE_FIELDS)} or pass "
            f"--code-field (fields: {columns})"
        )
    name_col = _pick(columns, NAME_FIELDS, name_field)
    parent_col = _pick(columns, PARENT_FIELDS, None)
    n = len(frame)
    return RawBoundaries(
        source_name=source_name or path.name,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        format=fmt,
        crs=crs,
        codes=_as_text(frame[code_col]),
        names=_as_text(frame[name_col]) if name_col else np.full(n, "", dtype=object),
        parents=_as_text(frame[parent_col]) if parent_col else None,
        geoms=np.asarray(geoms, dtype=object),
        unreadable=unreadable,
    )
