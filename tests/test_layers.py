"""The layers point one way: api -> maps -> gisgrid; the core imports no web framework."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), a.name.split(".")[0]) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module.split(".")[0]))
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("gisgrid", {"fastapi", "starlette", "folium", "api", "maps"}),
        ("maps", {"fastapi", "starlette", "api", "sqlalchemy", "psycopg", "geoalchemy2"}),
    ],
)
def test_package_does_not_import(package: str, forbidden: set[str]) -> None:
    bad = sorted((f, m) for f, m in _imports(package) if m in forbidden)
    assert not bad, f"{package} must not import {forbidden}: {bad}"


def test_scan_sees_imports() -> None:
    # Guard against a scan that finds nothing and so passes for the wrong reason.
    assert ("api/app.py", "fastapi") in _imports("api")
