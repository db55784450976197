-- The photos of a report, oldest first, with how far from the report's point each was taken
-- (its EXIF position, metres on the sphere) and when.
SELECT p.sha256, rp.stage, rp.added_at, rp.username, p.width, p.height, p.taken_at,
       p.taken_lon, p.taken_lat,
       CASE WHEN p.taken_lon IS NOT NULL THEN
           ST_Distance(r.geom::geography,
                       ST_SetSRID(ST_MakePoint(p.taken_lon, p.taken_lat), 4326)::geography)
       END AS distance_m
FROM report_photo rp
JOIN photo p ON p.id = rp.photo_id
JOIN report r ON r.id = rp.report_id
WHERE rp.report_id = :report_id
ORDER BY rp.added_at, rp.id
