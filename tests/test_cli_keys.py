"""`gisgrid keys create` prints a key the server accepts; `gisgrid assign --dry-run` reports."""

import json
import os
import subprocess
import sys
import uuid

from sqlalchemy import Engine, text

from gisgrid.reports import api_keys

GISGRID = [sys.executable, "-m", "gisgrid.cli"]


def test_keys_create_prints_a_working_key(database_url: str, engine: Engine) -> None:
    name = f"test-cli-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "GISGRID_DATABASE_URL": database_url}
    out = (
        subprocess.run(
            [*GISGRID, "keys", "create", "--name", name],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    assert out.startswith("gg_") and len(out) > 30
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT revoked_at FROM api_key WHERE key_hash = :h AND name = :n"),
            {"h": api_keys.key_hash(out), "n": name},
        ).one()
        assert stored.revoked_at is None  # the printed key is the one stored, active
    again = subprocess.run(
        [*GISGRID, "keys", "create", "--name", name], env=env, capture_output=True, text=True
    )
    assert again.returncode == 2 and name in again.stderr


def test_assign_dry_run_counts_without_writing(database_url: str, demo_county: str) -> None:
    env = {**os.environ, "GISGRID_DATABASE_URL": database_url}
    out = subprocess.run(
        [*GISGRID, "assign", "reports", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["points"] >= 150 and result["changed"] == 0
