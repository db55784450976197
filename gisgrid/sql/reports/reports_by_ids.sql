-- Reports by id, newest first.
SELECT * FROM report_view WHERE id = ANY(CAST(:ids AS bigint[]))
ORDER BY reported_at DESC, id DESC LIMIT :limit
