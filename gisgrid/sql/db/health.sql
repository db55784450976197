-- The health check: PostgreSQL answers, PostGIS is there; the versions /healthz shows.
SELECT current_setting('server_version') AS postgresql, postgis_lib_version() AS postgis,
       postgis_geos_version() AS geos, postgis_proj_version() AS proj
