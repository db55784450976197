"""Open311 GeoReport v2: the service list from the taxonomy, and requests in and out.

Plain data only: this module turns the taxonomy and stored reports into the spec's fields and
turns the spec's parameters into an intake `ReportIn` or a query; api/routers/open311.py renders
JSON or XML. Spec: https://wiki.open311.org/GeoReport_v2
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from gisgrid.errors import InvalidReport, NotFound
from gisgrid.reports.cases import STEPS
from gisgrid.reports.intake import SOURCES, ReportIn
from gisgrid.reports.taxonomy import CATEGORIES, Category, Family, Triage, category

TRIAGE_LABEL = {
    Triage.public: "public affairs (公家事)",
    Triage.collective: "collective affairs (大家事)",
    Triage.private: "private affairs (自家事)",
}
FAMILY_LABEL = {
    Family.governance: "Comprehensive governance (综治, GB/T 31000)",
    Family.component: "City-management components (城管部件)",
    Family.event: "City-management events (城管事件)",
}
MAX_RESULTS = 1000
DEFAULT_WINDOW = dt.timedelta(days=90)
_ATTR_KEY = re.compile(r"^attribute\[([A-Za-z0-9_]+)\](\[\])?$")


def service(cat: Category) -> dict[str, Any]:
    """One entry of services.json: the spec's fields plus triage and time limit."""
    return {
        "service_code": cat.code,
        "service_name": f"{cat.name} ({cat.name_zh})",
        "description": (
            f"{cat.name_zh}. Triage: {TRIAGE_LABEL[cat.triage]}. "
            f"Time limit: {cat.limit_label} from dispatch."
        ),
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join((cat.group, cat.family.value, cat.triage.value, cat.name_zh)),
        "group": FAMILY_LABEL[cat.family],
        # Extensions (clients ignore unknown fields):
        "triage": cat.triage.value,
        "time_limit_hours": cat.limit_hours,
        "time_limit": cat.limit_label,
    }


def services() -> list[dict[str, Any]]:
    """The whole service list: every category of the taxonomy."""
    return [service(c) for c in CATEGORIES]


def _attribute(
    code: str,
    datatype: str,
    description: str,
    order: int,
    values: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        "variable": True,
        "code": code,
        "datatype": datatype,
        "required": False,
        "datatype_description": None,
        "order": order,
        "description": description,
        "values": [{"key": k, "name": n} for k, n in values or []],
    }


def attributes(cat: Category) -> list[dict[str, Any]]:
    """The extra fields a request for this category may carry (all optional)."""
    out = [
        _attribute(
            "source",
            "singlevaluelist",
            "Who reports it",
            1,
            [
                ("resident", "Resident (群众)"),
                ("patrol", "Grid worker's patrol (巡查)"),
                ("hotline", "Hotline (热线)"),
                ("video", "Video (视频)"),
            ],
        )
    ]
    if cat.family is Family.component:
        out.append(_attribute("asset_code", "string", "Component (部件) code if it has one", 2))
    if cat.group == "disputes":
        out.append(_attribute("parties", "number", "How many households are involved", 2))
    if cat.group in ("public security", "emergencies", "campus"):
        out.append(
            _attribute(
                "people_at_risk",
                "singlevaluelist",
                "Are people in danger now?",
                2,
                [("yes", "Yes"), ("no", "No"), ("unknown", "Unknown")],
            )
        )
    return out


def service_definition(code: str) -> dict[str, Any]:
    """services/{code}.json: the category's attributes, or NotFound."""
    cat = category(code)
    return {"service_code": cat.code, "attributes": attributes(cat)}


