-- Reports in: one statement for a batch of reports (gisgrid_intake_batch, intake_functions.sql),
-- each placed, routed and stored with its write-audit entry, in the order given; one transaction.
-- lock_wait_ms: NULL, or how long the batch may wait for a grid lock (see the function).
SELECT b.o_n, b.o_outcome, b.o_detail, (b.o_report).*
FROM gisgrid_intake_batch(CAST(:batch AS jsonb), CAST(:lock_wait_ms AS integer)) AS b
