"""One error table: every domain error has one status, wherever it is answered or audited."""

import ast
from pathlib import Path

from api.errors import STATUS, outcome_statuses, status_of
from gisgrid import errors, reports
from gisgrid.sql import load

ROOT = Path(__file__).resolve().parent.parent


def _domain_errors() -> list[type[errors.GisGridError]]:
    return [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.GisGridError)
    ]


def test_every_domain_error_has_a_row_in_the_table() -> None:
    missing = [c.__name__ for c in _domain_errors() if c is not errors.GisGridError]
    missing = [name for name in missing if getattr(errors, name) not in STATUS]
    assert not missing, f"add these to api/errors.py STATUS: {missing}"
    assert len(_domain_errors()) > 15  # the scan sees the classes


def test_domain_errors_are_defined_only_in_gisgrid_errors() -> None:
    """A subclass elsewhere would escape the table; the scan must see errors.py's own."""
    found = []
    for path in (ROOT / "gisgrid").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).split(".")[-1] for b in node.bases}
                if bases & {c.__name__ for c in _domain_errors()}:
                    found.append((str(path.relative_to(ROOT)), node.name))
    elsewhere = [f for f in found if f[0] != "gisgrid/errors.py"]
    assert not elsewhere, f"define domain errors in gisgrid/errors.py: {elsewhere}"
    assert ("gisgrid/errors.py", "OutsideCoverage") in found


def test_status_follows_the_nearest_class() -> None:
    class Unlisted(errors.Conflict):
        pass

    assert status_of(Unlisted("x")) == 409
    assert status_of(errors.OutsideCoverage) == 404
    assert status_of(errors.GisGridError("x")) == 400


def test_every_intake_outcome_has_the_status_of_its_error() -> None:
    """The outcomes the SQL function returns are exactly the ones the audit has statuses for."""
    sql_text = load("reports/intake_functions")
    returned = {"created", "replayed", "conflict", "outside", "bad_key", "revoked"}
    for outcome in returned:
        assert f"'{outcome}'" in sql_text, outcome
    statuses = outcome_statuses()
    assert set(statuses) == returned
    for outcome, cls in reports.OUTCOME_ERRORS.items():
        assert statuses[outcome] == status_of(cls)
    assert statuses["outside"] == 404 and statuses["revoked"] == 403


# Latin words a Chinese error may hold: API tokens the reader types, formats, units.
_LATIN_ALLOWED = {
    "split",
    "merge",
    "move",
    "balance",
    "minimal_change",
    "GeoJSON",
    "LineString",
    "WGS84",
    "ISO",
    "JSON",
    "api",
    "v1",
    "plans",
    "blocks",
}


def test_every_reason_the_core_raises_is_said_in_chinese() -> None:
    """Each `reason="..."` in gisgrid/ has its Chinese words in api/errors.py, and no more."""
    import re

    from api.errors import CHINESE

    raised = set()
    for path in (ROOT / "gisgrid").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        # reason="a.b", and the other key of a conditional one: reason="a.b" if x else "a.c"
        raised |= set(re.findall(r'reason="([a-z_.]+)"', text))
        raised |= set(re.findall(r'reason="[a-z_.]+" if .+? else "([a-z_.]+)"', text))
    assert {"edit.move_cuts", "edit.cross_village", "plan.stale"} <= raised  # the scan works
    missing = sorted(raised - set(CHINESE))
    assert not missing, f"add to api/errors.py CHINESE: {missing}"
    assert not set(CHINESE) - raised, f"not raised anywhere: {sorted(set(CHINESE) - raised)}"
    for key, text in CHINESE.items():
        if callable(text):
            continue
        words = set(re.findall(r"[A-Za-z]{2,}\w*", re.sub(r"{\w+}", "", text))) - _LATIN_ALLOWED
        assert not words, f"{key}: English words in a Chinese error: {sorted(words)}"


def test_a_rule_broken_is_said_in_chinese_with_its_values() -> None:
    from api.errors import said

    exc = errors.GridRuleBroken(
        "moving block 7 would cut grid 441226101201002 in 2 pieces; a grid must be one piece",
        reason="edit.move_cuts",
        block=7,
        grid="441226101201002",
        pieces=2,
    )
    assert said(exc) == "移出地块 7 会把网格 441226101201002 分成 2 块：网格必须连成一片"
    assert "would cut" in str(exc)  # logs and the command line keep the core's message
    stale = errors.StalePlan(
        "plan 3 ...",
        reason="plan.stale",
        plan=3,
        generation="g1",
        since=[("g2", "2026-12-01T00:00:00+08:00", 12)],
        changed=["441226101201002"],
        added=[],
    )
    text = said(stale)
    assert "已不是现行版本" in text and "g2（2026-12-01 起，12 个网格）" in text
    assert "441226101201002" in text
    # A plan's status is said in Chinese too; an error without a reason keeps its message.
    ready = errors.Conflict("x", reason="plan.not_ready_impact", plan=4, status="queued")
    assert said(ready) == "方案 4 当前状态为“排队中”，影响预览需要已生成的草案"
    assert said(errors.Conflict("plain words")) == "plain words"