def _check_attributes(cat: Category, given: Mapping[str, str]) -> None:
    defs = {a["code"]: a for a in attributes(cat)}
    for key, value in given.items():
        spec = defs.get(key)
        if spec is None:
            raise InvalidReport(
                f"attribute[{key}] is not defined for service {cat.code}; "
                f"defined: {', '.join(sorted(defs))}"
            )
        allowed = [v["key"] for v in spec["values"]]
        if allowed and value not in allowed:
            raise InvalidReport(f"attribute[{key}]={value!r} is not one of {', '.join(allowed)}")
        if spec["datatype"] == "number":
            try:
                float(value)
            except ValueError:
                raise InvalidReport(f"attribute[{key}]={value!r} is not a number") from None


def _float(form: Mapping[str, str], name: str) -> float | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidReport(f"{name}={raw!r} is not a number") from None


def parse_post(form: Mapping[str, str], idempotency_key: str | None = None) -> ReportIn:
    """POST requests: form fields -> ReportIn (api_key is checked by the caller)."""
    code = (form.get("service_code") or "").strip()
    if not code:
        raise InvalidReport("service_code is required (see services.json)")
    try:
        cat = category(code)
    except NotFound as exc:
        raise InvalidReport(f"service_code: {exc}") from None
    attrs = {}
    for name, value in form.items():
        m = _ATTR_KEY.match(name)
        if m:
            attrs[m.group(1)] = value
        elif name.startswith("attribute"):
            raise InvalidReport(f"{name!r} is not of the form attribute[code]")
    _check_attributes(cat, attrs)
    source = attrs.get("source", "resident")
    if source not in SOURCES:
        raise InvalidReport(f"attribute[source]={source!r} is not one of {', '.join(SOURCES)}")
    reporter = {
        k: form[k]
        for k in ("email", "device_id", "account_id", "first_name", "last_name", "phone")
        if form.get(k)
    }
    # Open311's own `token` doubles as a client-chosen idempotency key when no header is sent.
    token = form.get("token")
    key = idempotency_key or (f"token:{token}" if token else None)
    return ReportIn(
        service_code=cat.code,
        lon=_float(form, "long"),
        lat=_float(form, "lat"),
        crs=(form.get("crs") or "wgs84").strip(),
        address_string=(form.get("address_string") or "").strip() or None,
        description=form.get("description") or None,
        media_url=(form.get("media_url") or "").strip() or None,
        attributes=attrs,
        reporter=reporter,
        source=source,
        idempotency_key=key,
    )


