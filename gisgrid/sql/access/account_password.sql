-- The stored password hash of a username, to check a sign-in against.
SELECT id, password_hash, active FROM account WHERE username = :u
