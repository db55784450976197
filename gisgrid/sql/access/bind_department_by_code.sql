-- Re-bind a demo department handler to its department after the demo county was reloaded (the
-- department rows are new, so the old binding was cleared by ON DELETE SET NULL).
UPDATE account SET department_id = d.id
FROM department d
WHERE account.username = :username AND d.county_code = :county || '000000' AND d.code = :code
