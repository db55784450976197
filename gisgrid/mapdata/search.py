"""Search on every map (搜索): places, cases by number, and households for staff in scope.

Everyone may search places (county, towns, villages, grids by name or code, household addresses,
named OSM places) and cases by number (the public sees a case as its follow-up page does: the
grid, not the spot). Staff who may read people (`PERSONAL_READERS`) also find households in
their scope by part of the head's name or the phone's last four digits; those reads are
audited like every other read of personal data, and the phone never leaves the database whole.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import CASE_HANDLERS, PERSONAL_READERS, Principal, audit
from gisgrid.divisions import unit_prefix
from gisgrid.errors import InvalidCode
from gisgrid.reports import CATEGORIES

MAX_QUERY = 100
MAX_RESULTS = 20
_CASE = re.compile(r"^(?:#|编号|事件)?\s*(\d{1,12})$")
_TAIL = re.compile(r"^(?:尾号)?\s*(\d{4})$")
_NAMES = {c.code: c.name_zh for c in CATEGORIES}


def _like(words: str) -> str:
    """The words for LIKE, with its wildcards taken literally."""
    return words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(
    conn: Connection,
    who: Principal,
    q: str,
    unit: str | None = None,
    limit: int = 10,
    client: str | None = None,
) -> dict[str, Any]:
    """Results for the words `q`, best first: [{kind, name, sub, lon, lat, bbox, code, id, url}]."""
    words = " ".join(q.split())
    if not words:
        raise InvalidCode("q is empty; give part of a name, an address, a grid code or #number")
    if len(words) > MAX_QUERY:
        raise InvalidCode(f"q has {len(words)} characters; at most {MAX_QUERY}")
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidCode(f"limit={limit} must be between 1 and {MAX_RESULTS}")
    prefix = unit_prefix(unit) if unit else ""
    results: list[dict[str, Any]] = []
    case = _CASE.match(words)
    # A short number is a case number; a long one (a grid code) is looked up as a place too.
    if case and len(case.group(1)) <= 9:
        results += _case(conn, who, int(case.group(1)))
    if not who.is_public and who.role in PERSONAL_READERS:
        results += _households(conn, who, words, prefix, client)
    digits = words.isdigit()
    rows = sql.rows(
        conn,
        "mapdata/search_places",
        q=words,
        pattern=_like(words),
        prefix=prefix,
        digits=digits,
        limit=limit,
    )
    for r in rows:
        results.append(
            {
                "kind": r["kind"],
                "name": r["name"],
                "sub": r["sub"],
                "code": r["code"],
                "lon": round(r["lon"], 6),
                "lat": round(r["lat"], 6),
                "bbox": [round(v, 6) for v in r["bbox"]] if r["bbox"] else None,
            }
        )
    return {"q": words, "results": results[:limit]}


def _case(conn: Connection, who: Principal, report_id: int) -> list[dict[str, Any]]:
    r = sql.first(conn, "mapdata/search_case", id=report_id)
    if r is None or r["grid_code"] is None:
        return []
    handler = not who.is_public and who.role in CASE_HANDLERS and who.covers(r["grid_code"])
    lon, lat = (r["lon"], r["lat"]) if handler else (r["grid_lon"], r["grid_lat"])
    return [
        {
            "kind": "case",
            "id": r["id"],
            "name": f"#{r['id']} {_NAMES.get(r['category'], r['category'])}",
            "sub": r["grid_name"],
            "status": r["status"],
            "lon": round(lon, 6),
            "lat": round(lat, 6),
            "bbox": None,
            # Staff open the case on their map; everyone else its public follow-up page.
            "url": None if handler else f"/report/{r['id']}",
        }
    ]


def _households(
    conn: Connection, who: Principal, words: str, prefix: str, client: str | None
) -> list[dict[str, Any]]:
    tail = _TAIL.match(words)
    name = None if tail or words.isdigit() or len(words) < 2 else _like(words) + "%"
    if not tail and name is None:
        return []
    rows = sql.rows(
        conn,
        "mapdata/search_households",
        scope=who.scope,
        prefix=prefix,
        tail=tail.group(1) if tail else None,
        name=name,
        limit=5,
    )
    if rows:
        audit.read_personal(
            conn, who, "/api/v1/search", "household", [r["id"] for r in rows], client
        )
    return [
        {
            "kind": "household",
            "id": r["id"],
            "name": f"{r['head_name'] or ''} · {r['address']}",
            "sub": r["grid_name"],
            "phone_tail": r["phone_tail"],
            "code": r["grid_code"],
            "lon": round(r["lon"], 6),
            "lat": round(r["lat"], 6),
            "bbox": None,
        }
        for r in rows
    ]
