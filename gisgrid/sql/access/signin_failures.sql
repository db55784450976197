-- How many sign-ins failed in a row for a username, and until when it must wait.
SELECT failures, blocked_until FROM signin_failure WHERE username = :u
