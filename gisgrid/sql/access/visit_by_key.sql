-- A visit this account already recorded under this client key (a resent queued action).
SELECT id, household_id, request_hash FROM household_visit
WHERE account_id = :account_id AND idempotency_key = :key
