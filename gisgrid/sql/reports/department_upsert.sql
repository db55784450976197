-- Add a county's department or update it by code, so loading the demo twice or correcting a
-- time limit keeps the department's id (accounts and cases point at it).
INSERT INTO department (county_code, code, name, categories, response_hours, feedback_hours,
                        generated)
VALUES (:county || '000000', :code, :name, CAST(:categories AS varchar[]), :response_hours,
        :feedback_hours, :generated)
ON CONFLICT (county_code, code) DO UPDATE
SET name = EXCLUDED.name, categories = EXCLUDED.categories,
    response_hours = EXCLUDED.response_hours, feedback_hours = EXCLUDED.feedback_hours,
    generated = EXCLUDED.generated
