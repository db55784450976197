-- Who to call back about a report (the reporter's phone, as the reporter gave it).
SELECT reporter FROM report WHERE id = :id
