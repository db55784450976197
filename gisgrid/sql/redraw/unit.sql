-- A unit a plan is drawn for (county, town or village), with its level and name.
SELECT code, name, level::text AS level, parent_code FROM admin_unit WHERE code = :code
