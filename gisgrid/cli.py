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
    finally:
        engine.dispose()
    if args.no_serve:
        return 0
    return _serve(settings, url, args.host or settings.host, args.port or settings.port)


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


def cmd_boundaries(args: argparse.Namespace, settings: Settings) -> int:
    """boundaries import (dry run unless --commit) | export."""
    import datetime as dt
    from pathlib import Path

    from gisgrid.db import make_engine

    url = _prepared_url(settings)
    engine = make_engine(url)
    as_date = dt.datetime.fromisoformat
    try:
        if args.action == "import":
            from gisgrid.boundaries.service import format_report, import_boundaries

            with engine.begin() as conn:
                report = import_boundaries(
                    conn,
                    Path(args.path),
                    args.level,
                    crs=args.crs,
                    repair=args.repair,
                    commit=args.commit,
                    generation=args.generation,
                    valid_from=as_date(args.valid_from) if args.valid_from else None,
                    code_field=args.code_field,
                    name_field=args.name_field,
                    progress=_say,
                )
            print(
                json.dumps(report, indent=2, ensure_ascii=False)
                if args.json
                else format_report(report)
            )
            if report.get("commit"):
                print(json.dumps(report["commit"], indent=2, ensure_ascii=False))
            return 0 if report["committable"] else 1
        from gisgrid.boundaries.export import grids_frame, write_grids

        with engine.connect() as conn:
            frame = grids_frame(
                conn,
                unit=args.unit,
                generation=args.generation,
                as_of=as_date(args.as_of) if args.as_of else None,
            )
        write_grids(frame, args.format, Path(args.output))
        _say(f"wrote {len(frame)} grids to {args.output} ({args.format})")
        return 0
    finally:
        engine.dispose()


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

    serve = sub.add_parser("serve", help="serve the API and maps")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
    b = sub.add_parser("boundaries", help="import (dry run unless --commit) and export grids")
    bsub = b.add_subparsers(dest="action", required=True)
    imp = bsub.add_parser("import", help="check a boundary file; --commit writes it")
    imp.add_argument("path", help="GeoJSON, GeoPackage, zipped Shapefile, GeoParquet or CSV (WKT)")
    imp.add_argument("--level", required=True, choices=["county", "town", "village", "grid"])
    imp.add_argument("--generation", help="name of the new grid generation")
    imp.add_argument(
        "--crs", help="EPSG:4326, EPSG:4490, EPSG:4491-4554 (Gauss-Kruger), gcj02 or bd09"
    )
    imp.add_argument("--commit", action="store_true", help="write it (all or nothing)")
    imp.add_argument("--repair", action="store_true", help="apply proposed repairs")
    imp.add_argument("--valid-from", help="ISO date the new generation starts (default now)")
    imp.add_argument("--code-field")
    imp.add_argument("--name-field")
    imp.add_argument("--json", action="store_true", help="print the full report as JSON")
    exp = bsub.add_parser("export", help="write grids to a file")
    exp.add_argument(
        "--format", required=True, choices=["geojson", "gpkg", "shp", "csv", "parquet"]
    )
    exp.add_argument("-o", "--output", required=True)
    exp.add_argument("--generation", help="a generation by name (default: current grids)")
    exp.add_argument("--as-of", help="grids valid on this ISO date")
    exp.add_argument("--unit", help="only grids in this county/town/village code")
    b.set_defaults(func=cmd_boundaries)
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
