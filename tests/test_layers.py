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


ROOMS = sorted(
    p.name
    for p in (ROOT / "gisgrid").iterdir()
    if (p / "__init__.py").is_file() and p.name not in {"sql", "migrations"}
)


def _import_nodes(path: Path) -> list[ast.ImportFrom | ast.Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]


def test_routers_run_no_sql_and_import_no_other_router() -> None:
    """Routers parse HTTP, call the core and render: no SQLAlchemy, no driver, no sibling."""
    bad = []
    for path in sorted((ROOT / "api" / "routers").glob("*.py")):
        for node in _import_nodes(path):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            for name in names:
                top = name.split(".")[0]
                if top in {"sqlalchemy", "psycopg", "psycopg_pool", "geoalchemy2"}:
                    bad.append((path.name, name))
                if name.startswith("api.routers"):
                    bad.append((path.name, name))
    assert not bad, f"routers must not import these: {bad}"


def test_rooms_meet_only_through_public_names() -> None:
    """A core room uses another only through names its __init__ lists in __all__."""
    import importlib

    public = {room: set(importlib.import_module(f"gisgrid.{room}").__all__) for room in ROOMS}
    bad, seen = [], 0
    for room in ROOMS:
        for path in sorted((ROOT / "gisgrid" / room).rglob("*.py")):
            for node in _import_nodes(path):
                if not isinstance(node, ast.ImportFrom) or not node.module:
                    continue
                parts = node.module.split(".")
                if parts[0] != "gisgrid" or len(parts) < 2 or parts[1] not in ROOMS:
                    continue
                if parts[1] == room:
                    continue
                seen += 1
                where = str(path.relative_to(ROOT))
                if len(parts) > 2:
                    bad.append((where, node.module))
                bad += [
                    (where, f"{node.module}.{a.name}")
                    for a in node.names
                    if a.name not in public[parts[1]]
                ]
    assert not bad, f"import these through the room's public names: {bad}"
    assert seen > 10  # the scan sees the rooms' imports of each other


def test_every_room_says_what_it_is_and_what_it_offers() -> None:
    import importlib

    assert {"access", "demo", "divisions", "mapdata", "patrols", "reports"} <= set(ROOMS)
    for room in ROOMS:
        module = importlib.import_module(f"gisgrid.{room}")
        assert module.__doc__, f"gisgrid/{room}/__init__.py has no docstring"
        for name in getattr(module, "__all__", []):
            assert hasattr(module, name), f"gisgrid.{room}.__all__ names {name}, not defined"
