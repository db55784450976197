-- The departments an account of this county may be bound to (to bind one, or name the choices).
SELECT id, code, name FROM department WHERE county_code = :county || '000000' ORDER BY code
