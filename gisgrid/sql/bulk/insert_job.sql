-- A bulk job starts: what it runs, with what, on which engine; its id keys every result row.
INSERT INTO bulk_job (kind, params, engine, partitions)
VALUES (:kind, CAST(:params AS jsonb), :engine, :partitions)
RETURNING id
