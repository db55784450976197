"""The layers point one way: api -> maps -> gisgrid; the core imports no web framework; every
SQL statement lives in gisgrid/sql/<room>/ and runs through its runner."""

import ast
import re
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


CORE_ROOMS = sorted(
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

    public = {room: set(importlib.import_module(f"gisgrid.{room}").__all__) for room in CORE_ROOMS}
    bad, seen = [], 0
    for room in CORE_ROOMS:
        for path in sorted((ROOT / "gisgrid" / room).rglob("*.py")):
            for node in _import_nodes(path):
                if not isinstance(node, ast.ImportFrom) or not node.module:
                    continue
                parts = node.module.split(".")
                if parts[0] != "gisgrid" or len(parts) < 2 or parts[1] not in CORE_ROOMS:
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

    assert {"access", "demo", "divisions", "mapdata", "patrols", "reports"} <= set(CORE_ROOMS)
    for room in CORE_ROOMS:
        module = importlib.import_module(f"gisgrid.{room}")
        assert module.__doc__, f"gisgrid/{room}/__init__.py has no docstring"
        for name in getattr(module, "__all__", []):
            assert hasattr(module, name), f"gisgrid.{room}.__all__ names {name}, not defined"


# --- One home for data access: every statement is a file in gisgrid/sql/<room>/ ---------------

SQL_HOME = ROOT / "gisgrid" / "sql"
ROOMS = (
    "access",
    "assignment",
    "boundaries",
    "bulk",
    "db",
    "demo",
    "divisions",
    "mapdata",
    "media",
    "patrols",
    "redraw",
    "reports",
)
EXEMPT = ("gisgrid/sql/", "gisgrid/migrations/")  # the home itself; the schema's history
# How a statement starts: the keyword in capitals and what must follow it, so prose ("Create an
# account"), an HTTP method ("DELETE") or ondelete="SET NULL" is not taken for SQL.
SQL_START = re.compile(
    r"\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\S+(\s+\w+)?\s+SET\s|DELETE\s+FROM\s"
    r"|WITH\s+(RECURSIVE\s+)?\w+(\s*\([^)]*\))?\s+AS\s*\(|(CREATE|DROP|ALTER)\s+[A-Z]"
    r"|COPY\s+(\(|\S+(\s*\([^)]*\))?\s+(FROM|TO)\s)|SET\s+(LOCAL\s+|SESSION\s+)?\w+\s*(=|TO\s)"
    r"|SHOW\s+\w|LOCK\s+\w|TRUNCATE\s|ANALYZE\b|VACUUM\b|LISTEN\s+\w|NOTIFY\s+\w)"
)
RUNNER = {
    "load", "statement", "execute", "rows", "first", "scalar", "frame", "composed", "copy_csv"
}  # fmt: skip
NAME = re.compile(rf"({'|'.join(ROOMS)})/[a-z0-9_]+")


def _head(node: ast.AST) -> str | None:
    """The text a string expression starts with: a constant, an f-string (each value as `x`),
    the left end of a `+` or `%` chain."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return _head(node.left)
    return None


def _sql_in(source: str, path: str) -> set[tuple[str, int, str]]:
    """SQL strings, SQLAlchemy text() and raw driver SQL in one module: (path, line, what)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        head = _head(node)
        if head is not None and SQL_START.match(head):
            found.add((path, node.lineno, head.strip()[:60]))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            if any(a.name == "text" for a in node.names):
                found.add((path, node.lineno, f"from {node.module} import text"))
        elif isinstance(node, ast.ImportFrom) and node.module == "psycopg":
            if any(a.name == "sql" for a in node.names):
                found.add((path, node.lineno, "from psycopg import sql"))
        elif isinstance(node, ast.Attribute) and (
            node.attr == "exec_driver_sql"
            or (
                node.attr == "text"
                and isinstance(node.value, ast.Name)
                and node.value.id == "sqlalchemy"
            )
        ):
            found.add((path, node.lineno, node.attr))
    return found


def _code() -> dict[str, str]:
    """Every module of the core, the service and the maps, but the SQL home and the migrations."""
    out = {}
    for package in ("gisgrid", "api", "maps"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            if not rel.startswith(EXEMPT):
                out[rel] = path.read_text(encoding="utf-8")
    return out


def _statement_files() -> dict[str, str]:
    """name ("room/name") -> text of every statement file."""
    return {
        str(p.relative_to(SQL_HOME).with_suffix("")): p.read_text(encoding="utf-8")
        for p in sorted(SQL_HOME.rglob("*.sql"))
    }


def _body(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def test_no_sql_outside_the_sql_home() -> None:
    found = sorted(f for path, src in _code().items() for f in _sql_in(src, path))
    assert not found, f"SQL belongs in gisgrid/sql/<room>/<name>.sql, run by gisgrid.sql: {found}"


# Each line the scan must report ends in "# SQL"; the prose below them must not be reported.
PLANTED = """
import sqlalchemy  # not a finding: the module; sqlalchemy.text below is
from sqlalchemy import Connection, text  # SQL
from psycopg import sql  # SQL
A = "SELECT 1"  # SQL
B = ("UPDATE grid SET valid_to = now() "  # SQL
     "WHERE id = 1")
C = f"ANALYZE {table}"  # SQL
D = "SELECT count(*) FROM (" + inner + ") q"  # SQL
E = sqlalchemy.text(q)  # SQL
F = f"UPDATE {table} t SET grid_id = r.grid_id FROM r"  # SQL
G = "  WITH a AS (SELECT 1) SELECT * FROM a"  # SQL
H = "COPY fix_in FROM STDIN WITH (FORMAT csv)"  # SQL
I = "DELETE FROM household WHERE id = :i"  # SQL
J = "INSERT INTO t (a) VALUES (1)"  # SQL
K = "CREATE TEMP TABLE x (a int)"  # SQL
L = "SHOW server_version"  # SQL
M = "TRUNCATE route_edges"  # SQL
N = "SELECT 1 FROM t WHERE a = %s" % x  # SQL
O = "SET LOCAL lock_timeout = '1s'"  # SQL
conn.exec_driver_sql(q)  # SQL
P = "Create an account; the scope must be known."
Q = "DELETE"
R = ForeignKey("generation.id", ondelete="SET NULL")
S = "COPY into a scratch table, then insert what is not there yet"
T = "Drop every tile."
"""


def test_sql_scan_sees_planted_statements() -> None:
    # Guard against a scan that finds nothing and so passes for the wrong reason: every planted
    # statement (plain, split, f-string, concatenated, %-formatted, text() in both spellings,
    # psycopg composition, exec_driver_sql) is found, and the prose is not.
    found = {line for _, line, _ in _sql_in(PLANTED, "planted.py")}
    marked = {i for i, s in enumerate(PLANTED.splitlines(), start=1) if s.endswith("# SQL")}
    assert len(marked) == 18 and found == marked, sorted(found ^ marked)


def test_sql_scan_knows_every_statement_in_the_home() -> None:
    # The pattern is not too narrow: each statement file, written as a Python string, is found.
    files = _statement_files()
    missed = [n for n, text in files.items() if not _sql_in(f"S = {_body(text)!r}\n", n)]
    assert len(files) > 100 and not missed, missed
    # And on a real module of the tree: the runner's own composed COPY and its text() import.
    runner = _sql_in((SQL_HOME / "__init__.py").read_text(encoding="utf-8"), "runner")
    assert {what for _, _, what in runner} >= {
        "COPY x TO STDOUT WITH (FORMAT csv)".replace("x", "({})"),
        "from sqlalchemy import text",
    }, runner


def _names_in(source: str) -> tuple[set[str], set[str]]:
    """(names passed literally to the runner, every string shaped like a statement name)."""
    called, shaped = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if NAME.fullmatch(node.value):
                shaped.add(node.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in RUNNER
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "sql"
        ):
            at = 0 if node.func.attr in ("load", "statement", "composed") else 1
            arg = node.args[at] if len(node.args) > at else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                called.add(arg.value)
    return called, shaped


def _unknown_names(sources: dict[str, str], files: set[str]) -> list[str]:
    names: set[str] = set()
    for src in sources.values():
        called, shaped = _names_in(src)
        names |= called | shaped
    return sorted(names - files)


def test_every_statement_name_exists() -> None:
    files = set(_statement_files())
    unknown = _unknown_names(_code(), files)
    assert not unknown, f"no statement file has these names: {unknown}"
    # The check fails on a typo, whether the name is an argument or stands in a table of names.
    typo = 'sql.execute(conn, "reports/plcae", lon=1)\nNAMES = ("divisions/gridz",)\n'
    assert _unknown_names({"typo.py": typo}, files) == ["divisions/gridz", "reports/plcae"]


def test_every_statement_file_is_used() -> None:
    used: set[str] = set()
    for src in _code().values():
        called, shaped = _names_in(src)
        used |= called | shaped
    assert len(used) > 100
    unused = sorted(set(_statement_files()) - used)
    assert not unused, f"statement files no code runs (delete them, or call them): {unused}"


def test_statement_files_live_in_rooms_and_say_why() -> None:
    files = _statement_files()
    flat = sorted(p.name for p in SQL_HOME.glob("*.sql"))
    rooms = sorted({name.split("/")[0] for name in files})
    assert not flat, f"statement files belong in a room folder: {flat}"
    assert set(rooms) <= set(ROOMS), rooms
    silent = sorted(n for n, text in files.items() if not text.startswith("-- "))
    assert not silent, f"a statement file starts with a one-line `-- why` comment: {silent}"


# Data cleanup written by hand: what a test makes must go with its copy of a template instead.
CLEANUP = re.compile(
    r"\b(DELETE\s+FROM|TRUNCATE|DROP\s+(TABLE|SCHEMA|DATABASE))\b|\bunload_\w+\(", re.I
)
SUBJECT = "# the subject"  # a line whose deleting or unloading is what its test is about


def _cleanup_lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for n, line in enumerate(lines, 1)
        if CLEANUP.search(line) and SUBJECT not in line
    ]


WRITES = re.compile(r"\.(begin|commit|post|put|patch|delete)\(")


def _hands_on(fn: ast.FunctionDef, shared: set[str]) -> bool:
    """Whether a fixture writes through the shared database, or hands it to other code."""
    if WRITES.search(ast.unparse(fn)):
        return True
    for node in ast.walk(fn):
        handed = node.args + [k.value for k in node.keywords] if isinstance(node, ast.Call) else []
        handed += node.values if isinstance(node, ast.Dict) else []  # type: ignore[arg-type]
        if any(isinstance(a, ast.Name) and a.id in shared for a in handed):
            return True
    return False


def _module_fixtures(path: Path) -> list[str]:
    """A test module's module-scoped fixtures that write into the database its tests share."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef) or not any(
            'scope="module"' in ast.unparse(d).replace("'", '"') for d in fn.decorator_list
        ):
            continue
        shared = SHARED_DATABASE & {a.arg for a in fn.args.args}
        if shared and _hands_on(fn, shared):
            args = ", ".join(a.arg for a in fn.args.args)
            found.append(f"{path.relative_to(ROOT)}:{fn.lineno}: {fn.name}({args})")
    return found


# The module's shared database and its server: a module fixture that wrote there would hand its
# tests what the one before left. Module set-up goes into the module's template instead.
SHARED_DATABASE = {"engine", "database_url", "server", "http", "admin_http", "conn"}


def test_tests_clean_up_nothing_by_hand() -> None:
    """Each test starts from a fresh copy of a template (tests/databases.py makes and drops
    them): no test deletes, truncates, drops or unloads what it or another made."""
    helpers = {ROOT / "tests" / "databases.py", Path(__file__).resolve()}
    bad = [
        line
        for path in sorted((ROOT / "tests").glob("*.py"))
        if path not in helpers
        for line in _cleanup_lines(path)
    ]
    assert not bad, "cleanup by hand (make it in a template, or mark the subject):\n" + "\n".join(
        bad
    )


def test_module_fixtures_do_not_set_up_in_the_shared_database() -> None:
    """A module's accounts, keys and places are made by its `seed_template` (copied per test),
    not by a module fixture writing into the database its tests share."""
    bad = [
        line
        for path in sorted((ROOT / "tests").glob("test_*.py"))
        for line in _module_fixtures(path)
    ]
    assert not bad, "module fixtures on the shared database:\n" + "\n".join(bad)


# The isolation tests write into the shared copy on purpose (what a module commits stays in
# its copy).
WRITES_SHARED_ON_PURPOSE = {"test_isolation.py"}


def _tests_writing_shared(path: Path) -> list[str]:
    """Tests that write through the module's shared database or server (unless the module
    points those names at the test's own copy, as `def http(own_admin_http)` does)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    # A fixture of the module's own with a shared name, taking own_*: per test after all.
    mine = {
        f.name
        for f in top
        if f.name in SHARED_DATABASE and any(a.arg.startswith("own_") for a in f.args.args)
    }
    found = []
    for fn in top:
        if not fn.name.startswith("test_"):
            continue
        shared = (SHARED_DATABASE - mine) & {a.arg for a in fn.args.args}
        src = ast.unparse(fn)
        if any(re.search(rf"\b{name}\.(begin|post|put|patch|delete)\(", src) for name in shared):
            found.append(f"{path.relative_to(ROOT)}:{fn.lineno}: {fn.name}")
    return found


def test_tests_write_only_into_their_own_copy() -> None:
    """A test that writes takes `own_engine` / `own_http` / `own_server` (a copy of the template
    and a server of its own): the module's shared copy is for tests that only read."""
    bad = [
        line
        for path in sorted((ROOT / "tests").glob("test_*.py"))
        if path.name not in WRITES_SHARED_ON_PURPOSE
        for line in _tests_writing_shared(path)
    ]
    assert not bad, "tests writing into the module's shared copy:\n" + "\n".join(bad)


def test_cleanup_scan_sees_planted_cleanup(tmp_path: Path) -> None:
    planted = ROOT / "tests" / "_planted_cleanup.py"
    try:
        planted.write_text(
            'A = "DELETE FROM report WHERE id = :r"\n'
            'B = "TRUNCATE report"\n'
            "province.unload_province(engine)\n"
            'C = "DELETE FROM audit_log"  # the subject\n'
            '@pytest.fixture(scope="module")\ndef accounts(engine, http):\n'
            "    with engine.begin() as c:\n        pass\n"
            '@pytest.fixture(scope="module")\ndef county(engine):\n    return make(engine)\n'
            '@pytest.fixture(scope="module")\ndef place(engine):\n'
            "    with engine.connect() as c:\n        return c\n",
            encoding="utf-8",
        )
        assert len(_cleanup_lines(planted)) == 3
        assert _tests_writing_shared(planted) == []
        assert [line.split(": ", 1)[1] for line in _module_fixtures(planted)] == [
            "accounts(engine, http)",
            "county(engine)",
        ]
    finally:
        planted.unlink()
