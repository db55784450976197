-- The highest grid sequence a village has used in any generation or in this draft.
SELECT max(seq) FROM (
  SELECT CAST(right(code, 3) AS int) AS seq FROM grid WHERE village_code = :village
  UNION ALL
  SELECT CAST(right(code, 3) AS int) FROM redraw_plan_grid
  WHERE plan_id = :id AND village_code = :village
) s
