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
