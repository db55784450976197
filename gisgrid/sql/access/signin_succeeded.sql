-- A good password: the run of failures is over.
DELETE FROM signin_failure WHERE username = :u
