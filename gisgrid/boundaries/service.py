"""One call for the CLI and the API: read, check, and (only when asked) commit a boundary file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from gisgrid.boundaries.check import plan_import
from gisgrid.boundaries.commit import commit_import
from gisgrid.boundaries.crs import parse_crs
from gisgrid.boundaries.read import read_boundaries
from gisgrid.divisions import LEVELS
from gisgrid.errors import Forbidden, InvalidImport


def import_boundaries(
    conn: Connection,
    path: Path,
    level: str,
    *,
    crs: str | None = None,
    repair: bool = False,
    commit: bool = False,
    generation: str | None = None,
    valid_from: dt.datetime | None = None,
    source_name: str | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    progress: Callable[[str], None] = lambda m: None,
    scope: str = "",
) -> dict[str, Any]:
    """The import report; with commit=True also the commit summary (the caller commits the tx).

    `scope` (a code prefix, "" for everywhere) is the importer's area: a file with any feature
    outside it is refused before anything is checked or written.
    """
    if level not in LEVELS:
        raise InvalidImport(f"level={level!r} must be one of {', '.join(LEVELS)}")
    if crs:
        parse_crs(crs)  # a bad --crs is named before the file is read
    progress(f"reading {source_name or Path(path).name}")
    raw = read_boundaries(
        path, source_name=source_name, code_field=code_field, name_field=name_field
    )
    outside = [c for c in raw.codes if c and not str(c).startswith(scope)]
    if scope and outside:
        raise Forbidden(
            f"{len(outside)} feature(s) are outside your scope {scope}, e.g. {outside[:3]}; "
            "ask an account whose scope covers them",
            reason="boundaries.outside_scope",
            n=len(outside),
            scope=scope,
            examples="、".join(str(c) for c in outside[:3]),
        )
    progress(f"checking {len(raw.codes)} features as {level}s")
    plan = plan_import(conn, raw, level, crs=crs, repair=repair)
    if not commit:
        report = plan.report()
        report["dry_run"] = True
        return report
    summary = commit_import(
        conn, plan, generation=generation, valid_from=valid_from, progress=progress
    )
    report = plan.report(committed=True)
    report["dry_run"] = False
    report["commit"] = summary
    return report


def format_report(report: dict[str, Any]) -> str:
    """The report as lines a planner reads in a terminal."""
    src = report["source"]
    lines = [
        f"{src['name']} ({src['format']}, {src.get('crs') or 'CRS unknown'}): "
        f"{report['features']} {report['level']} features, county {report['county'] or '?'}",
    ]
    for p in report["problems"]:
        who = p.get("feature") or (p.get("features") or [{}])[0]
        code = who.get("code") or p.get("parent") or ""
        lines.append(f"  {p['severity'].upper():7} {p['problem']:24} {code:15} {p['message']}")
        lines.append(f"  {'':7} {'':24} {'':15} -> {p['fix']}")
    verdict = (
        "committed"
        if report["committed"]
        else ("ready to commit (--commit)" if report["committable"] else "NOT committable")
    )
    lines.append(
        f"{report['errors']} error(s), {report['warnings']} warning(s): {verdict}"
        + ("" if report["committed"] else "; dry run, nothing written")
    )
    return "\n".join(lines)
