-- An extension the service needs; the name is composed as a quoted identifier.
CREATE EXTENSION IF NOT EXISTS {extension}
