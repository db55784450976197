-- Push (issue 16): every committed change to a report is announced on the channel
-- gisgrid_events, whatever wrote it (the intake's statement, a case step, the CLI, plain SQL),
-- so every server process LISTENing hears it and tells the phones and walls in scope.
-- Code, not schema: gisgrid.db.migrate replaces it on every run. Statement-level triggers with
-- transition tables: a bulk load (the demo county's COPY) sends one "cases" notice, not 10,000.
SELECT pg_advisory_xact_lock(4, 1);

DROP TRIGGER IF EXISTS gisgrid_report_inserted ON report;
DROP TRIGGER IF EXISTS gisgrid_report_updated ON report;
DROP FUNCTION IF EXISTS gisgrid_notify_report_insert() CASCADE;
DROP FUNCTION IF EXISTS gisgrid_notify_report_update() CASCADE;
DROP FUNCTION IF EXISTS gisgrid_notify_report() CASCADE;

-- One notice per changed report (up to 50 in a statement), else one notice for them all.
-- A notice says which report, its grid (what the listeners' scopes are matched against), its
-- status, its handler and whether it was just given to someone: no text, no place, no person.
CREATE FUNCTION gisgrid_notify_report() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    SELECT count(*) INTO n FROM new_rows;
    IF n > 50 THEN
        PERFORM pg_notify('gisgrid_events', json_build_object('type', 'cases', 'count', n)::text);
    ELSIF n > 0 AND TG_OP = 'INSERT' THEN
        PERFORM pg_notify('gisgrid_events', json_build_object(
            'type', 'case', 'op', 'new', 'id', r.id, 'grid', g.code,
            'status', r.status::text, 'assignee', r.assignee_id, 'level', r.handler_level,
            'assigned', r.assignee_id IS NOT NULL OR r.handler_level IS NOT NULL,
            'source', r.source)::text)
        FROM new_rows r LEFT JOIN grid g ON g.id = r.grid_id;
    ELSIF n > 0 THEN
        -- An update's trigger also has the rows as they were (an insert's has no old_rows).
        PERFORM pg_notify('gisgrid_events', json_build_object(
            'type', 'case', 'op', 'changed', 'id', r.id, 'grid', g.code,
            'status', r.status::text, 'assignee', r.assignee_id, 'level', r.handler_level,
            'assigned', (r.assignee_id IS DISTINCT FROM o.assignee_id
                         OR r.handler_level IS DISTINCT FROM o.handler_level),
            'was', o.status::text)::text)
        FROM new_rows r JOIN old_rows o ON o.id = r.id LEFT JOIN grid g ON g.id = r.grid_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER gisgrid_report_inserted AFTER INSERT ON report
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gisgrid_notify_report();

CREATE TRIGGER gisgrid_report_updated AFTER UPDATE ON report
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gisgrid_notify_report();
