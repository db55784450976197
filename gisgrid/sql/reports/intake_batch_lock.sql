-- A group commit's first statement: one batch of reports at a time across the service's
-- processes. A batch takes several grids' locks in the order its reports came; two batches
-- taking two grids in opposite orders would deadlock. (4, -1): the intake's namespace, no grid.
SELECT pg_advisory_xact_lock(4, -1)
