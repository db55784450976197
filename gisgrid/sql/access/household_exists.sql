-- Whether a household exists at all, to tell "outside your scope" from "no such household".
SELECT 1 FROM household WHERE id = :i
