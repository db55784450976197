-- How a report came in: the first step of its loop (registered, or dispatched at once).
SELECT reported_at, dispatched_at, duplicate_of FROM report WHERE id = :id