def parse_datetime(name: str, raw: str) -> dt.datetime:
    """A W3C (ISO 8601) datetime; one without a zone is taken as China time (UTC+8)."""
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidReport(
            f"{name}={raw!r} is not a W3C datetime like 2026-11-24T08:30:00+08:00"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return value


def parse_query(params: Mapping[str, str], now: dt.datetime | None = None) -> dict[str, Any]:
    """GET requests: spec parameters -> intake.query_reports arguments (90-day default window)."""
    ids_raw = (params.get("service_request_id") or "").strip()
    if ids_raw:
        try:
            ids = [int(x) for x in ids_raw.split(",") if x.strip()]
        except ValueError:
            raise InvalidReport(
                f"service_request_id={ids_raw!r} is not a comma-separated list of ids"
            ) from None
        # The spec: with service_request_id, the other parameters are ignored.
        return {"ids": ids, "limit": MAX_RESULTS}
    codes = [c.strip() for c in (params.get("service_code") or "").split(",") if c.strip()]
    for c in codes:
        try:
            category(c)
        except NotFound as exc:
            raise InvalidReport(f"service_code: {exc}") from None
    now = now or dt.datetime.now(dt.UTC)
    end = parse_datetime("end_date", params["end_date"]) if params.get("end_date") else None
    start = parse_datetime("start_date", params["start_date"]) if params.get("start_date") else None
    if start and end and start >= end:
        raise InvalidReport(f"start_date={params['start_date']} is not before end_date")
    if start and end and end - start > DEFAULT_WINDOW:
        # The spec: a search "may not span more than 90 days".
        raise InvalidReport(
            f"start_date={params['start_date']} to end_date={params['end_date']} spans "
            f"{(end - start).days} days; at most {DEFAULT_WINDOW.days} (ask in several windows)"
        )
    if start is None:
        start = (end or now) - DEFAULT_WINDOW
    elif end is None:
        end = start + DEFAULT_WINDOW  # a start alone opens the spec's 90-day window
    statuses = {s.strip().lower() for s in (params.get("status") or "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise InvalidReport(f"status={params.get('status')!r} must be open, closed or both")
    closed = None if len(statuses) != 1 else statuses == {"closed"}
    return {
        "codes": codes or None,
        "start": start,
        "end": end,
        "closed": closed,
        "limit": MAX_RESULTS,
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def as_request(r: Mapping[str, Any], exact: bool = True) -> dict[str, Any]:
    """A stored report (intake summary) in the spec's request fields, plus grid extensions."""
    cat = category(r["service_code"])
    closed = r["effective_status"] in ("closed", "cancelled")
    handler = r["handler"]
    if handler["staff"]:
        who = f"{handler['staff']['name']} ({handler['staff']['role']})"
    elif r["village"]:
        who = f"{r['village']['name']} (village committee)"
    else:
        who = None
    notes = [f"status: {r['status'] if not r['duplicate_of'] else r['effective_status']}"]
    if r["duplicate_of"]:
        notes.append(f"duplicate of request {r['duplicate_of']}, handled with it")
    if r["supporters"]:
        notes.append(f"{r['supporters']} later report(s) support this one")
    if r["fallback"]:
        notes.append("placed in the nearest grid (属地兜底)")
    step = r.get("last_step")
    if step:
        notes.append(
            f"last step: {step['action']} ({STEPS[step['action']].label}) at {_iso(step['at'])}"
        )
    if r.get("feedback"):
        notes.append(f"feedback: {r['feedback']}")
    grid = r["grid"]
    return {
        "service_request_id": str(r["id"]),
        "status": "closed" if closed else "open",
        "status_notes": "; ".join(notes),
        "service_name": f"{cat.name} ({cat.name_zh})",
        "service_code": cat.code,
        "description": r["description"],
        "agency_responsible": (
            f"grid {grid['code']} {grid['name']}: {who}" if grid and who else who
        ),
        "service_notice": f"time limit {cat.limit_label} from dispatch",
        "requested_datetime": _iso(r["reported_at"]),
        "updated_datetime": _iso(r["updated_at"] or r["reported_at"]),
        "expected_datetime": _iso(r["due_at"]),
        # The public sees the report at its grid, not its doorstep, and no address (issue 7).
        "address": r["address"] if exact else None,
        "address_id": None,
        "zipcode": None,
        "lat": r["point" if exact else "public_point"]["lat"],
        "long": r["point" if exact else "public_point"]["lon"],
        "media_url": r["media_url"],
        # Extensions:
        "grid_code": grid["code"] if grid else None,
        "duplicate_of": str(r["duplicate_of"]) if r["duplicate_of"] else None,
        "supporters": r["supporters"],
    }


def post_response(r: Mapping[str, Any]) -> dict[str, Any]:
    """The POST answer: the spec's id/token/notice plus where the report went and to whom."""
    req = as_request(r)
    staff = r["handler"]["staff"]
    return {
        "service_request_id": req["service_request_id"],
        "token": None,
        "service_notice": req["status_notes"] + "; " + req["service_notice"],
        "account_id": None,
        # Extensions: the grid and the person, so the reporter knows at once.
        "grid_code": req["grid_code"],
        "grid_name": r["grid"]["name"] if r["grid"] else None,
        "grid_candidates": ",".join(r["candidates"]),
        "fallback": r["fallback"],
        "assigned_level": r["handler"]["level"],
        "assigned_to": staff["name"] if staff else (r["village"] or {}).get("name"),
        "duplicate_of": req["duplicate_of"],
        "expected_datetime": req["expected_datetime"],
    }
