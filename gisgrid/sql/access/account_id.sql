-- The id of an account by username.
SELECT id FROM account WHERE username = :u
