"""Accounts of every role against every guarded endpoint, inside and outside their scope."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from gisgrid.access import accounts
from gisgrid.settings import Settings
from tests.conftest import seed_item, serve
from tests.databases import sign_up

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Place:
    """A grid with a household, its village and town."""

    grid: str
    household: int

    @property
    def village(self) -> str:
        return self.grid[:12]

    @property
    def town(self) -> str:
        return self.grid[:9]


def _places(engine: Engine) -> tuple[Place, Place]:
    """Two grids in different towns, each with one of its households."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("""
            SELECT DISTINCT ON (left(g.code, 9)) g.code, h.id
            FROM grid g JOIN household h ON h.grid_id = g.id
            WHERE g.valid_to IS NULL ORDER BY left(g.code, 9), g.code, h.id LIMIT 2""")
        ).all()
    return Place(rows[0][0], rows[0][1]), Place(rows[1][0], rows[1][1])


ROLE_SCOPES = {
    # role: which unit of `home` the account's scope is
    "admin": "",
    "county_operator": "county",
    "town_operator": "town",
    "village_operator": "village",
    "grid_chief": "grid",
    "grid_worker": "grid",
    "household_leader": "grid",
    "planner": "county",
    "department_handler": "county",
    "resident": "village",
}


def seed_template(engine: Engine) -> tuple[tuple[Place, Place], dict[str, str]]:
    """The two places; one account per role, scoped around the first; role -> bearer token."""
    places = _places(engine)
    home = places[0]
    scopes = {
        "": "",
        "county": "441226",
        "town": home.town,
        "village": home.village,
        "grid": home.grid,
    }
    plan = {role: (role, scopes[unit]) for role, unit in ROLE_SCOPES.items()}
    return places, sign_up(engine, plan, PASSWORD, "t")


places = seed_item(0)
tokens = seed_item(1)


def _bearer(token: str | None) -> dict[str, str]:
    """The role's credentials (none for the public, who has no token)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def _call(http: httpx.Client, token: str | None, path: str, **params: Any) -> httpx.Response:
    return http.get(path, params=params, headers=_bearer(token))


def _outcome(r: httpx.Response) -> str:
    """The status, or for a personal read answered 200, whether the person's fields were shown."""
    if r.status_code == 200 and r.headers["content-type"].startswith("application/json"):
        body = r.json()
        if isinstance(body, dict) and "personal_fields" in body:
            return str(body["personal_fields"])
    return str(r.status_code)


ROLES = (*ROLE_SCOPES, "public")

# Who may do what: each surface's outcome for every role, in ROLES' order. Written out by hand:
# this table is the policy under test. The accounts are scoped around `home` (its grid, village,
# town or county); `away` is a grid in another town. Notes on single cells:
# - the department handler is bound to no department, so sees no case on the wall: a
#   department's cases are its inbox;
# - the public is refused the loop's bulletin, lists, scores and inbox: workers are named people;
# - a plan draft's band is the wrong way round: it gets past the role and scope checks and is
#   refused as bad input (422), so the matrix writes no plan.
MATRIX = {
    #                     admin  county town   vill.  chief  worker leader plan.  dept.  res. pub.
    "grid list: home":   "shown  shown  shown  shown  shown  shown  shown  masked masked 403  401",
    "grid list: away":   "shown  shown  403    403    403    403    403    masked masked 403  401",
    "household: home":   "shown  shown  shown  shown  shown  shown  shown  masked masked 403  401",
    "household: away":   "shown  shown  403    403    403    403    403    masked masked 403  401",
    "audit log":         "200    403    403    403    403    403    403    403    403    403  401",
    "county bulletin":   "200    200    403    403    403    403    403    200    200    403  401",
    "red/black: home":   "200    200    200    403    403    403    403    200    200    403  401",
    "scores by worker":  "200    200    403    403    403    403    403    200    200    403  401",
    "inbox of ZJ":       "200    200    200    403    403    403    403    403    403    403  401",
    "wall: home town":   "200    200    200    403    403    403    403    200    403    403  401",
    "visit: home":       "201    201    201    201    201    201    403    403    403    403  401",
    "visit: away":       "201    201    403    403    403    403    403    403    403    403  401",
    "visits read: home": "200    200    200    200    200    200    200    200    200    403  401",
    "plans: list":       "200    200    403    403    403    403    403    200    403    403  401",
    "plan draft: home":  "422    422    403    403    403    403    403    422    403    403  401",
    "plan draft: away":  "422    422    403    403    403    403    403    422    403    403  401",
}  # fmt: skip


