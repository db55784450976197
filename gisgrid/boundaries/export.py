"""Writing grids out as GeoJSON, GeoPackage, zipped Shapefile, CSV (WKT) or GeoParquet."""

from __future__ import annotations

import datetime as dt
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.divisions import unit_prefix
from gisgrid.errors import InvalidCode, NotFound

EXPORT_FORMATS = {
    "geojson": ("application/geo+json", ".geojson"),
    "gpkg": ("application/geopackage+sqlite3", ".gpkg"),
    "shp": ("application/zip", ".shp.zip"),
    "csv": ("text/csv", ".csv"),
    "parquet": ("application/vnd.apache.parquet", ".parquet"),
}


def grids_frame(
    conn: Connection,
    *,
    unit: str | None = None,
    generation: str | None = None,
    as_of: dt.datetime | None = None,
) -> gpd.GeoDataFrame:
    """Grids of one generation (by name), as of a date, or current; optionally within a unit."""
    if generation is not None:
        found = sql.scalar(conn, "boundaries/generation_id", n=generation)
        if found is None:
            names = sql.execute(conn, "boundaries/generation_names").scalars().all()
            raise NotFound(f"no generation is named {generation!r}; there are {names}")
    rows = sql.execute(
        conn,
        "boundaries/export_grids",
        generation=generation,
        as_of=as_of,
        prefix=unit_prefix(unit) if unit else None,
    ).all()
    frame = gpd.GeoDataFrame(
        {
            "code": [r.code for r in rows],
            "name": [r.name for r in rows],
            "village_code": [r.village_code for r in rows],
            "generation": [r.generation for r in rows],
            "valid_from": [r.valid_from.isoformat() for r in rows],
            "valid_to": [r.valid_to.isoformat() if r.valid_to else None for r in rows],
            "generated": [r.geom_generated for r in rows],
        },
        geometry=shapely.from_wkb([r.wkb for r in rows]) if rows else [],
        crs="EPSG:4326",
    )
    return frame


def write_grids(frame: gpd.GeoDataFrame, fmt: str, path: Path) -> Path:
    """Write a grids frame in one of EXPORT_FORMATS to path; returns the path written."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidCode(f"format={fmt!r} must be one of {', '.join(EXPORT_FORMATS)}")
    path = Path(path)
    if fmt == "geojson":
        pyogrio.write_dataframe(frame, path, driver="GeoJSON", COORDINATE_PRECISION=7)
    elif fmt == "gpkg":
        pyogrio.write_dataframe(frame, path, driver="GPKG", layer="grids")
    elif fmt == "csv":
        out = frame.drop(columns="geometry")
        out.insert(0, "wkt", shapely.to_wkt(frame.geometry.values, rounding_precision=7))
        out.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path)
    else:
        # Shapefile field names are cut at 10 characters and need the .prj to say the CRS; zip
        # the set because a Shapefile is four files.
        with tempfile.TemporaryDirectory() as tmp:
            shp = Path(tmp) / "grids.shp"
            pyogrio.write_dataframe(
                frame.rename(columns={"village_code": "village", "generation": "gen"}),
                shp,
                driver="ESRI Shapefile",
                encoding="UTF-8",
            )
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
                for part in sorted(Path(tmp).iterdir()):
                    zf.write(part, part.name)
    return path
