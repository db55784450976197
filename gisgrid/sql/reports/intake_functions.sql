-- Reports in, inside PostgreSQL: placing, assigning and storing one report is one round trip.
-- Code, not schema: gisgrid.db.migrate replaces all of it on every run, in one transaction
-- (the tables themselves belong to the Alembic migrations). The rules are those documented in
-- gisgrid/intake.py; Python validates, converts datums and computes the due time, and these
-- functions do everything that needs the data, under the per-grid lock.

-- Serialise concurrent installs (two workers migrating at once would race on the catalog).
SELECT pg_advisory_xact_lock(4, 0);

DROP FUNCTION IF EXISTS gisgrid_intake_batch CASCADE;
DROP FUNCTION IF EXISTS gisgrid_intake CASCADE;
DROP FUNCTION IF EXISTS gisgrid_place CASCADE;
DROP FUNCTION IF EXISTS gisgrid_place_near CASCADE;
DROP FUNCTION IF EXISTS gisgrid_assignee CASCADE;
DROP FUNCTION IF EXISTS gisgrid_keyed_report CASCADE;
DROP VIEW IF EXISTS report_view CASCADE;

-- Reports as the intake answer and Open311 show them: grid, village, handler and, for a
-- duplicate, the original's status (a supporter's request stays open until the original closes).
CREATE VIEW report_view AS
SELECT r.id, r.category, r.description, r.status::text AS status, r.source,
       r.reported_at, r.updated_at, r.dispatched_at, r.due_at, r.closed_at,
       r.address, r.media_url, r.attributes, r.input_point, r.generated,
       ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat,
       ST_X(ST_PointOnSurface(g.geom)) AS grid_lon, ST_Y(ST_PointOnSurface(g.geom)) AS grid_lat,
       r.grid_candidates, r.fallback, r.handler_level, r.duplicate_of,
       g.code AS grid_code, g.name AS grid_name,
       v.code AS village_code, v.name AS village_name,
       s.id AS staff_id, s.name AS staff_name, s.role::text AS staff_role,
       coalesce(o.status, r.status)::text AS effective_status,
       (SELECT count(*) FROM report d WHERE d.duplicate_of = r.id) AS supporters,
       r.api_key_id, r.satisfied, r.escalations,
       e.action AS last_action, e.at AS last_action_at, f.note AS feedback_note,
       -- The loop as centers are judged by it (migration 0009_loop, gisgrid/reports/cases.py).
       r.triage, r.triage_reason, r.stage, r.stage_due_at,
       r.department_id, dep.code AS department_code, dep.name AS department_name,
       r.dept_sent_at, r.dept_respond_by, r.dept_accepted_at, r.dept_due_at, r.dept_resolved_at,
       r.outcome, r.outcome_reason, r.reopens, r.group_id
FROM report r
LEFT JOIN department dep ON dep.id = r.department_id
LEFT JOIN grid g ON g.id = r.grid_id
LEFT JOIN admin_unit v ON v.code = coalesce(r.village_code, g.village_code)
LEFT JOIN staff s ON s.id = r.assignee_id
LEFT JOIN report o ON o.id = r.duplicate_of
-- The latest step of the loop (gisgrid/cases.py) and the latest note written for the reporter
-- (feedback or the reason for a cancel): "what happened to my report". A duplicate shows its
-- original's.
LEFT JOIN LATERAL (
    SELECT ev.action, ev.at FROM report_event ev
    WHERE ev.report_id = coalesce(r.duplicate_of, r.id)
    ORDER BY ev.at DESC, ev.id DESC LIMIT 1
) e ON true
LEFT JOIN LATERAL (
    SELECT ev.note FROM report_event ev
    WHERE ev.report_id = coalesce(r.duplicate_of, r.id) AND ev.action IN ('resolve', 'cancel')
    ORDER BY ev.at DESC, ev.id DESC LIMIT 1
) f ON true;

