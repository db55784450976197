-- Every live token of an account, revoked at once (an admin's response to a lost phone).
UPDATE access_token t SET revoked = true
FROM account a
WHERE a.id = t.account_id AND a.username = :u AND NOT t.revoked AND t.expires_at > now()
RETURNING t.account_id
