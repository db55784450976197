"""The `gisgrid` command: local PostGIS, migrations, the demo county, serving."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from gisgrid.errors import GisGridError
from gisgrid.settings import Settings


def _say(msg: str) -> None:
    print(f"gisgrid: {msg}", flush=True)


def _local(settings: Settings):  # type: ignore[no-untyped-def]
    from gisgrid.localdb import LocalPostgis

    return LocalPostgis(settings.state_dir, progress=_say)


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    """db up|down|status|url."""
    if settings.database_url and args.action in ("up", "down"):
        _say(
            "GISGRID_DATABASE_URL is set; the external database is not managed here "
            f"({args.action} skipped)"
        )
        return 0
    local = _local(settings)
    if args.action == "up":
        print(local.up())
    elif args.action == "down":
        local.down()
    elif args.action == "status":
        print(json.dumps(local.status(), indent=2))
    elif args.action == "url":
        from gisgrid.db import resolve_database_url

        print(resolve_database_url(settings, progress=_say))
    return 0


def _prepared_url(settings: Settings) -> str:
    """Resolve the database (starting the local one if needed) and bring the schema up to date."""
    from gisgrid.db import migrate, resolve_database_url

    url = resolve_database_url(settings, progress=_say)
    _say("migrating schema")
    migrate(url)
    return url


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply Alembic migrations."""
    _prepared_url(settings)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Load a demo county if it is not loaded yet, then serve."""
    from gisgrid import demo
    from gisgrid.db import make_engine

    url = _prepared_url(settings)
    engine = make_engine(url)
    try:
        if args.reload:
            demo.unload_county(engine, args.county, progress=_say)
        if demo.is_loaded(engine, args.county):
            _say(f"demo county {args.county} is already loaded")
        else:
            demo.unload_county(engine, args.county, progress=_say)  # an older generator's rows
            demo.load_demo_county(
                engine, args.county, settings.cache_dir, seed=settings.demo_seed, progress=_say
            )
        _print_demo_key(engine, args.host or settings.host, args.port or settings.port)
    finally:
        engine.dispose()
    if args.no_serve:
        return 0
    return _serve(settings, url, args.host or settings.host, args.port or settings.port)


def _print_demo_key(engine, host: str, port: int) -> None:  # type: ignore[no-untyped-def]
    """Issue (or re-issue) the key named `demo` and show how to post a report with it."""
    from gisgrid import keys

    with engine.begin() as conn:
        key = keys.reissue_key(conn, "demo")
    _say(f"Open311 API key 'demo' (re-issued on every `gisgrid demo`): {key}")
    _say(
        "post a report: curl -d api_key=" + key + " -d service_code=SJ01 -d lat=23.15 "
        f"-d long=112.05 -d 'description=exposed garbage' http://{host}:{port}/open311/v2/requests.json"
    )


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    """keys create|list|revoke: Open311 API keys."""
    from gisgrid import keys
    from gisgrid.db import make_engine

    engine = make_engine(_prepared_url(settings))
    try:
        with engine.begin() as conn:
            if args.action == "create":
                if not args.name:
                    raise SystemExit("gisgrid keys create needs --name NAME")
                # The key on the last line, alone, so scripts can capture it.
                print(keys.create_key(conn, args.name))
            elif args.action == "revoke":
                if not args.name:
                    raise SystemExit("gisgrid keys revoke needs --name NAME")
                keys.revoke_key(conn, args.name)
                _say(f"revoked key {args.name!r}")
            else:
                for k in keys.list_keys(conn):
                    state = f"revoked {k['revoked_at']:%Y-%m-%d}" if k["revoked_at"] else "active"
                    print(f"{k['name']}\t{k['created_at']:%Y-%m-%d %H:%M}\t{state}")
    finally:
        engine.dispose()
    return 0


def cmd_assign(args: argparse.Namespace, settings: Settings) -> int:
    """assign households|reports: every point to the current grid covering it, in bulk."""
    from gisgrid import bulk
    from gisgrid.db import make_engine

    engine = make_engine(_prepared_url(settings))
    try:
        with engine.begin() as conn:
            result = bulk.assign_table(
                conn, args.table[:-1], args.county, write=not args.dry_run, progress=_say
            )
    finally:
        engine.dispose()
    print(json.dumps(result))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the API and maps."""
    url = _prepared_url(settings)
    return _serve(settings, url, args.host or settings.host, args.port or settings.port)


def _serve(settings: Settings, url: str, host: str, port: int) -> int:
    import uvicorn

    # The app reads its settings from the environment; hand it the resolved database.
    os.environ["GISGRID_DATABASE_URL"] = url
    _say(f"serving on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    # An import string keeps the core free of web-framework imports.
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, log_level="info")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    p = argparse.ArgumentParser(prog="gisgrid", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the project's own PostGIS")
    db.add_argument("action", choices=["up", "down", "status", "url"])
    db.set_defaults(func=cmd_db)

    mig = sub.add_parser("migrate", help="apply schema migrations")
    mig.set_defaults(func=cmd_migrate)

    demo = sub.add_parser("demo", help="load a demo county (if needed) and serve")
    demo.add_argument(
        "--county",
        default="441226",
        help="441226 Deqing (default), 522730 Longli, 610729 Liuba, 330182 Jiande",
    )
    demo.add_argument("--no-serve", action="store_true", help="load only")
    demo.add_argument("--reload", action="store_true", help="delete the county and load it again")
    demo.add_argument("--host")
    demo.add_argument("--port", type=int)
    demo.set_defaults(func=cmd_demo)

    keys = sub.add_parser("keys", help="Open311 API keys")
    keys.add_argument("action", choices=["create", "list", "revoke"])
    keys.add_argument("--name", help="who the key is for, e.g. a client app")
    keys.set_defaults(func=cmd_keys)

    assign = sub.add_parser("assign", help="assign households or reports to grids in bulk")
    assign.add_argument("table", choices=["households", "reports"])
    assign.add_argument("--county", help="only this county's grids (6 or 12 digits)")
    assign.add_argument("--dry-run", action="store_true", help="count changes, write nothing")
    assign.set_defaults(func=cmd_assign)

    serve = sub.add_parser("serve", help="serve the API and maps")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, Settings()))
    except GisGridError as exc:
        print(f"gisgrid: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
