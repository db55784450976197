-- Who takes a grid's report (gisgrid_assignee, in reports/intake_functions.sql); no row: the village.
SELECT id, name, role, open_cases FROM gisgrid_assignee(:grid_id)
