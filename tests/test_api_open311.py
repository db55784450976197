"""Open311 GeoReport v2 over real HTTP, read by the PyPI `georeport` client in JSON and XML.

Requests posted here are committed by the server into the test's own copy of the module's
template (which holds its key), dropped afterwards: no other test sees them.
"""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest
import xmltodict
from georeport import GeoReport
from sqlalchemy import Engine, text

from bench.common import free_port, rows
from gisgrid.reports import api_keys
from gisgrid.reports.taxonomy import CATEGORIES
from gisgrid.settings import Settings
from tests.conftest import seed_item, serve

ROOT = "/open311/v2"


def seed_template(engine: Engine) -> tuple[str, tuple[float, float]]:
    """A key of the module's, and a point well inside one grid away from the demo reports."""
    with engine.begin() as conn:
        key = api_keys.create_key(conn, "test-open311")
        x, y = conn.execute(
            text(
                # No other report within 500 m, so duplicates found here are the test's own.
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grid "
                "WHERE valid_to IS NULL ORDER BY code DESC) s WHERE NOT EXISTS (SELECT 1 "
                "FROM report r WHERE ST_DWithin(r.geom::geography, s.p::geography, 500)) LIMIT 1"
            )
        ).one()
    return key, (float(x), float(y))


api_key = seed_item(0)
spot = seed_item(1)


def _post(http: httpx.Client, fmt: str = "json", headers: dict | None = None, **form: object):
    return http.post(f"{ROOT}/requests.{fmt}", data=form, headers=headers or {})


def test_georeport_lists_services_in_json_and_xml(own_server: str) -> None:
    for fmt in ("json", "xml"):
        client = GeoReport(own_server + ROOT, output_format=fmt)
        services = client.get_service_list()
        assert [s["service_code"] for s in services] == [c.code for c in CATEGORIES]
        garbage = next(s for s in services if s["service_code"] == "SJ01")
        assert "暴露垃圾" in garbage["service_name"] and "4 working hours" in garbage["description"]
        assert garbage["group"].startswith("City-management events")
        dispute = client.get_service_definition("ZZ07")
        codes = [
            a["code"]
            for a in (dispute["attributes"]["attribute"] if fmt == "xml" else dispute["attributes"])
        ]
        assert codes == ["source", "parties"]


def test_post_form_encoded_then_read_back_with_georeport(
    own_server: str, own_http: httpx.Client, api_key: str, spot: tuple[float, float]
) -> None:
    x, y = spot
    r = _post(
        own_http,
        api_key=api_key,
        service_code="BJ02",
        lat=y,
        long=x,
        description="路灯不亮 street light out",
        media_url="https://example.org/p.jpg",
        **{"attribute[source]": "patrol", "attribute[asset_code]": "LD-0042"},
    )
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/json")
    created = r.json()[0]
    rid = created["service_request_id"]
    assert created["grid_code"].startswith("441226") and created["assigned_level"]
    for fmt in ("json", "xml"):
        client = GeoReport(own_server + ROOT, output_format=fmt)
        got = client.get_service_request(rid)
        assert got["service_request_id"] == rid
        assert got["service_code"] == "BJ02" and got["status"] == "open"
        assert got["description"] == "路灯不亮 street light out"
        assert float(got["lat"]) == pytest.approx(y) and float(got["long"]) == pytest.approx(x)
        assert got["grid_code"] == created["grid_code"]
        listed = client.get_service_requests(service_code="BJ02", status="open")
        listed = listed if isinstance(listed, list) else [listed]
        assert rid in [q["service_request_id"] for q in listed]
    assert GeoReport(own_server + ROOT).get_service_requests(service_request_id=rid)[0][
        "media_url"
    ] == ("https://example.org/p.jpg")


