-- One visit (入户走访); a concurrent resend with the same key loses the race and is read back.
INSERT INTO household_visit (household_id, grid_id, kind, note, photo_id, changes, visited_at,
                             lon, lat, account_id, username, idempotency_key, request_hash)
VALUES (:household_id, :grid_id, :kind, :note, :photo_id, CAST(:changes AS jsonb), :visited_at,
        :lon, :lat, :account_id, :username, :key, :request_hash)
ON CONFLICT (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING id
