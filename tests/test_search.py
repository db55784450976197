"""Search on every map: places for everyone, cases by number (the public sees the grid, not the
spot), households by name or phone tail only for staff who may read people, in their scope,
masked to the phone's tail and audited."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from gisgrid.access import Principal, Role
from gisgrid.errors import InvalidCode
from gisgrid.mapdata import search

PUBLIC = Principal(account_id=None, username="public", role=None, scope="")


def _kinds(out: dict) -> list[str]:
    return [r["kind"] for r in out["results"]]


@pytest.fixture
def household(conn: Connection, demo_county: str) -> dict:
    """A demo household with a head's name and a phone, and its grid."""
    row = conn.execute(
        text(
            "SELECT h.id, h.head_name, h.phone, h.address, g.code AS grid FROM household h "
            "JOIN grid g ON g.id = h.grid_id WHERE g.valid_to IS NULL AND h.phone IS NOT NULL "
            "AND h.head_name IS NOT NULL ORDER BY h.id LIMIT 1"
        )
    ).one()
    return dict(row._mapping)


def test_a_village_by_part_of_its_name_comes_before_its_grids_and_doors(
    conn: Connection, demo_county: str
) -> None:
    name = conn.execute(
        text(
            "SELECT name FROM admin_unit WHERE level = 'village' AND name LIKE '%村委会' "
            "ORDER BY code LIMIT 1"
        )
    ).scalar_one()
    short = name.replace("委会", "")
    out = search.search(conn, PUBLIC, short, unit="441226")
    first = out["results"][0]
    assert first["kind"] == "village" and first["name"] == name
    assert len(first["bbox"]) == 4 and first["bbox"][0] < first["lon"] < first["bbox"][2]
    assert "grid" in _kinds(out)
    # Nothing personal in a place search, whoever asks.
    assert all(r["kind"] != "household" for r in out["results"])


def test_a_grid_by_its_code_and_wildcards_taken_literally(
    conn: Connection, demo_county: str
) -> None:
    code = conn.execute(
        text("SELECT code FROM grid WHERE valid_to IS NULL ORDER BY code LIMIT 1")
    ).scalar_one()
    out = search.search(conn, PUBLIC, code)
    assert out["results"][0]["kind"] == "grid" and out["results"][0]["code"] == code
    assert search.search(conn, PUBLIC, "%")["results"] == []
    assert search.search(conn, PUBLIC, "_")["results"] == []
    with pytest.raises(InvalidCode, match="empty"):
        search.search(conn, PUBLIC, "   ")


def test_a_case_by_number_public_sees_the_grid_staff_the_spot(
    conn: Connection, demo_county: str
) -> None:
    r = conn.execute(
        text(
            "SELECT r.id, ST_X(r.geom) AS x, ST_Y(r.geom) AS y, g.code FROM report r "
            "JOIN grid g ON g.id = r.grid_id WHERE r.status = 'dispatched' "
            "AND ST_Distance(r.geom::geography, ST_PointOnSurface(g.geom)::geography) > 50 "
            "ORDER BY r.id LIMIT 1"
        )
    ).one()
    public = search.search(conn, PUBLIC, f"#{r.id}")["results"][0]
    assert public["kind"] == "case" and public["url"] == f"/report/{r.id}"
    assert (public["lon"], public["lat"]) != (round(r.x, 6), round(r.y, 6))
    operator = Principal(account_id=-1, username="t", role=Role.town_operator, scope=r.code[:9])
    staff = search.search(conn, operator, str(r.id))["results"][0]
    assert (staff["lon"], staff["lat"]) == (round(r.x, 6), round(r.y, 6)) and staff["url"] is None
    elsewhere = Principal(account_id=-1, username="t", role=Role.town_operator, scope="441226999")
    assert search.search(conn, elsewhere, str(r.id))["results"][0]["url"] == f"/report/{r.id}"


def test_households_only_for_staff_who_read_people_in_scope_and_audited(
    conn: Connection, household: dict
) -> None:
    tail = household["phone"][-4:]
    assert "household" not in _kinds(search.search(conn, PUBLIC, tail))
    planner = Principal(account_id=-1, username="t-planner", role=Role.planner, scope="441226")
    assert "household" not in _kinds(search.search(conn, planner, household["head_name"]))
    other = Principal(
        account_id=-1, username="t-other", role=Role.grid_worker, scope=household["grid"][:12] + "9"
    )
    assert "household" not in _kinds(search.search(conn, other, tail))
    worker = Principal(
        account_id=-5, username="t-search-worker", role=Role.grid_worker, scope=household["grid"]
    )
    before = conn.execute(
        text("SELECT count(*) FROM audit_log WHERE username = 't-search-worker'")
    ).scalar_one()
    found = [
        r
        for r in search.search(conn, worker, tail, client="test")["results"]
        if r["kind"] == "household"
    ]
    assert household["id"] in [r["id"] for r in found]
    mine = next(r for r in found if r["id"] == household["id"])
    assert mine["phone_tail"] == tail and household["phone"] not in str(found)
    assert household["head_name"] in mine["name"]
    audited = conn.execute(
        text(
            "SELECT object_ids FROM audit_log WHERE username = 't-search-worker' "
            "AND action = 'read_personal' ORDER BY id DESC LIMIT 1"
        )
    ).scalar_one()
    assert str(household["id"]) in audited
    assert (
        conn.execute(
            text("SELECT count(*) FROM audit_log WHERE username = 't-search-worker'")
        ).scalar_one()
        == before + 1
    )
    by_name = search.search(conn, worker, household["head_name"])["results"]
    assert household["id"] in [r.get("id") for r in by_name if r["kind"] == "household"]


def test_search_over_http(http) -> None:  # type: ignore[no-untyped-def]
    r = http.get("/api/v1/search", params={"q": "德庆"})
    assert r.status_code == 200 and r.json()["results"][0]["kind"] == "county"
    assert http.get("/api/v1/search", params={"q": "x" * 101}).status_code == 422
    assert http.get("/api/v1/search", params={"q": "村", "unit": "12"}).status_code in (400, 422)
