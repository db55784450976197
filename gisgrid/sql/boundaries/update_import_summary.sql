-- The unit import's summary, once it is known.
UPDATE boundary_import SET summary = CAST(:s AS jsonb) WHERE id = :i
