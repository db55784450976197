-- Audit entries, newest first; each filter bound as NULL is unused.
SELECT id, at, account_id, username, role, action, method, path, object_type, object_ids,
       client, status
FROM audit_log
WHERE (CAST(:u AS text) IS NULL OR username = :u)
  AND (CAST(:a AS text) IS NULL OR action = :a)
  AND (CAST(:ot AS text) IS NULL OR object_type = :ot)
  AND (CAST(:oi AS text) IS NULL OR :oi = ANY(object_ids))
  AND (CAST(:since AS timestamptz) IS NULL OR at >= :since)
ORDER BY id DESC LIMIT :limit
