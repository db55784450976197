-- The dataset row: which generator and seed made the county, and what is GENERATED.
INSERT INTO dataset (county_code, generator, seed, notes)
VALUES (:c, :g, :s, CAST(:n AS jsonb))
