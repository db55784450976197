-- The scratch table is emptied, not dropped, when a transaction plans twice.
TRUNCATE route_legs
