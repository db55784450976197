-- Reports in [:start, :end), optionally of some categories and open or closed, newest first.
SELECT * FROM report_view
WHERE reported_at >= CAST(:start AS timestamptz) AND reported_at < CAST(:end AS timestamptz)
  AND (CAST(:codes AS text[]) IS NULL OR category = ANY(CAST(:codes AS text[])))
  AND (CAST(:closed AS boolean) IS NULL
       OR (effective_status IN ('closed', 'cancelled')) = CAST(:closed AS boolean))
ORDER BY reported_at DESC, id DESC LIMIT :limit
