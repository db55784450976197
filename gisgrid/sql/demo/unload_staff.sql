-- Staff who served the county's grids.
DELETE FROM staff WHERE id IN (SELECT id FROM gone_staff)
