"""Group commit (issue 18): reports arriving together are written in one transaction, and each
is answered exactly as if it had come alone; one that fails sends the rest of its batch alone."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg
from sqlalchemy import Engine, text

from gisgrid import errors
from gisgrid.db import libpq_url, make_intake_pool
from gisgrid.reports import api_keys, intake
from gisgrid.reports.intake import AuditEntry, IntakeConfig, ReportIn
from gisgrid.settings import Settings

STATUSES = {"created": 201, "replayed": 200, "conflict": 409, "outside": 422, "bad_key": 403}


def _audit() -> AuditEntry:
    return AuditEntry("test", "/open311/v2/requests.json", "127.0.0.1", statuses=STATUSES)


def _points(engine: Engine, n: int) -> list[tuple[float, float]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM household ORDER BY id % 997, id LIMIT :n"),
            {"n": n},
        ).all()
    return [(float(x), float(y)) for x, y in rows]


def test_reports_sent_together_share_a_commit_and_keep_their_own_answers(
    own_database_url: str, own_engine: Engine
) -> None:
    with own_engine.begin() as conn:
        key = api_keys.create_key(conn, "test-group-commit")
    pts = _points(own_engine, 6)
    config = IntakeConfig()
    same_key = uuid.uuid4().hex
    # Each class of 三事分流, collected for a check or dispatched at once.
    codes = ["SJ01", "ZZ02", "SJ03", "ZZ07", "BJ01", "ZZ01"]
    sources = ["patrol", "resident"] * 3
    reports = [
        ReportIn(c, lon=x, lat=y, source=src)
        for c, src, (x, y) in zip(codes, sources, pts, strict=True)
    ]
    # The first one again, nearby: a duplicate of the report just before it in the batch.
    reports.append(ReportIn("SJ01", lon=pts[0][0], lat=pts[0][1] + 1e-5, source="patrol"))
    # The same client key twice in one batch: one report, answered twice.
    reports += [ReportIn("SJ02", lon=pts[0][0], lat=pts[0][1], idempotency_key=same_key)] * 2
    # The same key with other content: a conflict, not a replay.
    reports.append(ReportIn("SJ03", lon=pts[1][0], lat=pts[1][1], idempotency_key=same_key))
    outside = ReportIn("SJ01", lon=0.5, lat=0.5)

    async def scenario() -> list[Any]:
        pool = make_intake_pool(own_database_url, Settings(database_url=own_database_url))
        await pool.open(wait=True)
        try:
            # One report alone first: what arrives while its commit is in flight goes together.
            jobs = [intake.file_report(pool, r, config, _audit(), api_key=key) for r in reports]
            jobs.append(intake.file_report(pool, outside, config, _audit(), api_key=key))
            jobs.append(intake.file_report(pool, reports[0], config, _audit(), api_key="nokey"))
            return await asyncio.gather(*jobs, return_exceptions=True)
        finally:
            await pool.close()

    got = asyncio.run(scenario())
    created = got[:7]
    first, again, conflict, out, bad = got[7:]
    assert all(isinstance(r, dict) and not r["replayed"] for r in created)
    assert [r["duplicate_of"] for r in created] == [None] * 6 + [created[0]["id"]]
    assert isinstance(first, dict) and isinstance(again, dict)
    assert (first["replayed"], again["replayed"], again["id"]) == (False, True, first["id"])
    assert isinstance(conflict, errors.IdempotencyConflict)
    assert isinstance(out, errors.OutsideCoverage)
    assert isinstance(bad, errors.InvalidApiKey)
    ids = [r["id"] for r in created] + [first["id"]]
    with own_engine.connect() as conn:
        xids = conn.execute(
            text("SELECT xmin::text::bigint FROM report WHERE id = ANY(:ids)"), {"ids": ids}
        ).scalars()
        audited = conn.execute(
            text("SELECT status, count(*) FROM audit_log WHERE username = 'test' GROUP BY 1")
        ).all()
        n = conn.execute(
            text("SELECT count(*) FROM report WHERE idempotency_key = :k"), {"k": same_key}
        ).scalar_one()
    # Each answer is the report as it is stored and shown (report_view), to the last field; but
    # for its supporters: none when it was answered, the duplicates filed after it since.
    with own_engine.connect() as conn:
        for r in [*created, first]:
            shown = intake.read_report(conn, r["id"])
            assert r["supporters"] == 0
            assert shown | {"replayed": False, "supporters": 0} == r, r["id"]
        assert intake.read_report(conn, created[0]["id"])["supporters"] == 1
    # Fewer transactions than reports: the ones sent while the first was in flight went together.
    assert len(set(xids)) < len(ids)
    assert n == 1
    # Every report has its audit entry, with the status its client was answered.
    assert dict(audited) == {201: 8, 200: 1, 409: 1, 422: 1, 403: 1}


def test_a_failing_report_sends_the_rest_of_its_batch_alone(
    own_database_url: str, own_engine: Engine
) -> None:
    pts = _points(own_engine, 4)
    config = IntakeConfig()
    now = intake.dt.datetime.now(intake.dt.UTC)
    params = [
        intake.intake_params(ReportIn("SJ01", lon=x, lat=y), x, y, config, now, api_key_id=None)
        for x, y in pts
    ]
    params[2]["cal_dues"] = "not an array"  # the server refuses this statement, not the others

    async def scenario() -> list[Any]:
        pool = make_intake_pool(own_database_url, Settings(database_url=own_database_url))
        await pool.open(wait=True)
        try:
            gc = intake.group_commit(pool)
            return await asyncio.gather(*(gc.file(p) for p in params), return_exceptions=True)
        finally:
            await pool.close()

    got = asyncio.run(scenario())
    assert isinstance(got[2], psycopg.errors.InvalidTextRepresentation)
    ok = [got[i] for i in (0, 1, 3)]
    assert all(isinstance(r, dict) and r["o_outcome"] == "created" for r in ok)
    with own_engine.connect() as conn:
        stored = conn.execute(
            text("SELECT count(*) FROM report WHERE id = ANY(:ids)"),
            {"ids": [r["id"] for r in ok]},
        ).scalar_one()
    assert stored == 3


def test_a_report_meeting_a_held_grid_lock_does_not_hold_up_the_others(
    own_database_url: str, own_engine: Engine
) -> None:
    """A transaction elsewhere holds one grid's intake lock: the batch gives up on it, the other
    reports are filed alone at once, and the one in that grid follows when the lock is let go."""
    pts = _points(own_engine, 3)
    with own_engine.begin() as conn:
        key = api_keys.create_key(conn, "test-group-commit-lock")
        grid_id = intake.place(conn, *pts[0])["grid"]["id"]
        others = {intake.place(conn, *p)["grid"]["id"] for p in pts[1:]}
    assert grid_id not in others
    config = IntakeConfig()
    reports = [ReportIn("SJ03", lon=x, lat=y, source="patrol") for x, y in pts]

    async def scenario() -> tuple[list[Any], bool, Any]:
        # A lock wait as long as the test: only the batch's own short wait lets the others by.
        settings = Settings(
            database_url=own_database_url, lock_timeout_s=120, statement_timeout_s=120
        )
        pool = make_intake_pool(own_database_url, settings)
        await pool.open(wait=True)
        holder = await psycopg.AsyncConnection.connect(libpq_url(own_database_url), autocommit=True)
        try:
            await holder.execute("SELECT pg_advisory_lock(4, %s)", (grid_id,))
            jobs = [
                asyncio.ensure_future(intake.file_report(pool, r, config, _audit(), api_key=key))
                for r in reports
            ]
            # The two in other grids are answered while the lock is still held.
            others_done = await asyncio.wait_for(asyncio.gather(*jobs[1:]), 60)
            waiting = not jobs[0].done()
            await holder.execute("SELECT pg_advisory_unlock(4, %s)", (grid_id,))
            return others_done, waiting, await jobs[0]
        finally:
            await holder.close()
            await pool.close()

    others_done, waiting, first = asyncio.run(scenario())
    assert all(not r["replayed"] and r["grid"]["code"] for r in others_done)
    assert waiting
    assert not first["replayed"] and first["id"] not in {r["id"] for r in others_done}
    with own_engine.connect() as conn:
        stored = conn.execute(
            text("SELECT grid_id FROM report WHERE id = :i"), {"i": first["id"]}
        ).scalar_one()
    assert stored == grid_id
