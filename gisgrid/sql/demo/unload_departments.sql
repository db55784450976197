-- Unloading a demo county removes its departments; its cases and department handlers' accounts
-- let go of them (ON DELETE SET NULL) before the county's own rows go.
DELETE FROM department WHERE county_code = :county
