"""Boundaries in and out: read planners' files, validate them, commit a generation, export.

`read` turns a file (GeoJSON, GeoPackage, zipped Shapefile, GeoParquet, CSV with WKT) in any
supported CRS into WGS84 features; `check` lists every problem with its feature; `commit` writes
a new generation all or nothing; `export` writes grids back out for QGIS, GDAL and ArcGIS.
"""

from gisgrid.boundaries.check import plan_import
from gisgrid.boundaries.commit import MIN_LINEAGE_SHARE, commit_import
from gisgrid.boundaries.crs import gk_zone_for, metric
from gisgrid.boundaries.export import EXPORT_FORMATS, grids_frame, write_grids
from gisgrid.boundaries.read import RawBoundaries, read_boundaries
from gisgrid.boundaries.service import format_report, import_boundaries

__all__ = [
    "EXPORT_FORMATS",
    "MIN_LINEAGE_SHARE",
    "RawBoundaries",
    "commit_import",
    "format_report",
    "gk_zone_for",
    "grids_frame",
    "import_boundaries",
    "metric",
    "plan_import",
    "read_boundaries",
    "write_grids",
]
