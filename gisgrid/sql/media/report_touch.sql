-- A new photo changes the case: its updated_at moves, which also announces it (push).
UPDATE report SET updated_at = now() WHERE id = :id
