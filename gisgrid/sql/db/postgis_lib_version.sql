-- PostGIS's version, for /healthz.
SELECT postgis_lib_version()
