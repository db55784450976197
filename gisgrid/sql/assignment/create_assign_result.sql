-- Scratch table for the new grid of each changed row, filled by COPY.
CREATE TEMP TABLE assign_result (id bigint, grid_id int) ON COMMIT DROP
