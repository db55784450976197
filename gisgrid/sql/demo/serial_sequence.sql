-- The sequence behind a table's id column.
SELECT pg_get_serial_sequence(:t, 'id')
