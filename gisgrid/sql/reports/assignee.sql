-- Who takes a grid's report (gisgrid_assignee, reports/intake_functions.sql); none: the village.
SELECT id, name, role, open_cases FROM gisgrid_assignee(:grid_id)
