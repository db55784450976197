-- The PROJ version PostGIS runs on, for /healthz.
SELECT postgis_proj_version()
