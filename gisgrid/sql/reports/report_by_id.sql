-- One report as the intake answer shows it.
SELECT * FROM report_view WHERE id = :id