def _surfaces(home: Place, away: Place) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """The request behind each surface of MATRIX: method, path, and query (GET) or body (POST)."""
    visit = {"kind": "routine", "note": "auth matrix"}
    at_home, abroad = f"/api/v1/households/{home.household}", f"/api/v1/households/{away.household}"
    return {
        "grid list: home": ("GET", "/api/v1/households", {"grid": home.grid}),
        "grid list: away": ("GET", "/api/v1/households", {"grid": away.grid}),
        "household: home": ("GET", at_home, {}),
        "household: away": ("GET", abroad, {}),
        "audit log": ("GET", "/api/v1/audit", {}),
        "county bulletin": ("GET", "/api/v1/units/441226/bulletin", {}),
        "red/black: home": ("GET", f"/api/v1/units/{home.town}/redblack", {}),
        "scores by worker": ("GET", "/api/v1/units/441226/scores", {"by": "workers"}),
        "inbox of ZJ": ("GET", "/api/v1/departments/ZJ/cases", {"county": "441226"}),
        "wall: home town": ("GET", "/maps/data/reports", {"unit": home.town}),
        "visit: home": ("POST", f"{at_home}/visits", visit),
        "visit: away": ("POST", f"{abroad}/visits", visit),
        "visits read: home": ("GET", f"{at_home}/visits", {}),
        "plans: list": ("GET", "/api/v1/plans", {}),
        "plan draft: home": ("POST", "/api/v1/plans", {"unit": home.village, "band": [300, 100]}),
        "plan draft: away": ("POST", "/api/v1/plans", {"unit": away.village, "band": [300, 100]}),
    }


@pytest.mark.parametrize("surface", list(MATRIX))
def test_role_scope_matrix(
    own_http: httpx.Client, tokens: dict[str, str], places: tuple[Place, Place], surface: str
) -> None:
    method, path, data = _surfaces(*places)[surface]
    sent = {"params": data} if method == "GET" else {"json": data}
    got = {
        role: _outcome(own_http.request(method, path, headers=_bearer(tokens.get(role)), **sent))
        for role in ROLES
    }
    assert got == dict(zip(ROLES, MATRIX[surface].split(), strict=True))


def test_only_staff_listen_to_pushed_events(own_http: httpx.Client, tokens: dict[str, str]) -> None:
    # A role that may listen would open a stream that never ends: only the refusals are asked.
    assert own_http.get("/api/v1/events", headers=_bearer(tokens["resident"])).status_code == 403
    assert own_http.get("/api/v1/events").status_code == 401


def test_a_plan_is_not_shown_by_its_number(own_http: httpx.Client, tokens: dict[str, str]) -> None:
    for role in ROLES:
        for path in ("/api/v1/plans/1", "/api/v1/plans/1/impact"):
            r = own_http.get(path, headers=_bearer(tokens.get(role)))
            refused = (401,) if role == "public" else (403, 404)
            assert r.status_code in refused, (role, path, r.text)


def test_masked_fields_hide_the_person(
    own_http: httpx.Client, tokens: dict[str, str], places: tuple[Place, Place], own_engine: Engine
) -> None:
    home = places[0]
    body = _call(own_http, tokens["planner"], f"/api/v1/households/{home.household}").json()
    with own_engine.connect() as conn:
        name, phone, idn = conn.execute(
            text("SELECT head_name, phone, id_number FROM household WHERE id = :i"),
            {"i": home.household},
        ).one()
    assert body["head_name"] != name and body["head_name"].endswith("**")
    assert body["phone"] != phone and "****" in body["phone"]
    assert body["id_number"] != idn and "********" in body["id_number"]
    shown = _call(own_http, tokens["grid_worker"], f"/api/v1/households/{home.household}").json()
    assert (shown["head_name"], shown["phone"], shown["id_number"]) == (name, phone, idn)


