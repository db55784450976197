-- Drop a county's earlier basemap import from one source before the new one is stored.
DELETE FROM basemap_feature WHERE county_code = :county AND source = :source
