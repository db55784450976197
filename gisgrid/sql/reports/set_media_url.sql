-- Open311's media_url: the first photo of a report that had none (Open311 shows one photo).
UPDATE report SET media_url = coalesce(media_url, :url), updated_at = now() WHERE id = :id
