-- A new password for an existing account, which is enabled again; no row when it does not exist.
UPDATE account SET password_hash = :h, active = true WHERE username = :u
