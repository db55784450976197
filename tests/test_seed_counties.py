"""The four seed counties: each loads with `gisgrid demo --county`, runs the loop, shows its maps.

Liuba (610729, 282 grids, the smallest) is loaded for real by the command, into a database of its
own (`gisgrid_test_seeds`, kept between runs like the test template), and then a copy of it is
served (the tests' writes go nowhere else): its maps open,
a resident's report goes round the loop to its GENERATED department, its scores and bulletin have
figures. Deqing (441226) is the whole suite's county. Longli (522730) and Jiande (330182) are big
(895 and 705 grids, ~1-2 minutes each to load on two cores): here their plans are checked without
loading them (divisions, calendars, and the staffing their reports give: Jiande's 705 full-time and
2,115 part-time workers, Longli's 3,792 household leaders); docs/architecture.md says what
`./run demo --county` printed for them when loaded by hand.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import numpy as np
import pytest
from sqlalchemy import text

from gisgrid.db import make_engine
from gisgrid.demo import county
from gisgrid.reports import Calendars
from gisgrid.settings import Settings
from tests.conftest import serve
from tests.databases import Databases

LIUBA = "610729"
SEEDS = "gisgrid_test_seeds"


@dataclass(frozen=True)
class Seeded:
    """Liuba served from its own database, with the sign-ins `gisgrid demo` printed."""

    url: str
    base: str
    operator: tuple[str, str]
    department: tuple[str, str]


@pytest.fixture(scope="module")
def liuba(databases: Databases) -> Iterator[Seeded]:
    """`gisgrid demo --county 610729 --no-serve` on a database of its own, then a copy served."""
    if SEEDS not in databases.cluster.names(SEEDS):
        databases.cluster.create_empty(SEEDS)  # the command migrates it (PostGIS, pgRouting)
    env = {**os.environ, "GISGRID_DATABASE_URL": databases.url(SEEDS)}
    run = subprocess.run(
        [sys.executable, "-m", "gisgrid.cli", "demo", "--county", LIUBA, "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    said = run.stdout
    operator = re.search(r"sign in at \S+ as (\S+) / (\S+) ", said)
    department = re.search(r"a department's inbox: (\S+) / (\S+) ", said)
    assert operator and department, said
    copy = databases.copy(SEEDS, "seeds")
    url = databases.url(copy)
    try:
        with serve(
            Settings(database_url=url, rate_limit_login=1000, rate_limit_intake=1000)
        ) as base:
            yield Seeded(url, base, (operator[1], operator[2]), (department[1], department[2]))
    finally:
        databases.drop_later(copy)


def _login(base: str, who: tuple[str, str]) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    r = client.post("/api/v1/auth/token", data={"username": who[0], "password": who[1]})
    assert r.status_code == 200, r.text
    client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return client


def test_liuba_loads_and_shows_its_maps(liuba: Seeded) -> None:
    with httpx.Client(base_url=liuba.base, timeout=60) as browser:
        county_unit = browser.get(f"/api/v1/units/{LIUBA}").json()
        assert county_unit["name"] == "留坝县"
        r = browser.post("/login", data={"username": liuba.operator[0],
                                         "password": liuba.operator[1]})  # fmt: skip
        assert r.status_code == 303
        center = browser.get("/maps/center", params={"unit": LIUBA})
        assert center.status_code == 200 and "留坝县" in center.text
        assert browser.get("/maps/planner", params={"unit": LIUBA}).status_code == 200
        grids = browser.get("/api/v1/grids", params={"unit": LIUBA, "limit": 1}).json()
        grid = grids["features"][0]["properties"]["code"]
        assert browser.get("/maps/worker", params={"grid": grid}).status_code == 200
        png = browser.get("/maps/export.png", params={"unit": LIUBA})
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
        staff = browser.get("/maps/data/staff", params={"unit": LIUBA}).json()
        assert staff["features"], "the generated patrol day puts staff on the wall"
    engine = make_engine(liuba.url)
    try:
        with engine.connect() as conn:
            roles = dict(
                conn.execute(
                    text(
                        "SELECT a.role::text, count(DISTINCT tr.staff_id) FROM patrol_track tr "
                        "JOIN staff_assignment a ON a.staff_id = tr.staff_id "
                        "JOIN grid g ON g.id = tr.grid_id "
                        "WHERE tr.generated AND g.code LIKE '610729%' GROUP BY 1"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    # Part-time workers and household leaders patrol too, not only full-time workers.
    assert roles.get("full_time", 0) > roles.get("part_time", 0) > 0
    assert roles.get("household_leader", 0) > 0


def test_liuba_runs_the_loop_to_its_department(liuba: Seeded) -> None:
    operator, dept = _login(liuba.base, liuba.operator), _login(liuba.base, liuba.department)
    public = httpx.Client(base_url=liuba.base, timeout=60)
    try:
        depts = public.get("/api/v1/departments", params={"county": LIUBA}).json()
        assert depts["county"]["name"] == "留坝县" and len(depts["departments"]) == 12
        assert depts["generated"] is True
        grid = operator.get("/api/v1/grids", params={"unit": LIUBA, "limit": 5}).json()
        lon, lat = grid["features"][2]["geometry"]["coordinates"][0][0][0]
        where = public.get("/api/v1/locate", params={"lon": lon, "lat": lat})
        assert where.status_code == 200
        receipt = f"seed-{uuid.uuid4()}"
        filed = public.post(
            "/api/v1/public/reports",
            json={"service_code": "BJ03", "lon": lon, "lat": lat, "description": "路面塌陷"},
            headers={"Idempotency-Key": receipt},
        )
        assert filed.status_code == 201, filed.text
        rid = filed.json()["id"]

        def step(client: httpx.Client, **body: object) -> httpx.Response:
            r = client.post(f"/api/v1/reports/{rid}/steps", json=body)
            assert r.status_code == 200, r.text
            return r

        step(operator, action="check", note="现场核实")
        assert step(operator, action="register").json()["triage"]["label"] == "公家事"
        r = step(operator, action="escalate", department="ZJ", note="请住建局处理")
        assert r.json()["department"]["name"] == "留坝县住房和城乡建设局"
        inbox = dept.get("/api/v1/departments/ZJ/cases", params={"county": LIUBA}).json()
        assert rid in [c["id"] for c in inbox["cases"]]
        step(dept, action="accept")
        step(dept, action="resolve", note="已修补路面", outcome="resolved")
        step(operator, action="close")
        r = public.post(
            f"/api/v1/public/reports/{rid}/verdict", json={"receipt": receipt, "satisfied": True}
        )
        assert r.status_code == 200 and r.json()["status"] == "closed"

        scores = public.get(f"/api/v1/units/{LIUBA}/scores").json()
        assert scores["unit"]["due"] > 100 and len(scores["children"]) == 8
        assert 0.5 < scores["unit"]["on_time_rate"] < 0.95
        b = operator.get(f"/api/v1/units/{LIUBA}/bulletin").json()
        assert b["title"] == "留坝县网格化服务管理工作通报" and b["departments"]
    finally:
        operator.close()
        dept.close()
        public.close()


def test_the_big_seed_counties_plan_their_staff_as_their_reports_say() -> None:
    calendars = Calendars.load()
    rng = np.random.default_rng(1)
    for code, towns, villages in (("522730", 6, 82), ("330182", 16, 271), ("441226", 13, 193)):
        divisions = county.read_divisions(code)
        assert sum(d.level == "town" for d in divisions) == towns
        assert sum(d.level == "village" for d in divisions) == villages
        assert code in calendars.counties
    jiande = county.PROFILES["330182"]
    households = rng.integers(80, 400, jiande.grids)
    full, part = county.workers_per_grid(households, jiande.staffing, rng)
    assert (int(full.sum()), int(part.sum())) == (705, 2_115)
    assert full.min() >= 1 and part.min() >= 1
    longli = county.PROFILES["522730"]
    households = rng.multinomial(longli.households - 5 * longli.grids, [1 / longli.grids] *
                                 longli.grids) + 5  # fmt: skip
    groups = county.groups_per_grid(households, longli.staffing)
    assert int(groups.sum()) == 3_792 and groups.min() >= 1
    # Elsewhere one household leader per ten households (十联户).
    assert county.groups_per_grid(np.array([25, 10, 1]), county.Staffing()).tolist() == [3, 1, 1]
