-- Shared state of every worker and host (issue 19): rate limits counted in one place, token and
-- account changes announced to every process that caches them. Code, not schema:
-- gisgrid.db.migrate replaces it on every run, in one transaction.
SELECT pg_advisory_xact_lock(4, -19);  -- (4, id>0) are the intake's per-grid locks

-- One request counted against one or more per-minute limits, the same for every worker and
-- host: the hits of the last 60 whole seconds (a row per second in the UNLOGGED table rate_hit),
-- counted under a lock on each (bucket, client) pair so that concurrent workers count in turn.
-- The keys are tried in order; the first whose window is full refuses the request and the keys
-- after it are not counted (the keys before it stay counted, as one process always did).
-- Returns (0, 0) when counted everywhere, else (the refusing key's 1-based index, the seconds
-- until its window has room). Callers pass the address key last, so locks are always taken in
-- the same order (no deadlock between two phones behind one address).
DROP FUNCTION IF EXISTS gisgrid_rate_hit(text, text, integer);
CREATE OR REPLACE FUNCTION gisgrid_rate_hits(p_buckets text[], p_clients text[], p_limits integer[])
RETURNS TABLE (refused integer, wait integer) LANGUAGE plpgsql AS $$
DECLARE
    now_s bigint := floor(extract(epoch FROM clock_timestamp()));
    used integer;
    oldest bigint;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_buckets, 1), 0) LOOP
        -- Class 19 of the two-key advisory locks: apart from the intake's class 4.
        PERFORM pg_advisory_xact_lock(19, hashtext(p_buckets[i] || chr(31) || p_clients[i]));
        DELETE FROM rate_hit
         WHERE bucket = p_buckets[i] AND client = p_clients[i] AND second <= now_s - 60;
        SELECT coalesce(sum(hits), 0), min(second) INTO used, oldest
          FROM rate_hit WHERE bucket = p_buckets[i] AND client = p_clients[i];
        IF used >= p_limits[i] THEN
            refused := i;
            wait := greatest(1, oldest + 60 - now_s)::integer;
            RETURN NEXT;
            RETURN;
        END IF;
        INSERT INTO rate_hit (bucket, client, second, hits)
        VALUES (p_buckets[i], p_clients[i], now_s, 1)
        ON CONFLICT (bucket, client, second) DO UPDATE SET hits = rate_hit.hits + 1;
    END LOOP;
    -- Clients never seen again would stay: now and then, clear every window long past.
    IF random() < 0.001 THEN
        DELETE FROM rate_hit WHERE second <= now_s - 120;
    END IF;
    refused := 0;
    wait := 0;
    RETURN NEXT;
END $$;

-- Tokens revoked, expired early or deleted, and accounts disabled or changed, are announced on
-- gisgrid_tokens at commit, whoever wrote them (sign-out, an admin, the CLI, plain SQL): every
-- process drops what it cached for them. Statement triggers with transition tables: a bulk
-- change sends one notice to forget everything, not one per row.
-- TG_ARGV: the notice's type, the key of its list, and the column the list is made of.
CREATE OR REPLACE FUNCTION gisgrid_notify_access() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    SELECT count(*) INTO n FROM old_rows;
    IF n > 100 THEN
        PERFORM pg_notify('gisgrid_tokens', json_build_object('type', 'all')::text);
    ELSIF n > 0 THEN
        PERFORM pg_notify('gisgrid_tokens', json_build_object(
            'type', TG_ARGV[0],
            TG_ARGV[1], (SELECT json_agg(to_jsonb(o) -> TG_ARGV[2]) FROM old_rows o))::text);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER gisgrid_token_updated AFTER UPDATE ON access_token
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gisgrid_notify_access('tokens', 'hashes', 'token_hash');
CREATE OR REPLACE TRIGGER gisgrid_token_deleted AFTER DELETE ON access_token
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gisgrid_notify_access('tokens', 'hashes', 'token_hash');
CREATE OR REPLACE TRIGGER gisgrid_account_updated AFTER UPDATE ON account
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gisgrid_notify_access('accounts', 'ids', 'id');
CREATE OR REPLACE TRIGGER gisgrid_account_deleted AFTER DELETE ON account
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gisgrid_notify_access('accounts', 'ids', 'id');
-- The two functions these triggers called before they were one.
DROP FUNCTION IF EXISTS gisgrid_notify_tokens();
DROP FUNCTION IF EXISTS gisgrid_notify_accounts();