def test_refusals_say_what_is_missing(
    own_http: httpx.Client, tokens: dict[str, str], places: tuple[Place, Place]
) -> None:
    home, away = places
    r = _call(own_http, None, "/api/v1/households", grid=home.grid)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "/api/v1/auth/token" in r.json()["detail"]
    r = _call(own_http, tokens["grid_worker"], "/api/v1/households", grid=away.grid)
    assert r.status_code == 403 and away.grid in r.json()["detail"]
    assert home.grid in r.json()["detail"]  # names the scope the caller does have
    r = _call(own_http, "not-a-token", "/api/v1/households", grid=home.grid)
    assert r.status_code == 401 and r.json()["detail"] == "登录令牌无效或已注销：请重新登录"


def test_wrong_password_and_expired_token(
    own_http: httpx.Client, places: tuple[Place, Place], own_engine: Engine
) -> None:
    # A name of its own: failures per username back off, and the database keeps them an hour.
    nobody = f"nobody-{uuid.uuid4().hex[:8]}"
    r = own_http.post("/api/v1/auth/token", data={"username": nobody, "password": "x" * 9})
    assert r.status_code == 401 and r.json()["detail"] == "用户名或密码错误"
    # A worker of its own, whose token expires (the module's accounts keep theirs).
    name = f"t-expiring-{uuid.uuid4().hex[:8]}"
    with own_engine.begin() as conn:
        accounts.create_account(conn, name, PASSWORD, "grid_worker", places[0].grid)
        token = accounts.issue_token(conn, name, PASSWORD)[0]
    assert _call(own_http, token, "/api/v1/auth/me").status_code == 200
    with own_engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE access_token SET expires_at = now() - interval '1 minute' "
                "WHERE token_hash = encode(sha256(:t), 'hex')"
            ),
            {"t": token.encode()},
        )
    # The server keeps what a token stands for a few seconds (api/security.TokenCache):
    # a change made behind its back, in the database, is seen within that time.
    deadline = time.monotonic() + 10
    while (r := _call(own_http, token, "/api/v1/auth/me")).status_code == 200:
        assert time.monotonic() < deadline, "the expired token was still accepted after 10 s"
        time.sleep(0.5)
    assert r.status_code == 401 and "过期" in r.json()["detail"]


def test_personal_reads_and_writes_are_audited(
    own_http: httpx.Client, tokens: dict[str, str], places: tuple[Place, Place]
) -> None:
    home = places[0]
    me = _call(own_http, tokens["grid_worker"], "/api/v1/auth/me").json()["username"]
    listed = _call(own_http, tokens["grid_worker"], "/api/v1/households", grid=home.grid).json()
    ids = {str(h["id"]) for h in listed["households"]}
    log = _call(
        own_http, tokens["admin"], "/api/v1/audit", username=me, action="read_personal"
    ).json()
    assert log and set(log[0]["object_ids"]) == ids and log[0]["client"] == "127.0.0.1"
    # A failed write is audited too, with its status.
    own_http.post("/api/v1/auth/token", data={"username": me, "password": "wrong-password"})
    writes = _call(own_http, tokens["admin"], "/api/v1/audit", action="write", limit=20).json()
    assert any(w["path"] == "/api/v1/auth/token" and w["status"] == 401 for w in writes)


def test_audit_log_is_append_only(own_engine: Engine, tokens: dict[str, str]) -> None:
    for stmt in ("UPDATE audit_log SET username = 'x'", "DELETE FROM audit_log"):  # the subject
        with pytest.raises(DBAPIError, match="append-only"), own_engine.begin() as conn:
            conn.execute(text(stmt))


def test_session_cookie_for_map_pages(
    own_http: httpx.Client, tokens: dict[str, str], own_engine: Engine
) -> None:
    me = _call(own_http, tokens["town_operator"], "/api/v1/auth/me").json()["username"]
    with httpx.Client(base_url=str(own_http.base_url)) as browser:
        assert "<form" in browser.get("/login").text
        r = browser.post(
            "/login", data={"username": me, "password": PASSWORD, "next": "//evil.example/"}
        )
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert browser.get("/api/v1/auth/me").json()["role"] == "town_operator"
        # As a browser sends it: from the service's own page (Origin), else it is refused.
        browser.post("/logout", headers={"Origin": str(own_http.base_url).rstrip("/")})
        assert browser.get("/api/v1/auth/me").json()["authenticated"] is False


