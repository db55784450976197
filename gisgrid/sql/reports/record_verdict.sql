-- The reporter's verdict on the case.
UPDATE report SET satisfied = :s, updated_at = :now WHERE id = :id
