-- Revoke an active key; no row when there is none by that name.
UPDATE api_key SET revoked_at = now() WHERE name = :n AND revoked_at IS NULL
