"""Field work over real HTTP (issue 16): idempotent steps, household visits in scope, photos
(JPEG, PNG, HEIC) with their EXIF read and stripped, patrol reports closed on the spot, Open311
multipart `media`, and server-sent events heard only in scope."""

from __future__ import annotations

import datetime as dt
import io
import json
import queue
import threading
import time
import uuid
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import Engine, text

from bench.common import scalar
from gisgrid import media
from gisgrid.patrols import household_visit_share
from gisgrid.patrols.coverage import coverage_by_unit
from gisgrid.reports import api_keys
from tests.conftest import serve, suite_settings
from tests.field_fixtures import MARK, Field, dispatched_report, make_field, photo_bytes

seed_template = make_field


@pytest.fixture(scope="module")
def fld(seed: Field) -> Field:
    return seed


def _events(engine: Engine, rid: int) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT action FROM report_event WHERE report_id = :r ORDER BY id"),
                {"r": rid},
            ).scalars()
        )


def test_a_step_sent_twice_is_taken_once(
    own_http: httpx.Client, own_engine: Engine, fld: Field
) -> None:
    rid = dispatched_report(own_engine, fld.grid)
    key = {"Idempotency-Key": f"step-{uuid.uuid4()}"}
    url = f"/api/v1/reports/{rid}/steps"
    first = own_http.post(url, json={"action": "accept"}, headers=fld.auth() | key)
    assert first.status_code == 200, first.text
    assert (
        first.headers["idempotent-replayed"] == "false" and first.json()["status"] == "in_progress"
    )
    again = own_http.post(url, json={"action": "accept"}, headers=fld.auth() | key)
    # The answer to the first try was lost: the resend gets the case as it stands, not a 409.
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["status"] == "in_progress"
    assert _events(own_engine, rid) == ["accept"]
    other = own_http.post(url, json={"action": "resolve", "note": "x"}, headers=fld.auth() | key)
    assert other.status_code == 409 and "accept" in other.json()["detail"]
    # Without a key, a second accept is refused as before, naming the status.
    plain = own_http.post(url, json={"action": "accept"}, headers=fld.auth())
    assert plain.status_code == 409 and "in_progress" in plain.json()["detail"]
    # Only the patrol-report path closes on the spot.
    spot = own_http.post(url, json={"action": "fix_on_spot", "note": "x"}, headers=fld.auth())
    assert spot.status_code == 400


def test_the_case_file_has_reporter_photos_and_supervise_notes(
    own_http: httpx.Client, own_engine: Engine, fld: Field
) -> None:
    rid = dispatched_report(own_engine, fld.grid)
    r = own_http.post(
        f"/api/v1/reports/{rid}/steps",
        json={"action": "supervise", "note": "今天办结 (督办 test)"},
        headers=fld.auth("operator"),
    )
    assert r.status_code == 200, r.text
    case = own_http.get(f"/api/v1/reports/{rid}", headers=fld.auth()).json()
    assert case["reporter"] == {"phone": "13800138000"}
    assert case["photos"] == []
    assert [(s["action"], s["note"]) for s in case["history"]][-1] == (
        "supervise",
        "今天办结 (督办 test)",
    )
    assert own_http.get(f"/api/v1/reports/{rid}", headers=fld.auth("away")).status_code == 403
    log = own_http.get(
        "/api/v1/audit",
        params={"username": fld.worker, "action": "read_personal", "object_type": "report"},
        headers=fld.auth("operator"),
    )
    assert log.status_code == 403  # the audit log is for admins; the entry is checked below
    n = scalar(
        own_engine,
        "SELECT count(*) FROM audit_log WHERE username = :u AND object_type = 'report' "
        "AND :r = ANY(object_ids)",
        u=fld.worker,
        r=str(rid),
    )
    assert n == 1