def test_post_in_xml_and_errors_in_the_spec_shape(
    own_http: httpx.Client, api_key: str, spot: tuple[float, float]
) -> None:
    x, y = spot
    r = _post(own_http, "xml", api_key=api_key, service_code="ZZ09", lat=y, long=x)
    assert r.status_code == 201 and r.headers["content-type"].startswith("text/xml")
    req = xmltodict.parse(r.text)["service_requests"]["request"]
    assert req["service_request_id"].isdigit() and req["grid_code"]

    r = _post(own_http, service_code="SJ01", lat=y, long=x)
    assert r.status_code == 403 and "api_key" in r.json()[0]["description"]
    assert r.json()[0]["code"] == 403
    r = _post(own_http, "xml", api_key="gg_nope", service_code="SJ01", lat=y, long=x)
    err = xmltodict.parse(r.text)["errors"]["error"]
    assert r.status_code == 403 and err["code"] == "403"
    # Each status is the one the API's error table gives the same error everywhere (a point
    # outside the area is 404 here as on /api/v1/locate and in the audit log).
    cases = [
        ({"service_code": "XX1", "lat": y, "long": x}, "XX1", 400),
        ({"service_code": "SJ01", "lat": y}, "together", 400),
        ({"service_code": "SJ01", "lat": "abc", "long": x}, "abc", 400),
        ({"service_code": "SJ01", "lat": 39.9, "long": 116.4}, "lon=116.4, lat=39.9", 404),
        ({"service_code": "SJ01", "lat": y, "long": x, "crs": "utm"}, "utm", 400),
        ({"service_code": "SJ01", "lat": y, "long": x, "attribute[colour]": "red"}, "colour", 400),
        (
            {"service_code": "ZZ06", "lat": y, "long": x, "attribute[people_at_risk]": "maybe"},
            "maybe",
            400,
        ),
    ]
    for form, needle, status in cases:
        r = _post(own_http, api_key=api_key, **form)
        assert r.status_code == status, (form, r.text)
        assert r.json()[0]["code"] == status, (form, r.text)
        assert needle in r.json()[0]["description"], (form, r.text)
    assert own_http.get(f"{ROOT}/requests/999999999.json").status_code == 404
    assert own_http.get(f"{ROOT}/services/NOPE.xml").status_code == 404
    r = own_http.get(f"{ROOT}/requests.json", params={"start_date": "yesterday"})
    assert r.status_code == 400 and "yesterday" in r.json()[0]["description"]


def test_gcj02_post_lands_in_the_grid_of_its_wgs84_point(
    own_http: httpx.Client, api_key: str, spot: tuple[float, float]
) -> None:
    from gisgrid.datum import wgs84_to_gcj02

    x, y = spot
    plain = _post(own_http, api_key=api_key, service_code="ZZ02", lat=y, long=x).json()[0]
    gx, gy = wgs84_to_gcj02(x, y)
    shifted = _post(
        own_http, api_key=api_key, service_code="ZZ02", lat=float(gy), long=float(gx), crs="gcj02"
    ).json()[0]
    assert shifted["grid_code"] == plain["grid_code"]


def test_resubmission_returns_the_same_request_even_when_concurrent(
    own_http: httpx.Client,
    own_server: str,
    api_key: str,
    spot: tuple[float, float],
    own_engine: Engine,
) -> None:
    x, y = spot
    key = uuid.uuid4().hex
    form = {"api_key": api_key, "service_code": "SJ07", "lat": y, "long": x}
    answers: list[httpx.Response] = []

    def send() -> None:
        with httpx.Client(base_url=own_server, timeout=30) as c:
            answers.append(_post(c, headers={"Idempotency-Key": key}, **form))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()[0]["service_request_id"] for a in answers}) == 1
    assert sorted(a.headers["Idempotent-Replayed"] for a in answers) == ["false"] + ["true"] * 3
    with own_engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM report WHERE idempotency_key = :k"), {"k": key})
        assert n.scalar_one() == 1
    # The same key with a different report is a conflict, not a silent replay.
    r = _post(own_http, headers={"Idempotency-Key": key}, **{**form, "description": "changed"})
    assert r.status_code == 409 and key in r.json()[0]["description"]
    # Open311's token field works as a key too.
    token = uuid.uuid4().hex
    a = _post(own_http, **form, token=token, description="t")
    b = _post(own_http, **form, token=token, description="t")
    assert (a.status_code, b.status_code) == (201, 200)
    assert a.json()[0]["service_request_id"] == b.json()[0]["service_request_id"]