-- Grids of the current generation that cover a point (edges included) or lie within :tol_m
-- metres of it (covers, distance_m), in no order: gisgrid_place's first search, which the
-- intake runs alone first (the county's nearest grid is looked for only when this finds none).
CREATE FUNCTION gisgrid_place_near(p_lon float8, p_lat float8, p_tol_m float8, p_tol_deg float8)
RETURNS TABLE (id integer, code varchar, name varchar, village_code varchar, covers boolean,
               distance_m float8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH p AS (SELECT ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326) AS g)
    SELECT x.id, x.code, x.name, x.village_code, x.covers,
           -- A covering grid is 0 m away: the geodesic distance (the dear part, over every
           -- edge of the polygon) only for the grids around it.
           CASE WHEN x.covers THEN 0
                ELSE ST_Distance(x.geom::geography, x.pg::geography) END AS distance_m
    FROM (
        SELECT g.id, g.code, g.name, g.village_code, g.geom, p.g AS pg,
               ST_Covers(g.geom, p.g) AS covers
        FROM grid g, p
        WHERE g.valid_to IS NULL AND g.geom && ST_Expand(p.g, p_tol_deg)
          -- p_tol_deg surely spans p_tol_m (gisgrid.reports.intake._deg): a planar prefilter
          AND ST_DWithin(g.geom, p.g, p_tol_deg)
        OFFSET 0  -- not flattened: ST_Covers once per grid
    ) x
    WHERE x.covers OR ST_Distance(x.geom::geography, x.pg::geography) <= p_tol_m
$$;

-- Grids of the current generation that cover a point (edges included) or lie within :tol_m
-- metres of it; if there are none and the point is inside a served county, that county's
-- nearest grid (属地兜底, covers = false); no rows: outside the service. First row = the choice
-- (covering first, then nearest, then lowest code). Metres via geography; the && prefilter in
-- degrees (p_tol_deg, generous) and KNN (<->) keep both searches on the GiST index.
CREATE FUNCTION gisgrid_place(p_lon float8, p_lat float8, p_tol_m float8, p_tol_deg float8)
RETURNS TABLE (id integer, code varchar, name varchar, village_code varchar, covers boolean,
               distance_m float8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH p AS (SELECT ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326) AS g),
    near AS (
        SELECT * FROM gisgrid_place_near(p_lon, p_lat, p_tol_m, p_tol_deg)
    ),
    county AS (
        SELECT c.code FROM admin_unit c, p
        WHERE c.level = 'county' AND ST_Covers(c.geom, p.g) AND NOT EXISTS (SELECT 1 FROM near)
        ORDER BY c.code LIMIT 1
    ),
    nearest AS (
        SELECT g.id, g.code, g.name, g.village_code, false AS covers,
               ST_Distance(g.geom::geography, p.g::geography) AS distance_m
        FROM (
            SELECT g.id, g.code, g.name, g.village_code, g.geom
            FROM grid g, p, county
            WHERE g.valid_to IS NULL AND g.village_code LIKE left(county.code, 6) || '%'
            ORDER BY g.geom <-> p.g
            LIMIT 8
        ) g, p
        ORDER BY distance_m, g.code
        LIMIT 1
    )
    SELECT * FROM near
    UNION ALL
    SELECT * FROM nearest
    ORDER BY covers DESC, distance_m, code
$$;

-- Who takes a report in a grid: the on-duty full-time worker (专职网格员) with the fewest open
-- cases, else the on-duty grid chief (网格长); lowest staff id on a tie. No row: the village.
-- Duplicates are handled with their original, so they add no load.
CREATE FUNCTION gisgrid_assignee(p_grid_id integer)
RETURNS TABLE (id integer, name varchar, role text, open_cases bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT s.id, s.name, a.role::text AS role,
           (SELECT count(*) FROM report r
            WHERE r.assignee_id = s.id AND r.duplicate_of IS NULL
              AND r.status IN ('submitted', 'registered', 'dispatched', 'in_progress'))
    FROM staff_assignment a
    JOIN staff s ON s.id = a.staff_id
    WHERE a.grid_id = p_grid_id AND a.valid_to IS NULL AND s.on_duty
      AND a.role IN ('full_time', 'grid_chief')
    ORDER BY a.role = 'grid_chief', 4, s.id
    LIMIT 1
$$;

-- The report a client stored under its Idempotency-Key. Equality on the API key, so the lookup
-- uses the unique index (IS NOT DISTINCT FROM would not); keyless reports (CLI, tests) apart.
CREATE FUNCTION gisgrid_keyed_report(p_api_key_id integer, p_idempotency_key text)
RETURNS TABLE (id bigint, request_hash text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT r.id, r.request_hash::text FROM report r
    WHERE r.api_key_id = p_api_key_id AND r.idempotency_key = p_idempotency_key
    UNION ALL
    SELECT r.id, r.request_hash::text FROM report r
    WHERE p_api_key_id IS NULL AND r.api_key_id IS NULL AND r.idempotency_key = p_idempotency_key
    LIMIT 1
$$;

-- Check the API key; place, route and store one report, or find the one already stored under
-- its client key. A report from a source that is checked on site first (p_check: residents,
-- hotline) is collected (status submitted, stage collected) and given to the grid's worker to
-- check (核查) by p_cal_stage_dues; its time-limit clock starts when it is registered. Any other
-- is registered at once (立案) with its category's class (三事分流, p_triage) and dispatched:
-- 自家事 to the grid's worker (who mediates; the household group at the spot is recorded),
-- 大家事 to the village council, 公家事 to the town government (gisgrid/reports/triage.py).
-- Due times come per county calendar: p_cal_counties[i] (6 digits; [1] = '' for any county
-- without its own calendar) has p_cal_dues[i] and p_cal_stage_dues[i]. o_outcome: 'created'; 'replayed' (same client key, same content); 'conflict'
-- (same client key, other content: o_report = the first one); 'outside' (no grid, no county;
-- o_detail names the counties served); 'bad_key' (p_key_hash matches no key); 'revoked'
-- (o_detail = when). p_key_hash NULL: p_api_key_id is taken as given (the CLI, tests).
-- Each statement here takes a fresh snapshot (READ COMMITTED), so after the per-grid lock the
-- duplicate check and the "fewest open cases" count see every report committed before it.
CREATE FUNCTION gisgrid_intake(
    p_key_hash text, p_api_key_id integer, p_idempotency_key text, p_request_hash text,
    p_category text, p_lon float8, p_lat float8, p_tol_m float8, p_tol_deg float8,
    p_radius_m float8, p_radius_deg float8, p_window_h float8,
    p_now timestamptz,
    p_description text, p_source text, p_address text, p_media_url text,
    p_attributes jsonb, p_reporter jsonb, p_input_point jsonb,
    p_check boolean, p_triage text,
    p_cal_counties text[], p_cal_dues timestamptz[], p_cal_stage_dues timestamptz[])
RETURNS TABLE (o_outcome text, o_detail text, o_report report_view)
LANGUAGE plpgsql VOLATILE AS $$  -- called by gisgrid_intake_batch only, under its settings
DECLARE
    v_key_id integer := p_api_key_id;
    v_revoked timestamptz;
    v_point geometry := ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326);
    v_first_id bigint;
    v_first_hash text;
    v_codes varchar[];
    v_grid_id integer;
    v_covers boolean;
    v_village varchar;
    v_orig_id bigint;
    v_orig_assignee integer;
    v_orig_level varchar;
    v_staff_id integer;
    v_staff_role text;
    v_level varchar;
    v_group integer;
    v_cal integer;
    v_new report;
BEGIN
    IF p_key_hash IS NOT NULL THEN
        SELECT k.id, k.revoked_at INTO v_key_id, v_revoked FROM api_key k
        WHERE k.key_hash = p_key_hash;
        IF v_key_id IS NULL THEN
            RETURN QUERY SELECT 'bad_key'::text, NULL::text, NULL::report_view;
            RETURN;
        ELSIF v_revoked IS NOT NULL THEN
            RETURN QUERY SELECT 'revoked'::text, v_revoked::text, NULL::report_view;
            RETURN;
        END IF;
    END IF;

    IF p_idempotency_key IS NOT NULL THEN
        SELECT k.id, k.request_hash INTO v_first_id, v_first_hash
        FROM gisgrid_keyed_report(v_key_id, p_idempotency_key) k;
    END IF;

    IF v_first_id IS NULL THEN
        -- gisgrid_place's answer, its first search alone first: a fraction of the whole plan's
        -- executor set-up, and the county's nearest grid is looked for only when it finds none.
        SELECT array_agg(pl.code), (array_agg(pl.id))[1], (array_agg(pl.covers))[1],
               (array_agg(pl.village_code))[1]
        INTO v_codes, v_grid_id, v_covers, v_village
        FROM (SELECT * FROM gisgrid_place_near(p_lon, p_lat, p_tol_m, p_tol_deg) n
              ORDER BY n.covers DESC, n.distance_m, n.code) pl;
        IF v_grid_id IS NULL THEN
            SELECT array_agg(pl.code), (array_agg(pl.id))[1], (array_agg(pl.covers))[1],
                   (array_agg(pl.village_code))[1]
            INTO v_codes, v_grid_id, v_covers, v_village
            FROM gisgrid_place(p_lon, p_lat, p_tol_m, p_tol_deg) pl;
        END IF;
        IF v_grid_id IS NULL THEN
            RETURN QUERY
                SELECT 'outside'::text,
                       coalesce(string_agg(c.name || ' ' || left(c.code, 6), ', ' ORDER BY c.code),
                                'none loaded'),
                       NULL::report_view
                FROM admin_unit c WHERE c.level = 'county';
            RETURN;
        END IF;

        -- One intake at a time per grid (4 = the intake's advisory-lock namespace).
        PERFORM pg_advisory_xact_lock(4, v_grid_id);

        IF p_radius_m > 0 AND p_window_h > 0 THEN
            -- The first open, non-duplicate report of the same service nearby and recent.
            SELECT r.id, r.assignee_id, r.handler_level
            INTO v_orig_id, v_orig_assignee, v_orig_level
            FROM report r
            WHERE r.category = p_category
              AND r.duplicate_of IS NULL
              AND r.status NOT IN ('closed', 'cancelled')
              AND r.reported_at >= p_now - make_interval(secs => p_window_h * 3600)
              AND r.geom && ST_Expand(v_point, p_radius_deg)
              AND ST_DWithin(r.geom::geography, v_point::geography, p_radius_m)
            ORDER BY r.reported_at, r.id
            LIMIT 1
            -- Held until this report commits: an original being deleted is waited for and
            -- passed over (the next candidate, or a case of its own), never linked to after
            -- its delete committed (that was a 500 from fk_report_duplicate_of_report).
            FOR KEY SHARE OF r;
        END IF;
        IF v_orig_id IS NULL THEN
            IF p_check OR p_triage = 'private' THEN
                SELECT a.id, a.role INTO v_staff_id, v_staff_role
                FROM gisgrid_assignee(v_grid_id) a;
                v_level := coalesce(v_staff_role, 'village');
            ELSIF p_triage = 'collective' THEN
                v_level := 'village';
            ELSE
                v_level := 'town';
            END IF;
            IF p_triage = 'private' THEN
                -- The household group (联户) of the nearest household of the grid.
                SELECT h.group_id INTO v_group FROM household h
                WHERE h.grid_id = v_grid_id ORDER BY h.geom <-> v_point LIMIT 1;
            END IF;
        END IF;
        v_cal := coalesce(array_position(p_cal_counties, left(v_codes[1], 6)::text), 1);

        INSERT INTO report AS r (
            category, description, source, status, grid_id, assignee_id, reported_at,
            dispatched_at, due_at, generated, geom, api_key_id, idempotency_key, request_hash,
            address, media_url, attributes, reporter, input_point, grid_candidates, fallback,
            handler_level, village_code, duplicate_of, updated_at,
            triage, stage, stage_due_at, group_id)
        VALUES (
            p_category, p_description, p_source,
            -- A supporter is handled with its original: registered, not dispatched again.
            CASE WHEN v_orig_id IS NOT NULL THEN 'registered'
                 WHEN p_check THEN 'submitted'
                 ELSE 'dispatched' END::report_status,
            v_grid_id,
            CASE WHEN v_orig_id IS NULL THEN v_staff_id ELSE v_orig_assignee END,
            p_now,
            CASE WHEN v_orig_id IS NULL AND NOT p_check THEN p_now END,
            CASE WHEN v_orig_id IS NULL AND NOT p_check THEN p_cal_dues[v_cal] END,
            false, v_point,
            v_key_id, p_idempotency_key, p_request_hash, p_address, p_media_url,
            coalesce(p_attributes, '{}'::jsonb), p_reporter, p_input_point,
            coalesce(v_codes[2:], '{}'), NOT v_covers,
            CASE WHEN v_orig_id IS NULL THEN v_level ELSE v_orig_level END,
            v_village, v_orig_id, p_now,
            p_triage,
            CASE WHEN v_orig_id IS NOT NULL THEN NULL
                 WHEN p_check THEN 'collected' ELSE 'registered' END,
            CASE WHEN v_orig_id IS NULL THEN p_cal_stage_dues[v_cal] END,
            v_group)
        ON CONFLICT (api_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING r.* INTO v_new;

        IF v_new.id IS NOT NULL AND v_orig_id IS NOT NULL THEN
            RETURN QUERY
                SELECT 'created'::text, NULL::text, v FROM report_view v WHERE v.id = v_new.id;
            RETURN;
        ELSIF v_new.id IS NOT NULL THEN
            -- A new report, no duplicate: its report_view row from the inserted one, without
            -- the view's ten joins (a quarter of the statement's executor set-up). What the view
            -- would look up is known: nothing refers to the report yet (0 supporters), no step
            -- of the loop and no note is recorded for it, and its own status is its effective
            -- one. tests/test_group_commit.py holds the two rows equal.
            RETURN QUERY
            SELECT 'created'::text, NULL::text, ROW(
                v_new.id, v_new.category, v_new.description, v_new.status::text, v_new.source,
                v_new.reported_at, v_new.updated_at, v_new.dispatched_at, v_new.due_at,
                v_new.closed_at, v_new.address, v_new.media_url, v_new.attributes,
                v_new.input_point, v_new.generated, ST_X(v_new.geom), ST_Y(v_new.geom),
                ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)),
                v_new.grid_candidates, v_new.fallback, v_new.handler_level, v_new.duplicate_of,
                g.code, g.name, v.code, v.name, s.id, s.name, s.role::text,
                v_new.status::text, 0::bigint, v_new.api_key_id, v_new.satisfied,
                v_new.escalations, NULL::varchar, NULL::timestamptz, NULL::text,
                v_new.triage, v_new.triage_reason, v_new.stage, v_new.stage_due_at,
                v_new.department_id, dep.code, dep.name, v_new.dept_sent_at,
                v_new.dept_respond_by, v_new.dept_accepted_at, v_new.dept_due_at,
                v_new.dept_resolved_at, v_new.outcome, v_new.outcome_reason, v_new.reopens,
                v_new.group_id)::report_view
            FROM grid g
            LEFT JOIN admin_unit v ON v.code = coalesce(v_new.village_code, g.village_code)
            LEFT JOIN staff s ON s.id = v_new.assignee_id
            LEFT JOIN department dep ON dep.id = v_new.department_id
            WHERE g.id = v_new.grid_id;
            RETURN;
        END IF;
        -- Lost a race with the same key: the other request committed first.
        SELECT k.id, k.request_hash INTO v_first_id, v_first_hash
        FROM gisgrid_keyed_report(v_key_id, p_idempotency_key) k;
    END IF;

    RETURN QUERY SELECT CASE WHEN v_first_hash = p_request_hash
                             THEN 'replayed' ELSE 'conflict' END, NULL::text, v
                 FROM report_view v WHERE v.id = v_first_id;
END
$$;

-- A batch of reports in one statement and one transaction (group commit: gisgrid.reports.intake
-- GroupCommit): for each element of p_batch, in order, gisgrid_intake and, when audited, its
-- write-audit entry with the status the client is answered (the API's one error table, given
-- per outcome). Each statement inside takes a fresh snapshot, so a report sees the ones before
-- it in the batch: a resent client key is a replay, a report nearby a duplicate, exactly as if
-- they had come one after the other. A batch of several takes the batch lock first: its reports
-- take several grids' locks in arrival order, and two batches taking two grids in opposite
-- orders would deadlock (one report alone holds one grid lock, so it never needs it).
-- p_lock_wait_ms (the service's group commit): how long a report of the batch may wait for a
-- grid's lock held by another transaction before the batch gives up (LockNotAvailable, all
-- rolled back) and its reports are filed alone, side by side, each waiting the session's
-- lock_timeout: one report meeting a long-held lock does not hold up the reports behind it.
CREATE FUNCTION gisgrid_intake_batch(p_batch jsonb, p_lock_wait_ms integer)
RETURNS TABLE (o_n integer, o_outcome text, o_detail text, o_report report_view)
LANGUAGE plpgsql VOLATILE
-- Each statement here and in gisgrid_intake planned once per connection: under "auto", plpgsql
-- re-planned placing, the duplicate search, the insert... for every report (custom plans,
-- ~17% of the backend's CPU per report). Every generic plan is the index plan the custom one
-- was (EXPLAIN in bench/README.md). No JIT: a report's statements are far too small to repay
-- compiling. Set here, once a batch: on gisgrid_intake they would be set and reset per report.
SET plan_cache_mode = force_generic_plan
SET jit = off
-- The assignee's open cases are a handful of rows: a bitmap scan's set-up and read-ahead cost
-- more than reading them (the generic plan's choice; the plain index scan reads one index).
SET enable_bitmapscan = off
AS $$
DECLARE
    e jsonb;
    r record;
BEGIN
    IF jsonb_array_length(p_batch) > 1 THEN
        PERFORM pg_advisory_xact_lock(4, -1);  -- (4, -1): the intake's namespace, no grid
    END IF;
    IF p_lock_wait_ms IS NOT NULL THEN
        PERFORM set_config('lock_timeout', p_lock_wait_ms || 'ms', true);  -- this transaction
    END IF;
    o_n := 0;
    FOR e IN SELECT a.value FROM jsonb_array_elements(p_batch) AS a LOOP
        o_n := o_n + 1;
        SELECT * INTO r FROM gisgrid_intake(
            e->>'key_hash', (e->>'api_key_id')::integer, e->>'idempotency_key',
            e->>'request_hash', e->>'category', (e->>'lon')::float8, (e->>'lat')::float8,
            (e->>'tol_m')::float8, (e->>'tol_deg')::float8, (e->>'radius_m')::float8,
            (e->>'radius_deg')::float8, (e->>'window_h')::float8, (e->>'now')::timestamptz,
            e->>'description', e->>'source', e->>'address', e->>'media_url',
            nullif(e->'attributes', 'null'::jsonb), nullif(e->'reporter', 'null'::jsonb),
            nullif(e->'input_point', 'null'::jsonb), (e->>'check')::boolean, e->>'triage',
            (e->>'cal_counties')::text[], (e->>'cal_dues')::timestamptz[],
            (e->>'cal_stage_dues')::timestamptz[]);
        IF (e->>'audited')::boolean THEN
            INSERT INTO audit_log (account_id, username, role, action, method, path,
                                   object_type, object_ids, client, status)
            VALUES ((e->>'audit_account_id')::integer, e->>'audit_username', e->>'audit_role',
                    'write', 'POST', e->>'audit_path', 'report',
                    CASE WHEN (r.o_report).id IS NOT NULL THEN ARRAY[(r.o_report).id::text] END,
                    e->>'audit_client', (e->'audit_statuses' ->> r.o_outcome)::int);
        END IF;
        o_outcome := r.o_outcome;
        o_detail := r.o_detail;
        o_report := r.o_report;
        RETURN NEXT;
    END LOOP;
END
$$;