def test_login_is_rate_limited(own_database_url: str, demo_county: str) -> None:
    with serve(Settings(database_url=own_database_url, rate_limit_login=3)) as url:
        codes = [
            httpx.post(
                f"{url}/api/v1/auth/token",
                data={"username": f"nobody-{uuid.uuid4().hex[:8]}", "password": "whatever1"},
            ).status_code
            for _ in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        r = httpx.post(f"{url}/api/v1/auth/token", data={"username": "x", "password": "y" * 8})
        assert "at most 3 a minute" in r.json()["detail"]


def _fill(path: str, places: tuple[Place, Place]) -> str:
    home = places[0]
    values = {"code": home.grid, "household_id": str(home.household)}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "1"), path)


def test_no_endpoint_gives_personal_fields_to_the_public(
    own_http: httpx.Client, places: tuple[Place, Place], own_engine: Engine
) -> None:
    home = places[0]
    with own_engine.connect() as conn:
        secrets = [
            v
            for row in conn.execute(
                text(
                    "SELECT h.head_name, h.phone, h.id_number FROM household h "
                    "JOIN grid g ON g.id = h.grid_id WHERE g.code = :g"
                ),
                {"g": home.grid},
            )
            for v in row
        ]
    assert secrets
    spec = own_http.get("/openapi.json").json()
    called = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method != "get":
                continue
            params = {}
            for p in op.get("parameters", []):
                if p["in"] == "query" and p.get("required"):
                    params[p["name"]] = {
                        "grid": home.grid,
                        "lon": "112.0",
                        "lat": "23.2",
                        "unit": "441226",
                    }.get(p["name"], "1")
            r = own_http.get(_fill(path, places), params=params)
            called += 1
            assert r.status_code < 500, (path, r.text)
            leaked = [s for s in secrets if s and s in r.text]
            assert not leaked, f"GET {path} gave personal data to the public: {leaked[:3]}"
    assert called >= 8


def test_public_sees_reports_at_their_grid_not_their_spot(
    own_http: httpx.Client, tokens: dict[str, str], own_engine: Engine
) -> None:
    with own_engine.connect() as conn:
        rid, lon, lat, grid = conn.execute(
            text(
                "SELECT r.id, ST_X(r.geom), ST_Y(r.geom), g.code FROM report r "
                "JOIN grid g ON g.id = r.grid_id WHERE r.generated ORDER BY r.id LIMIT 1"
            )
        ).one()
    public = own_http.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert (public["long"], public["lat"]) != (lon, lat)
    assert public["address"] is None
    located = own_http.get("/api/v1/locate", params={"lon": public["long"], "lat": public["lat"]})
    assert located.json()["grid"]["code"] == grid  # shown inside its own grid
    staff = _call(own_http, tokens["county_operator"], f"/open311/v2/requests/{rid}.json").json()[0]
    assert (staff["long"], staff["lat"]) == (lon, lat)
    planner = _call(own_http, tokens["planner"], f"/open311/v2/requests/{rid}.json").json()[0]
    assert (planner["long"], planner["lat"]) != (lon, lat)


