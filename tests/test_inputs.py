"""Hostile and odd input gets a 4xx naming what was wrong, never a 500 (issue 13's list)."""

from __future__ import annotations

import json

import httpx
import pytest

HUGE = "99999999999999999999999"


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/api/v1/audit?username=%00", 422, "query parameter 'username' contains a NUL"),
        ("/api/v1/boundaries/export?generation=%00", 422, "'generation' contains a NUL"),
        ("/static/gisgrid/gisgrid.js%00.png", 400, "contains a NUL"),
        ("/api/v1/locate?lon=112&lat=23&datum=%FF", 422, "'datum' is not UTF-8"),
        (f"/api/v1/households/{HUGE}", 422, "household_id"),
        (f"/api/v1/households?grid=441226101201001&offset={HUGE}", 422, "offset"),
        (f"/maps/data/grids?unit=441226&generation={HUGE}", 422, "generation"),
        (f"/tiles/grids/10/{HUGE}/1.mvt", 422, "x"),
        (f"/api/v1/reports/{HUGE}", 422, "report_id"),
        (f"/report/{HUGE}", 422, "report_id"),
        (f"/open311/v2/requests/{HUGE}.json", 404, "does not exist"),
        (f"/ogc/collections/grids/items/{HUGE}", 404, "not a row id"),
        (f"/ogc/collections/grids/items?offset={HUGE}", 422, "offset"),
        ("/maps/data/grids?unit=", 422, "unit=''"),
        ("/maps/data/grids?unit=&generation=0&bbox=", 422, "generation"),
        ("/maps/data/grids?unit=441226&bbox=23,111,24,112", 422, "swap"),
        ("/maps/center?unit=999999", 404, "999999"),
        ("/maps/worker?grid=441226999999999", 404, "441226999999999"),
        ("/maps/planner?unit=441226&generation=99999", 404, "99999"),
        ("/tiles/roads/1/0/0.mvt", 404, "roads"),
        ("/tiles/grids/3/8/0.mvt", 422, "x=8"),
        ("/static/../api/app.py", 404, ""),
        ("/static/gisgrid/nothing.js", 404, "nothing.js"),
    ],
)
def test_odd_paths_and_parameters_are_refused_by_name(
    admin_http: httpx.Client, path: str, status: int, words: str
) -> None:
    # Reads only, refused: one server for the module, not one per path.
    r = admin_http.get(path)
    assert r.status_code == status, r.text
    assert words in r.text


def test_nul_in_an_open311_form_field_is_named_in_open311_shape(
    own_http: httpx.Client, demo_county: str
) -> None:
    r = own_http.post(
        "/open311/v2/requests.json",
        content=b"api_key=x&service_code=SJ01&lat=23.15&long=112.05&description=a%00b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 422
    assert r.json() == [
        {
            "code": 422,
            "description": "form field 'description' contains a NUL byte (\\x00) at character "
            "1; text may not contain NUL",
        }
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [("a\x00b", "body.description contains a NUL"), ("a\ud800b", "lone surrogate")],
)
def test_unstorable_text_in_json_is_named(own_http: httpx.Client, text: str, words: str) -> None:
    body = {"service_code": "SJ01", "lon": 112.05, "lat": 23.15, "description": text}
    r = own_http.post(
        "/api/v1/public/reports",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422 and words in r.json()["detail"], r.text


def test_nul_in_a_step_note_is_named(own_admin_http: httpx.Client) -> None:
    r = own_admin_http.post("/api/v1/reports/1/steps", json={"action": "accept", "note": "ok\x00"})
    assert r.status_code == 422 and "body.note contains a NUL" in r.json()["detail"]


def test_an_empty_road_file_is_a_bad_upload(own_admin_http: httpx.Client) -> None:
    r = own_admin_http.post(
        "/api/v1/roads",
        params={"county": "441226"},
        content=b'{"type": "FeatureCollection", "features": []}',
        headers={"Content-Type": "application/geo+json"},
    )
    assert r.status_code == 422 and "no road features" in r.json()["detail"]
    assert "/tmp" not in r.text


@pytest.mark.parametrize("t", [17950000000, 1795, "1717200000.5.5"])
def test_track_times_that_are_not_epochs_are_refused_by_value(
    own_admin_http: httpx.Client, t: object
) -> None:
    r = own_admin_http.post(
        "/api/v1/patrols/tracks", json=[{"staff": 1, "t": t, "lon": 112.05, "lat": 23.15}]
    )
    assert r.status_code == 422 and f"time {t!r}" in r.json()["detail"], r.text