def test_a_visit_is_recorded_once_in_scope_and_listed_with_the_household(
    own_http: httpx.Client, own_engine: Engine, fld: Field
) -> None:
    hid = fld.households[1]
    key = {"Idempotency-Key": f"visit-{uuid.uuid4()}"}
    body = {
        "kind": "routine",
        "note": f"门口聊了几句 {MARK}",
        "visited_at": "2025-01-01T10:00+08:00",
    }
    body["visited_at"] = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 60))
    url = f"/api/v1/households/{hid}/visits"
    r = own_http.post(url, json=body, headers=fld.auth() | key)
    assert r.status_code == 201, r.text
    assert r.json()["kind_label"] == "日常走访" and r.json()["by"] == fld.worker
    again = own_http.post(url, json=body, headers=fld.auth() | key)
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    changed = own_http.post(url, json=body | {"note": "other"}, headers=fld.auth() | key)
    assert changed.status_code == 409
    with own_engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM household_visit WHERE household_id = :h"), {"h": hid}
        ).scalar_one()
    assert n == 1
    shown = own_http.get(f"/api/v1/households/{hid}", headers=fld.auth()).json()
    assert [v["id"] for v in shown["visits"]] == [r.json()["id"]]
    assert own_http.get(url, headers=fld.auth()).json()[0]["note"] == body["note"]

    # Outside the grid: refused, nothing stored, and not even listed.
    away = f"/api/v1/households/{fld.away_household}/visits"
    refused = own_http.post(away, json={"kind": "routine"}, headers=fld.auth())
    assert refused.status_code == 403 and fld.grid in refused.json()["detail"]
    assert own_http.get(away, headers=fld.auth()).status_code == 403
    with own_engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM household_visit WHERE household_id = :h"),
                {"h": fld.away_household},
            ).scalar_one()
            == 0
        )
    # Bad input names the problem and stores nothing.
    for bad, word in (
        ({"kind": "party"}, "kind"),
        ({"kind": "routine", "size": 3}, "info_update"),
        ({"kind": "info_update"}, "size"),
        ({"kind": "routine", "visited_at": "2000-01-01T00:00+08:00"}, "days ago"),
    ):
        r = own_http.post(url, json=bad, headers=fld.auth())
        assert r.status_code == 400 and word in r.json()["detail"], (bad, r.text)
    assert own_http.post(url, json={"kind": "routine"}).status_code == 401


def test_an_information_update_changes_the_register_with_an_audit_entry(
    own_http: httpx.Client, own_engine: Engine, fld: Field
) -> None:
    hid = fld.households[2]
    r = own_http.post(
        f"/api/v1/households/{hid}/visits",
        json={"kind": "info_update", "size": 5, "phone": "13912345678", "note": MARK},
        headers=fld.auth() | {"Idempotency-Key": f"upd-{uuid.uuid4()}"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["changes"] == {"size": 5, "phone": "13912345678"}
    with own_engine.connect() as conn:
        size, phone = conn.execute(
            text("SELECT size, phone FROM household WHERE id = :h"), {"h": hid}
        ).one()
        logged = conn.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE action = 'register_update' "
                "AND username = :u AND :h = ANY(object_ids)"
            ),
            {"u": fld.worker, "h": str(hid)},
        ).scalar_one()
    assert (size, phone) == (5, "13912345678") and logged == 1


def test_care_households_overdue_for_a_visit_come_first(own_http: httpx.Client, fld: Field) -> None:
    due = own_http.get("/api/v1/visits/due", params={"grid": fld.grid}, headers=fld.auth()).json()
    rows = due["households"]
    assert len(rows) == len(fld.households)
    first_not_care = next(i for i, h in enumerate(rows) if not h["care_tags"])
    assert all(h["care_tags"] and h["due"] for h in rows[:first_not_care])
    assert first_not_care > 0
    assert (
        own_http.get("/api/v1/visits/due", params={"grid": fld.away_grid}, headers=fld.auth())
    ).status_code == 403


def test_a_recorded_visit_counts_in_patrol_coverage(
    own_http: httpx.Client, own_engine: Engine, fld: Field
) -> None:
    now = dt.datetime.now(dt.UTC)
    with own_engine.connect() as conn:
        before = coverage_by_unit(conn, fld.grid, now - dt.timedelta(days=1), now)
        share_before = household_visit_share(conn, [fld.grid])[fld.grid]
    r = own_http.post(
        f"/api/v1/households/{fld.quiet_household}/visits",
        json={"kind": "care", "note": MARK},
        headers=fld.auth(),
    )
    assert r.status_code == 201, r.text
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    with own_engine.connect() as conn:
        after = coverage_by_unit(conn, fld.grid, now - dt.timedelta(days=1), now)
        share_after = household_visit_share(conn, [fld.grid])[fld.grid]
    assert after["households_visited_recorded"] == before["households_visited_recorded"] + 1
    assert after["households_visited"] == before["households_visited"] + 1
    assert share_after == pytest.approx(share_before + 1 / len(fld.households))


