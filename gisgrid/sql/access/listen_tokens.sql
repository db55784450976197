-- Hear token revocations and account changes (triggers in access/shared_state_functions.sql).
LISTEN gisgrid_tokens
