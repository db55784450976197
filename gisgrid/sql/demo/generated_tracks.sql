-- The county's GENERATED patrol tracks.
SELECT tr.id FROM patrol_track tr JOIN grid g ON g.id = tr.grid_id
WHERE tr.generated AND g.village_code LIKE :p
