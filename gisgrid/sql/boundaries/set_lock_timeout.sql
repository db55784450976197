-- Fail fast rather than queue behind a long transaction (for this transaction only).
SELECT set_config('lock_timeout', :v, true)
