-- A new grid generation; its id.
INSERT INTO generation (name, county_code, valid_from, description)
VALUES (:n, :c, :f, :d) RETURNING id
