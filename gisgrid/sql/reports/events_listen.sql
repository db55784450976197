-- Hear every committed report change (announced by the triggers in events_functions.sql).
LISTEN gisgrid_events
