-- A draft's summary after an edit.
UPDATE redraw_plan SET summary = CAST(:summary AS jsonb), updated_at = now() WHERE id = :id
