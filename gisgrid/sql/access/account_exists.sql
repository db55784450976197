-- Whether a username is taken.
SELECT 1 FROM account WHERE username = :u
