-- One report; a second POST with the same client key finds the partial unique index and inserts
-- nothing (the caller then reads the first one back).
INSERT INTO report (
    category, description, source, status, grid_id, assignee_id, reported_at, dispatched_at,
    due_at, generated, geom, api_key_id, idempotency_key, request_hash, address, media_url,
    attributes, reporter, input_point, grid_candidates, fallback, handler_level, village_code,
    duplicate_of, updated_at)
VALUES (
    :category, :description, :source, CAST(:status AS report_status), :grid_id, :assignee_id,
    :now, :dispatched_at, :due_at, false, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326),
    :api_key_id, :idempotency_key, :request_hash, :address, :media_url,
    CAST(:attributes AS jsonb), CAST(:reporter AS jsonb), CAST(:input_point AS jsonb),
    CAST(:grid_candidates AS varchar(15)[]), :fallback, :handler_level, :village_code,
    :duplicate_of, :now)
ON CONFLICT (api_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING id
