-- Whether a database exists; psycopg-style parameter (runs on the driver, before any engine).
SELECT 1 FROM pg_database WHERE datname = %s
