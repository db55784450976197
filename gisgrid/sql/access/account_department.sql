-- Which department a department handler's account acts for (read with its bearer token).
SELECT d.id, d.code FROM account a JOIN department d ON d.id = a.department_id WHERE a.id = :account
