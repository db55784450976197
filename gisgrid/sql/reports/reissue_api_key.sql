-- Create the key, or replace its hash (and undo a revocation) if the name exists.
INSERT INTO api_key (name, key_hash) VALUES (:n, :h) ON CONFLICT (name)
DO UPDATE SET key_hash = EXCLUDED.key_hash, revoked_at = NULL