def test_patrol_endpoints_need_an_account_in_scope(
    own_http: httpx.Client, tokens: dict[str, str], places: tuple[Place, Place]
) -> None:
    home, away = places
    period = {"start": "2024-01-01T00:00:00+08:00", "end": "2024-01-02T00:00:00+08:00"}
    assert _call(own_http, None, "/api/v1/coverage", unit=home.grid, **period).status_code == 401
    assert (
        _call(
            own_http, tokens["resident"], "/api/v1/coverage", unit=home.grid, **period
        ).status_code
        == 403
    )
    assert (
        _call(
            own_http, tokens["grid_worker"], "/api/v1/coverage", unit=away.grid, **period
        ).status_code
        == 403
    )
    assert (
        _call(
            own_http, tokens["grid_worker"], "/api/v1/coverage", unit=home.grid, **period
        ).status_code
        == 200
    )
    fix = [{"staff": 1, "t": "2024-01-01T09:00:00+08:00", "lon": 112.0, "lat": 23.2}]
    r = own_http.post("/api/v1/patrols/tracks", json=fix)
    assert r.status_code == 401
    r = own_http.post(
        "/api/v1/patrols/tracks", json=fix, headers={"Authorization": f"Bearer {tokens['planner']}"}
    )
    assert r.status_code == 403 and "当前账号是规划员" in r.json()["detail"]


def test_an_open311_post_is_audited_once_with_its_report(
    own_http: httpx.Client, own_engine: Engine, places: tuple[Place, Place]
) -> None:
    from gisgrid.reports import api_keys

    with own_engine.begin() as conn:
        key = api_keys.create_key(conn, f"t-audit-{uuid.uuid4().hex[:8]}")
        pt = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM household WHERE id = :i"),
            {"i": places[0].household},
        ).one()
    count = "SELECT count(*) FROM audit_log WHERE path = '/open311/v2/requests.json'"
    with own_engine.connect() as conn:
        before = conn.execute(text(count)).scalar_one()
    r = own_http.post(
        "/open311/v2/requests.json",
        data={"api_key": key, "service_code": "ZZ07", "lat": pt[1], "long": pt[0]},
    )
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    with own_engine.connect() as conn:
        after = conn.execute(text(count)).scalar_one()
        entry = conn.execute(
            text("SELECT status, object_ids FROM audit_log WHERE :r = ANY(object_ids)"), {"r": rid}
        ).one()
    assert after == before + 1
    assert entry.status == 201 and entry.object_ids == [rid]
    # A refused post is audited too, by the middleware, with its status.
    r = own_http.post("/open311/v2/requests.json", data={"api_key": "nope", "service_code": "ZZ07"})
    assert r.status_code in (400, 403)
    with own_engine.connect() as conn:
        assert conn.execute(text(count)).scalar_one() == after + 1


def test_a_visit_photo_is_for_staff_in_scope_only(
    own_http: httpx.Client, tokens: dict[str, str], places: tuple[Place, Place], own_engine: Engine
) -> None:
    from tests.field_fixtures import photo_bytes

    home = places[0]
    r = own_http.post(
        f"/api/v1/households/{home.household}/visits",
        data={"kind": "care", "note": "auth photo"},
        files={"photo": ("v.jpg", photo_bytes(colour=(9, 99, 199)), "image/jpeg")},
        headers={"Authorization": f"Bearer {tokens['grid_worker']}"},
    )
    assert r.status_code == 201, r.text
    url = r.json()["photo_url"]
    assert own_http.get(url).status_code == 401  # the public: sign in
    for role, status in (("grid_worker", 200), ("town_operator", 200), ("admin", 200)):
        got = own_http.get(url, headers={"Authorization": f"Bearer {tokens[role]}"})
        assert got.status_code == status, role
        if status == 200:
            assert got.headers["cache-control"].startswith("private")


def test_a_town_planner_drafts_only_in_their_town(
    own_http: httpx.Client, own_engine: Engine, places: tuple[Place, Place]
) -> None:
    home, away = places
    name = f"t-planner-town-{uuid.uuid4().hex[:8]}"
    with own_engine.begin() as conn:
        accounts.create_account(conn, name, PASSWORD, "planner", home.town)
    token = own_http.post(
        "/api/v1/auth/token", data={"username": name, "password": PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    inside = own_http.post(
        "/api/v1/plans", json={"unit": home.village, "band": [300, 100]}, headers=headers
    )
    outside = own_http.post(
        "/api/v1/plans", json={"unit": away.village, "band": [300, 100]}, headers=headers
    )
    assert inside.status_code == 422 and "户数区间 [300, 100] 无效" in inside.json()["detail"]
    assert outside.status_code == 403
    assert outside.json()["detail"].startswith(f"生成重划方案超出本账号的管辖范围：{away.village}")
