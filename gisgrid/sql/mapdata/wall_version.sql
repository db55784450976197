-- The wall's version: the oldest transaction still running now. Every report written by a
-- transaction below it is committed (or gone) and visible from here on, so asking next time
-- for changed_xid >= this misses nothing that commits late.
SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS version, now() AS now
