-- Which of the expected parent codes exist at the parent level.
SELECT code FROM admin_unit
WHERE level = CAST(:l AS unit_level) AND code = ANY(:c)
