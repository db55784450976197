-- The highest grid sequence each village has ever used (any generation): new codes go above it.
SELECT village_code, max(CAST(right(code, 3) AS int)) AS seq
FROM grid WHERE village_code = ANY(CAST(:villages AS text[]))
GROUP BY village_code
