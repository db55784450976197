"""Push, measured in Chromium: a report's POST to its marker on the town's wall and to the case
on the grid worker's phone, over 20 reports (p50/p95 printed; bench/README.md records them
beside the old polling, measured by `./run bench push`). No timing is asserted here: the
machine is shared; what is asserted is that every report arrives by push, long before a poll."""

from __future__ import annotations

import dataclasses

import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine

from bench.push_latency import Setup, measure, prepare, summary

PASSWORD = "push latency password"


def seed_template(engine: Engine) -> Setup:
    """A grid, its town's operator and its worker, an API key, 20 doors to report at."""
    operator, worker, key_name = "t-push-operator", "t-push-worker", "t-push"
    with engine.begin() as conn:
        return prepare(conn, "441226", operator, worker, key_name, PASSWORD)


@pytest.fixture
def setup(seed: Setup, own_server: str) -> Setup:
    return dataclasses.replace(seed, server=own_server)


def test_reports_reach_the_wall_and_the_phone_by_push(browser: Browser, setup: Setup) -> None:
    got = measure(browser, setup, "push", n=20)
    print(f"\npush, POST -> wall marker: {summary(got['wall'])}")
    print(f"push, POST -> phone case:  {summary(got['phone'])}")
    # Arrived by push, not by the next poll (the wall polls every 3 s, the phone every 30 s).
    assert max(got["phone"]) < 10_000
    assert len(got["wall"]) == len(got["phone"]) == 20
