-- The dataset row records the generated patrol day's summary.
UPDATE dataset SET notes = coalesce(notes, '{}'::jsonb)
|| jsonb_build_object('patrol_day', CAST(:p AS jsonb)) WHERE county_code = :c