def test_a_heic_photo_round_trip(
    own_http: httpx.Client, own_engine: Engine, fld: Field, own_server: str
) -> None:
    rid = dispatched_report(own_engine, fld.grid)
    with own_engine.connect() as conn:
        lon, lat = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM report WHERE id = :r"), {"r": rid}
        ).one()
    heic = photo_bytes("HEIF", lon=lon + 0.001, lat=lat)  # taken ~100 m east of the report
    assert heic[4:12] == b"ftypheic"
    key = {"Idempotency-Key": f"photo-{uuid.uuid4()}"}
    url = f"/api/v1/reports/{rid}/photos"
    files = {"photo": ("IMG_0001.HEIC", heic, "image/heic")}
    r = own_http.post(url, files=files, data={"stage": "before"}, headers=fld.auth() | key)
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["stage"] == "before" and 80 < got["distance_m"] < 120
    taken = dt.datetime.fromisoformat(got["taken_at"])
    assert taken == dt.datetime.fromisoformat("2024-05-06T10:11:12+08:00")
    again = own_http.post(url, files=files, data={"stage": "before"}, headers=fld.auth() | key)
    assert again.status_code == 200 and again.json()["url"] == got["url"]
    with own_engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM report_photo WHERE report_id = :r"), {"r": rid}
            ).scalar_one()
            == 1
        )
    # Served as a JPEG without EXIF, cached for good, thumbnail too; the public sees it.
    shown = httpx.get(own_server + got["url"])
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert "immutable" in shown.headers["cache-control"]
    assert shown.headers["cache-control"].startswith("public")
    with Image.open(io.BytesIO(shown.content)) as im:
        assert im.format == "JPEG" and im.size == (1200, 900)
        assert not im.getexif() and "exif" not in im.info
    assert b"TestPhone" not in shown.content and b"Exif" not in shown.content[:4096]
    thumb = httpx.get(own_server + got["thumb_url"])
    with Image.open(io.BytesIO(thumb.content)) as im:
        assert max(im.size) == 320
    # The case file shows it to staff with its distance; the public list without it.
    case = own_http.get(f"/api/v1/reports/{rid}", headers=fld.auth()).json()
    assert case["photos"][0]["distance_m"] == got["distance_m"]
    public = own_http.get(url).json()
    assert public[0]["url"] == got["url"] and "distance_m" not in public[0]
    # Out of scope, a PNG, too big, not a photo.
    assert own_http.post(url, files=files, headers=fld.auth("away")).status_code == 403
    png = {"photo": ("p.png", photo_bytes("PNG", size=(300, 200)), "image/png")}
    assert own_http.post(url, files=png, headers=fld.auth()).status_code == 201
    big = {
        "photo": ("big.jpg", b"\xff\xd8\xff" + b"0" * (media.MAX_PHOTO_BYTES + 10), "image/jpeg")
    }
    r = own_http.post(url, files=big, headers=fld.auth())
    # Past the 1 MiB body limit of other writes (a phone's HEIC is a few MB), held to 10 MB.
    detail = r.json()["detail"]
    assert r.status_code == 413 and detail.startswith("photo of") and "10,485,760-byte" in detail
    txt = {"photo": ("notes.txt", b"hello, not a photo", "text/plain")}
    r = own_http.post(url, files=txt, headers=fld.auth())
    assert r.status_code == 415 and "JPEG, PNG or HEIC" in r.json()["detail"]


def test_open311_multipart_media_points_media_url_at_the_served_photo(
    own_http: httpx.Client, own_engine: Engine, fld: Field
) -> None:
    with own_engine.begin() as conn:
        key = api_keys.create_key(conn, f"t-media-{uuid.uuid4().hex[:8]}")
    jpeg = photo_bytes("JPEG", lon=fld.lon, lat=fld.lat, colour=(20, 120, 200))
    r = own_http.post(
        "/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "SJ01",
            "lat": str(fld.lat),
            "long": str(fld.lon),
            "description": f"垃圾 {MARK}",
        },
        files={"media": ("photo.jpg", jpeg, "image/jpeg")},
    )
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    got = own_http.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert got["media_url"].startswith(str(own_http.base_url).rstrip("/") + "/media/")
    shown = httpx.get(got["media_url"])
    assert shown.status_code == 200
    with Image.open(io.BytesIO(shown.content)) as im:
        assert not im.getexif()
    case = own_http.get(f"/api/v1/reports/{rid}", headers=fld.auth()).json()
    assert case["photos"][0]["stage"] == "report" and case["photos"][0]["distance_m"] < 1
    # A refused post keeps no photo.
    other = photo_bytes("JPEG", colour=(1, 2, 3))
    r = own_http.post(
        "/open311/v2/requests.json",
        data={"api_key": key, "service_code": "SJ01", "lat": "0.5", "long": "0.5"},
        files={"media": ("photo.jpg", other, "image/jpeg")},
    )
    assert r.status_code == 404
    sha = __import__("hashlib").sha256(other).hexdigest()
    assert httpx.get(str(own_http.base_url).rstrip("/") + media.url(sha)).status_code == 404


