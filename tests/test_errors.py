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
    for path in [*(ROOT / "gisgrid").rglob("*.py"), *(ROOT / "api" / "routers").rglob("*.py")]:
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
    """Each `reason="..."` in gisgrid/ and api/routers/ has its Chinese words in api/errors.py,
    and no more."""
    import re

    from api.errors import CHINESE

    raised = set()
    for path in [*(ROOT / "gisgrid").rglob("*.py"), *(ROOT / "api" / "routers").rglob("*.py")]:
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


def test_every_check_a_publish_can_fail_and_every_plan_step_has_chinese_words() -> None:
    """Each problem kind of the boundaries checks, each step and failure key of a plan."""
    import re

    from api.errors import PLAN_WORDS, PROBLEM_WORDS, problem_words, said
    from gisgrid.redraw.plans import NOTES, STEPS

    check = (ROOT / "gisgrid" / "boundaries" / "check.py").read_text(encoding="utf-8")
    kinds = set(re.findall(r'plan\.add\(\s*"([a-z_]+)"', check))
    assert {"overlap", "gap", "not_inside_parent"} <= kinds  # the scan works
    assert not kinds - set(PROBLEM_WORDS), sorted(kinds - set(PROBLEM_WORDS))
    failures = {"plan.crashed", "plan.died", "plan.stalled"}
    assert set(STEPS) | set(NOTES) | failures == set(PLAN_WORDS)
    problems = [
        {"problem": k, "feature": {"index": 0, "code": "441226101201009"}, "parent": "441226101201"}
        | {"features": [{"code": "441226101201001"}, {"code": "441226101201002"}]}
        | {"county": "441226", "geometry_type": "LineString", "area_m2": 12.5}
        for k in sorted(kinds)
    ]
    for text in [problem_words(p) for p in problems] + list(PLAN_WORDS.values()):
        words = set(re.findall(r"[A-Za-z]{2,}\w*", re.sub(r"{\w+}", "", text))) - _LATIN_ALLOWED
        assert not words, f"{text}: English words {sorted(words)}"
    refused = errors.ImportRefused(
        "the draft fails the boundaries checks with 7 error(s) ...",
        reason="plan.fails_checks",
        errors=7,
        problems=[
            {
                "problem": "overlap",
                "features": [{"code": "441226101201001"}, {"code": "441226101201002"}],
                "area_m2": 1234.5,
            },
            {
                "problem": "not_inside_parent",
                "feature": {"index": 3, "code": "441226101201002"},
                "parent": "441226101201",
                "area_outside_m2": 980.0,
                "share_outside": 0.012,
            },
        ],
    )
    assert said(refused) == (
        "草案未通过边界检查，共 7 处错误，未写入任何数据：网格 441226101201001、441226101201002 "
        "相互重叠 1,234 平方米；网格 441226101201002 有 980 平方米（1.2%）超出所属村（社区）"
        "441226101201；另有 5 处"
    )


def test_refusals_of_sign_in_and_scope_are_chinese() -> None:
    from api.errors import said

    exc = errors.Forbidden(
        "drafting a redraw plan: 441226102 is outside your scope 441226101",
        reason="auth.scope",
        action="drafting a redraw plan",
        code="441226102",
        scope="441226101",
    )
    chinese = "生成重划方案超出本账号的管辖范围：441226102 不在 441226101 之内"
    assert said(exc, "/api/v1/plans") == chinese
    assert said(exc, "/maps/planner") == chinese
    assert said(exc) == chinese  # the command line
    assert said(exc, "/api/v1/boundaries/imports") == chinese  # every route
    # English for whoever chose it (?lang=en, the cookie), except where planners read them.
    assert said(exc, "/api/v1/boundaries/imports", "en") == str(exc)
    assert said(exc, "/api/v1/plans", "en") == chinese
    step = errors.Forbidden(
        "x",
        reason="auth.role",
        action="close (核查结案)",
        role="grid_worker",
        allowed=["county_operator"],
    )
    assert said(step) == "案件操作“核查结案”需要县综治中心的账号；当前账号是网格员"
    unnamed = errors.NotAuthenticated("x", reason="auth.sign_in", action="something new")
    assert said(unnamed).startswith("此操作需要先登录")