def test_duplicate_reports_are_visible_as_such(
    own_http: httpx.Client, api_key: str, spot: tuple[float, float]
) -> None:
    x, y = spot
    first = _post(own_http, api_key=api_key, service_code="SJ03", lat=y, long=x).json()[0]
    second = _post(own_http, api_key=api_key, service_code="SJ03", lat=y + 0.0001, long=x).json()[0]
    assert second["duplicate_of"] == first["service_request_id"]
    got = own_http.get(f"{ROOT}/requests/{first['service_request_id']}.json").json()[0]
    assert got["supporters"] >= 1 and "support" in got["status_notes"]
    dup = own_http.get(f"{ROOT}/requests/{second['service_request_id']}.json").json()[0]
    assert "duplicate of request " + first["service_request_id"] in dup["status_notes"]


def _audit_since(engine: Engine, after_id: int) -> list[tuple[int, list[str] | None]]:
    audited = rows(
        engine,
        "SELECT status, object_ids FROM audit_log WHERE id > :i "
        "AND path = '/open311/v2/requests.json' ORDER BY id",
        i=after_id,
    )
    return [(r.status, r.object_ids) for r in audited]


def _last_audit_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one())


def test_every_outcome_is_audited_once_by_the_intake_statement(
    own_http: httpx.Client, own_engine: Engine, api_key: str, spot: tuple[float, float]
) -> None:
    """Stored, replayed, refused key, revoked key, outside: one entry each, with its status."""
    x, y = spot
    name = f"test-revoked-{uuid.uuid4().hex[:8]}"
    with own_engine.begin() as conn:
        revoked = api_keys.create_key(conn, name)
        api_keys.revoke_key(conn, name)
    start = _last_audit_id(own_engine)
    idem = {"Idempotency-Key": uuid.uuid4().hex}
    form = {"service_code": "ZZ08", "lat": y, "long": x}
    created = _post(own_http, headers=idem, api_key=api_key, **form)
    replayed = _post(own_http, headers=idem, api_key=api_key, **form)
    unknown = _post(own_http, api_key="gg_not-a-key", **form)
    gone = _post(own_http, api_key=revoked, **form)
    outside = _post(own_http, api_key=api_key, service_code="ZZ08", lat=39.9, long=116.4)
    answered = [r.status_code for r in (created, replayed, unknown, gone, outside)]
    assert answered == [201, 200, 403, 403, 404]
    assert "not a key this server issued" in unknown.json()[0]["description"]
    assert "was revoked at" in gone.json()[0]["description"]
    rid = created.json()[0]["service_request_id"]
    # The audit records exactly what each client was answered (one error table).
    assert _audit_since(own_engine, start) == list(
        zip(answered, [[rid], [rid], None, None, None], strict=True)
    )


def test_an_address_only_post_is_placed_at_that_household(
    own_http: httpx.Client, own_engine: Engine, api_key: str, demo_county: str
) -> None:
    """No coordinates: the household address is looked up (the slower path) and audited once."""
    with own_engine.connect() as conn:
        address, grid = conn.execute(
            text(
                "SELECT h.address, g.code FROM household h JOIN grid g ON g.id = h.grid_id "
                "WHERE h.address IN (SELECT address FROM household GROUP BY address "
                "HAVING count(DISTINCT grid_id) = 1) ORDER BY h.id LIMIT 1"
            )
        ).one()
    start = _last_audit_id(own_engine)
    r = _post(own_http, api_key=api_key, service_code="ZZ02", address_string=address)
    assert r.status_code == 201, r.text
    assert r.json()[0]["grid_code"] == grid
    assert _audit_since(own_engine, start) == [(201, [r.json()[0]["service_request_id"]])]


def test_a_database_that_does_not_answer_is_a_503_that_says_send_again() -> None:
    """Nothing stored, nothing half-done: the phone is told to resend with the same key."""
    dead = Settings(database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    with serve(dead) as url, httpx.Client(base_url=url, timeout=30) as c:
        r = _post(c, api_key="gg_x", service_code="ZZ02", lat=23.15, long=112.05)
    assert r.status_code == 503, r.text
    assert "send the same request again" in r.json()[0]["description"]