def test_a_patrol_report_closed_on_the_spot_is_filed_once(
    own_http: httpx.Client, own_engine: Engine, fld: Field
) -> None:
    key = {"Idempotency-Key": f"patrol-{uuid.uuid4()}"}
    form = {
        "service_code": "SJ02",
        "lon": str(fld.lon),
        "lat": str(fld.lat),
        "description": f"路边杂物 {MARK}",
        "fixed_note": "已当场清理",
    }
    files = {
        "photo": ("before.jpg", photo_bytes(colour=(90, 90, 10)), "image/jpeg"),
        "after_photo": ("after.jpg", photo_bytes(colour=(10, 90, 90)), "image/jpeg"),
    }
    r = own_http.post("/api/v1/patrols/reports", data=form, files=files, headers=fld.auth() | key)
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["source"] == "patrol" and case["status"] == "closed"
    assert [s["action"] for s in case["history"]][-1] == "fix_on_spot"
    assert sorted(p["stage"] for p in case["photos"]) == ["after", "report"]
    again = own_http.post(
        "/api/v1/patrols/reports", data=form, files=files, headers=fld.auth() | key
    )
    assert again.status_code == 200 and again.json()["id"] == case["id"]
    assert _events(own_engine, case["id"]) == ["fix_on_spot"]
    # Without the after photo, outside the grid, or by a planner: refused, nothing filed.
    no_photo = own_http.post("/api/v1/patrols/reports", data=form, files={}, headers=fld.auth())
    assert no_photo.status_code == 400 and "after photo" in no_photo.json()["detail"]
    away = form | {"lon": str(fld.away_lon), "lat": str(fld.away_lat), "fixed_note": ""}
    r = own_http.post("/api/v1/patrols/reports", data=away, headers=fld.auth())
    assert r.status_code == 403 and "超出本账号的管辖范围" in r.json()["detail"]
    plain = form | {"fixed_note": "", "description": f"井盖松动 {MARK}", "service_code": "BJ01"}
    r = own_http.post("/api/v1/patrols/reports", data=plain, headers=fld.auth())
    assert r.status_code == 201 and r.json()["status"] in ("dispatched", "registered")


def _event_stream(server: str, token: str) -> Any:
    """The event stream as `token` opens it (a context manager of the response)."""
    return httpx.stream(
        "GET",
        f"{server}/api/v1/events",
        headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
        timeout=httpx.Timeout(30, read=20),
    )


def _listen(server: str, token: str, into: queue.Queue, stop: threading.Event) -> None:
    with _event_stream(server, token) as r:
        into.put(("status", r.status_code, r.headers.get("content-type")))
        event = None
        for line in r.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                into.put((event, json.loads(line[6:])))


def _push_is_live(server: str, token: str) -> bool:
    """Whether a new stream's hello says the server is LISTENing (it reconnects by itself
    after PostgreSQL restarted, e.g. after tests/test_faults.py crashed it)."""
    with _event_stream(server, token) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                return bool(json.loads(line[6:]).get("live"))
    return False


