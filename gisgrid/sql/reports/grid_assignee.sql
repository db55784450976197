-- Who in a grid takes a 自家事 to mediate: the intake's own rule (gisgrid_assignee: the on-duty
-- full-time worker with the fewest open cases, else the grid chief); no row: the village.
SELECT id, role FROM gisgrid_assignee(:grid)
