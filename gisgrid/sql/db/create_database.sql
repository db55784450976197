-- A new database; the name is composed as a quoted identifier (gisgrid.sql.composed).
CREATE DATABASE {database}
