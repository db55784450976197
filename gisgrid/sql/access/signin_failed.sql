-- One more failed sign-in for a username; a run of failures older than :forget_s starts over.
INSERT INTO signin_failure AS f (username, failures, last_failed_at)
VALUES (:u, 1, now())
ON CONFLICT (username) DO UPDATE SET
    failures = CASE WHEN f.last_failed_at < now() - make_interval(secs => :forget_s) THEN 1
                    ELSE f.failures + 1 END,
    last_failed_at = now()
RETURNING failures
