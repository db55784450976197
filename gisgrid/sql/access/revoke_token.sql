-- Sign-out: the token stays, marked revoked.
UPDATE access_token SET revoked = true WHERE token_hash = :h
