-- Fresh statistics: the staff and coverage queries plan on patrol_fix's size.
ANALYZE patrol_track, patrol_fix
