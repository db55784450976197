-- The transaction's own clock: valid_from defaults to it and may not lie after it.
SELECT now()
