-- What the basemap draws from, as numbers that move on every import: new rows take new ids
-- (sequences never go back), so the highest ids change whenever features or roads are
-- written again; units have text keys, so their count and the newest writing transaction
-- (xmin) stand in for them.
SELECT (SELECT coalesce(max(id), 0) FROM basemap_feature) AS features,
       (SELECT coalesce(max(id), 0) FROM road_segment) AS roads,
       (SELECT count(*) || '-' || coalesce(max(xmin::text::bigint), 0)
        FROM admin_unit) AS units
