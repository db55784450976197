-- Lock a plan row for an edit, a publish or a discard (two at once: the second waits).
SELECT * FROM redraw_plan WHERE id = :id FOR UPDATE
