-- The plan's base generation, locked: of two publishes at once, the second waits here and then
-- sees the generation closed by the first.
SELECT id, name, county_code, valid_from, valid_to FROM generation WHERE id = :id FOR UPDATE
