-- One report in, one statement: gisgrid_intake (intake_functions.sql) and, when audited,
-- its write-audit entry in the same transaction, so an answered report always has its entry.
-- psycopg-style named parameters: the hot path runs on the driver without SQLAlchemy.
WITH i AS (
    SELECT * FROM gisgrid_intake(
        %(key_hash)s, %(api_key_id)s, %(idempotency_key)s, %(request_hash)s, %(category)s,
        %(lon)s, %(lat)s, %(tol_m)s, %(tol_deg)s, %(radius_m)s, %(radius_deg)s, %(window_h)s,
        %(now)s, %(description)s, %(source)s, %(address)s, %(media_url)s,
        %(attributes)s::jsonb, %(reporter)s::jsonb, %(input_point)s::jsonb,
        %(check)s, %(triage)s, %(cal_counties)s::text[], %(cal_dues)s::timestamptz[],
        %(cal_stage_dues)s::timestamptz[])
),
a AS (
    INSERT INTO audit_log (account_id, username, role, action, method, path, object_type,
                           object_ids, client, status)
    SELECT %(audit_account_id)s, %(audit_username)s, %(audit_role)s, 'write', 'POST',
           %(audit_path)s, 'report',
           CASE WHEN (i.o_report).id IS NOT NULL THEN ARRAY[(i.o_report).id::text] END,
           %(audit_client)s,
           -- the status the client is answered, from the API's one error table
           (%(audit_statuses)s::jsonb ->> i.o_outcome)::int
    FROM i
    WHERE %(audited)s
)
SELECT i.o_outcome, i.o_detail, (i.o_report).* FROM i
