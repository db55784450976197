-- The account behind a token hash, unless the token was revoked (expiry is checked in Python).
SELECT a.id, a.username, a.role, a.scope, a.active, t.expires_at
FROM access_token t JOIN account a ON a.id = t.account_id
WHERE t.token_hash = :h AND NOT t.revoked
