-- Shared state of every worker and host (issue 19): rate limits counted in one place, token and
-- account changes announced to every process that caches them. Code, not schema:
-- gisgrid.db.migrate replaces it on every run, in one transaction.
SELECT pg_advisory_xact_lock(4, -19);  -- (4, id>0) are the intake's per-grid locks

-- One request counted against a per-minute limit, the same for every worker: the hits of the
-- last 60 whole seconds (a row per second in the UNLOGGED table rate_hit), counted under a lock
-- on the (bucket, client) pair so that concurrent workers count in turn. Returns 0 when the
-- request is counted, else the seconds until the window has room (the request is not counted).
CREATE OR REPLACE FUNCTION gisgrid_rate_hit(p_bucket text, p_client text, p_limit integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    now_s bigint := floor(extract(epoch FROM clock_timestamp()));
    used integer;
    oldest bigint;
BEGIN
    -- Class 19 of the two-key advisory locks: apart from the intake's class 4.
    PERFORM pg_advisory_xact_lock(19, hashtext(p_bucket || chr(31) || p_client));
    DELETE FROM rate_hit WHERE bucket = p_bucket AND client = p_client AND second <= now_s - 60;
    SELECT coalesce(sum(hits), 0), min(second) INTO used, oldest
      FROM rate_hit WHERE bucket = p_bucket AND client = p_client;
    IF used >= p_limit THEN
        RETURN greatest(1, oldest + 60 - now_s)::integer;
    END IF;
    INSERT INTO rate_hit (bucket, client, second, hits) VALUES (p_bucket, p_client, now_s, 1)
    ON CONFLICT (bucket, client, second) DO UPDATE SET hits = rate_hit.hits + 1;
    -- Clients never seen again would stay: now and then, clear every window long past.
    IF random() < 0.001 THEN
        DELETE FROM rate_hit WHERE second <= now_s - 120;
    END IF;
    RETURN 0;
END $$;

-- Tokens revoked, expired early or deleted, and accounts disabled or changed, are announced on
-- gisgrid_tokens at commit, whoever wrote them (sign-out, an admin, the CLI, plain SQL): every
-- process drops what it cached for them. Statement triggers with transition tables: a bulk
-- change sends one notice to forget everything, not one per row.
CREATE OR REPLACE FUNCTION gisgrid_notify_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    SELECT count(*) INTO n FROM old_rows;
    IF n > 100 THEN
        PERFORM pg_notify('gisgrid_tokens', json_build_object('type', 'all')::text);
    ELSIF n > 0 THEN
        PERFORM pg_notify('gisgrid_tokens', json_build_object(
            'type', 'tokens', 'hashes', (SELECT json_agg(token_hash) FROM old_rows))::text);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION gisgrid_notify_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    SELECT count(*) INTO n FROM old_rows;
    IF n > 100 THEN
        PERFORM pg_notify('gisgrid_tokens', json_build_object('type', 'all')::text);
    ELSIF n > 0 THEN
        PERFORM pg_notify('gisgrid_tokens', json_build_object(
            'type', 'accounts', 'ids', (SELECT json_agg(id) FROM old_rows))::text);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER gisgrid_token_updated AFTER UPDATE ON access_token
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gisgrid_notify_tokens();
CREATE OR REPLACE TRIGGER gisgrid_token_deleted AFTER DELETE ON access_token
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gisgrid_notify_tokens();
CREATE OR REPLACE TRIGGER gisgrid_account_updated AFTER UPDATE ON account
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gisgrid_notify_accounts();
CREATE OR REPLACE TRIGGER gisgrid_account_deleted AFTER DELETE ON account
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gisgrid_notify_accounts();
