-- Fresh report ids, so generated steps can point at their reports before both are COPYed.
SELECT nextval(pg_get_serial_sequence('report', 'id')) FROM generate_series(1, :n)
