-- Count one request against its shared per-minute limits, in order (access/shared_state_functions.sql).
SELECT refused, wait FROM gisgrid_rate_hits(:buckets, :clients, :limits)
