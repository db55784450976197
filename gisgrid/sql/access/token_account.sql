-- The account behind a token hash, unless the token was revoked (expiry is checked in Python),
-- with the department a department handler acts for (one statement per principal).
SELECT a.id, a.username, a.role, a.scope, a.active, t.expires_at,
       d.id AS department_id, d.code AS department
FROM access_token t
JOIN account a ON a.id = t.account_id
LEFT JOIN department d ON d.id = a.department_id AND a.role = 'department_handler'
WHERE t.token_hash = :h AND NOT t.revoked
