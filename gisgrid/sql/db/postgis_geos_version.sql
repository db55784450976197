-- The GEOS version PostGIS runs on, for /healthz.
SELECT postgis_geos_version()
