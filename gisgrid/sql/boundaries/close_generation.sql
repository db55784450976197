-- The previous generation ends where the new one begins.
UPDATE generation SET valid_to = :f WHERE id = :id
