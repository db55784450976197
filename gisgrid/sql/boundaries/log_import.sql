-- The import log entry of a committed file; its id.
INSERT INTO boundary_import (level, county_code, generation_id, source_name, sha256, crs,
                             features, summary)
VALUES (:l, :c, :g, :s, :h, :crs, :n, CAST(:summary AS jsonb))
RETURNING id
