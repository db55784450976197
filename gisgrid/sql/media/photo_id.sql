-- The row of a photo by the SHA-256 of its upload (None: no such photo is stored).
SELECT id FROM photo WHERE sha256 = :sha
