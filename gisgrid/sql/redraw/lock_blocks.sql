-- Two plans cutting the same generation's villages at once cut them once: the second waits.
SELECT pg_advisory_xact_lock(hashtext('gisgrid.redraw.blocks'), :generation_id)
