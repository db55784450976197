-- Every generation's name, oldest first, to name the choices in an error.
SELECT name FROM generation ORDER BY id
