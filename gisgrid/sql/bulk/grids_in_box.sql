-- Current grids whose box meets a partition's box (GiST): every grid that can cover one of its
-- points, so an index of these answers exactly as an index of all grids would.
SELECT id, code, ST_AsBinary(geom) AS wkb FROM grid
WHERE valid_to IS NULL AND geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)
ORDER BY code
