"""Boundaries in and out: read planners' files, validate them, commit a generation, export.

`read` turns a file (GeoJSON, GeoPackage, zipped Shapefile, GeoParquet, CSV with WKT) in any
supported CRS into WGS84 features; `check` lists every problem with its feature; `commit` writes
a new generation all or nothing; `export` writes grids back out for QGIS, GDAL and ArcGIS.
"""

LEVELS = ("county", "town", "village", "grid")
