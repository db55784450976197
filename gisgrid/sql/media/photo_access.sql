-- Who may see a photo: anyone when it is on a report; on a household visit only staff whose
-- scope covers the household's grid (visit photos show the inside of people's homes).
SELECT EXISTS (SELECT 1 FROM report_photo rp WHERE rp.photo_id = p.id) AS on_report,
       (SELECT array_agg(DISTINCT g.code) FROM household_visit v
        JOIN household h ON h.id = v.household_id JOIN grid g ON g.id = h.grid_id
        WHERE v.photo_id = p.id) AS visit_grids
FROM photo p WHERE p.sha256 = :sha