def test_events_reach_only_listeners_in_scope(
    own_http: httpx.Client, own_engine: Engine, fld: Field, own_server: str
) -> None:
    assert own_http.get("/api/v1/events").status_code == 401
    # A bound, not a timing assertion: the hub's reconnect backoff after a database restart.
    deadline = time.monotonic() + 60
    while not _push_is_live(own_server, fld.tokens["worker"]):
        assert time.monotonic() < deadline, "push not live 60 s after the test began"
        time.sleep(0.5)
    mine: queue.Queue = queue.Queue()
    theirs: queue.Queue = queue.Queue()
    stop = threading.Event()
    for token, q in ((fld.tokens["worker"], mine), (fld.tokens["away"], theirs)):
        threading.Thread(target=_listen, args=(own_server, token, q, stop), daemon=True).start()
    for q in (mine, theirs):
        assert q.get(timeout=10)[1:] == (200, "text/event-stream; charset=utf-8")
        kind, hello = q.get(timeout=10)
        assert kind == "hello" and hello["live"] is True
    t0 = time.monotonic()
    rid = dispatched_report(own_engine, fld.grid, f"{MARK} push")
    while True:
        kind, event = mine.get(timeout=5)
        if kind == "case" and event["id"] == rid:
            break
    heard = time.monotonic() - t0
    assert event["grid"] == fld.grid and event["op"] == "new" and event["assigned"] is True
    assert "description" not in event
    rid2 = dispatched_report(own_engine, fld.away_grid, f"{MARK} push away")
    time.sleep(1.0)
    stop.set()
    got = []
    while not theirs.empty():
        got.append(theirs.get())
    assert [e for k, e in got if k == "case" and e["id"] == rid2]
    assert not [e for k, e in got if k == "case" and e["id"] == rid]
    while not mine.empty():
        k, e = mine.get()
        assert not (k == "case" and e["id"] == rid2)
    print(f"insert to event heard: {heard * 1000:.0f} ms")


def test_a_server_that_stops_ends_its_own_streams_only(
    own_server: str, own_database_url: str, own_engine: Engine, fld: Field
) -> None:
    """Two servers in one process (as tests and benches run them): the one that stops tells its
    streams "bye" and stops; the other's streams go on hearing cases."""
    token = fld.tokens["worker"]
    leaving: queue.Queue = queue.Queue()
    staying: queue.Queue = queue.Queue()
    stop = threading.Event()
    with serve(suite_settings(own_database_url)) as other:
        deadline = time.monotonic() + 60  # a bound: the hubs' first LISTEN
        while not (_push_is_live(other, token) and _push_is_live(own_server, token)):
            assert time.monotonic() < deadline, "push not live 60 s after the test began"
            time.sleep(0.5)
        for server, q in ((other, leaving), (own_server, staying)):
            threading.Thread(target=_listen, args=(server, token, q, stop), daemon=True).start()
            assert q.get(timeout=10)[0] == "status"
            assert q.get(timeout=10)[0] == "hello"
    # Leaving `serve` stopped `other`: its stream was told "bye" (it would hold the stop).
    assert leaving.get(timeout=10)[0] == "bye"
    rid = dispatched_report(own_engine, fld.grid, f"{MARK} after a neighbour stopped")
    heard = []
    while not heard or heard[-1] != ("case", rid):
        kind, event = staying.get(timeout=10)
        heard.append((kind, event.get("id")))
    stop.set()
    assert "bye" not in [k for k, _ in heard], heard


def test_a_resident_adds_a_photo_to_their_own_report(
    own_http: httpx.Client, own_engine: Engine, fld: Field
) -> None:
    receipt = f"web-{uuid.uuid4()}"
    r = own_http.post(
        "/api/v1/public/reports",
        json={
            "service_code": "SJ03",
            "lon": fld.lon,
            "lat": fld.lat,
            "description": f"污水外溢 {MARK}",
        },
        headers={"Idempotency-Key": receipt},
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    url = f"/api/v1/public/reports/{rid}/photos"
    jpeg = photo_bytes("JPEG", lon=fld.lon, lat=fld.lat, colour=(120, 40, 160))
    files = {"photo": ("x.jpg", jpeg, "image/jpeg")}
    wrong = own_http.post(url, data={"receipt": "web-not-mine"}, files=files)
    assert wrong.status_code == 403
    ok = own_http.post(url, data={"receipt": receipt}, files=files)
    assert ok.status_code == 201, ok.text
    got = own_http.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert got["media_url"].endswith(ok.json()["url"])
    for colour in ((1, 1, 1), (2, 2, 2)):
        more = {"photo": ("y.jpg", photo_bytes(colour=colour), "image/jpeg")}
        assert own_http.post(url, data={"receipt": receipt}, files=more).status_code == 201
    fourth = {"photo": ("z.jpg", photo_bytes(colour=(3, 3, 3)), "image/jpeg")}
    assert own_http.post(url, data={"receipt": receipt}, files=fourth).status_code == 409
