-- A username must wait :wait_s seconds before its next sign-in is even checked.
UPDATE signin_failure SET blocked_until = now() + make_interval(secs => :wait_s)
WHERE username = :u
