-- A new draft, queued: the work is done in the background and reported on this row.
INSERT INTO redraw_plan (county_code, unit_code, mode, band_min, band_max, seed, generation_id,
                         status, progress, message, summary, account_id, username)
VALUES (:county, :unit, :mode, :band_min, :band_max, :seed, :generation_id,
        'queued', 0, 'waiting for a worker', '{}'::jsonb, :account_id, :username)
RETURNING id
