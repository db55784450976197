-- Count one request against a shared per-minute limit; 0, or the seconds to wait (refused).
SELECT gisgrid_rate_hit(:bucket, :client, :per_minute) AS wait
