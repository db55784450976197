-- Each changed report takes its new grid from the scratch table filled by COPY.
UPDATE report t SET grid_id = r.grid_id FROM assign_result r WHERE t.id = r.id
