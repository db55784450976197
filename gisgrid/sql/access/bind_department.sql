-- A department handler's account is bound to its department (职能部门) after it is created, so
-- the department's cases are the only ones it acts on.
UPDATE account SET department_id = :department WHERE id = :account
