-- A new account (the password already hashed); its id.
INSERT INTO account (username, password_hash, role, scope, display_name)
VALUES (:u, :h, :r, :s, :d) RETURNING id
