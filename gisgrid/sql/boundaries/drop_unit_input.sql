-- The scratch table of an earlier unit import in this transaction, if any.
DROP TABLE IF EXISTS boundary_unit_in
