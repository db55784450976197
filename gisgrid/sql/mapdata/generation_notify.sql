-- Tell every process when grid generations change: the plain grid tile URL serves the current
-- generation, which each process keeps in memory (gisgrid/mapdata/current.py). A statement
-- trigger, so a commit of 900 grids sends one notice; PostgreSQL delivers it at commit and
-- never for a rolled-back transaction. Code, not schema: gisgrid.db.migrate replaces it on
-- every run, in one transaction.

-- Serialise concurrent installs (two workers migrating at once would race on the catalog).
SELECT pg_advisory_xact_lock(4, -1);  -- (4, id>0) are the intake's per-grid locks

CREATE OR REPLACE FUNCTION gisgrid_generation_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gisgrid_generation', TG_OP);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER generation_notify
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON generation
FOR EACH STATEMENT EXECUTE FUNCTION gisgrid_generation_notify();
