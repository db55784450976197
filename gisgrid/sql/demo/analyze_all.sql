-- Fresh statistics for the whole database after a bulk load.
ANALYZE
