-- The draft became a generation.
UPDATE redraw_plan SET status = 'published', published_generation_id = :generation_id,
       message = :message, updated_at = now()
WHERE id = :id
