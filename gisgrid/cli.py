"""The `gisgrid` command: local PostGIS, migrations, the demo county, serving."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import exc as db_errors

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


def _prepared_url(settings: Settings, say: Callable[[str], None] = _say) -> str:
    """Resolve the database (starting the local one if needed) and bring the schema up to date."""
    from gisgrid.db import migrate, resolve_database_url

    url = resolve_database_url(settings, progress=say)
    say("migrating schema")
    migrate(url)
    return url


@contextmanager
def _transaction(settings: Settings) -> Iterator[Connection]:
    """A transaction on the prepared database, committed when the block ends without an error."""
    from gisgrid.db import make_engine

    engine = make_engine(_prepared_url(settings))
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply Alembic migrations."""
    _prepared_url(settings)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Load a demo county if it is not loaded yet, then serve."""
    from gisgrid.db import make_engine
    from gisgrid.demo import county as demo

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
        from gisgrid.patrols import roads  # GENERATED roads and key places

        with engine.begin() as conn:
            if not roads.has_network(conn, args.county):
                roads.generate_demo_network(conn, args.county, progress=_say)
        from gisgrid.demo import patrol_day  # a GENERATED patrol day, so the wall map has staff

        day = patrol_day.ensure_patrol_day(
            engine, args.county, seed=settings.demo_seed, progress=_say
        )
        if day is None:
            _say("the generated patrol day is current (regenerated after 30 min or a new day)")
        _print_demo_key(engine, args.host or settings.host, args.port or settings.port)
        _print_demo_account(
            engine, args.county, args.host or settings.host, args.port or settings.port
        )
    finally:
        engine.dispose()
    if args.no_serve:
        return 0
    return _serve(settings, url, args.host or settings.host, args.port or settings.port)


def _print_demo_key(engine, host: str, port: int) -> None:  # type: ignore[no-untyped-def]
    """Issue (or re-issue) the key named `demo` and show how to post a report with it."""
    from gisgrid.reports import api_keys

    with engine.begin() as conn:
        key = api_keys.reissue_key(conn, "demo")
    _say(f"Open311 API key 'demo' (re-issued on every `gisgrid demo`): {key}")
    _say(
        "post a report: curl -d api_key=" + key + " -d service_code=SJ01 -d lat=23.15 "
        f"-d long=112.05 -d 'description=exposed garbage' http://{host}:{port}/open311/v2/requests.json"
    )


def _print_demo_account(engine, county: str, host: str, port: int) -> None:  # type: ignore[no-untyped-def]
    """Re-issue the demo county operator's password so the map pages can be opened at once."""
    from gisgrid.access import accounts

    with engine.begin() as conn:
        username, password = accounts.reissue_demo_account(conn, county)
        dept_user, dept_password = accounts.reissue_demo_department_account(conn, county, "ZJ")
    _say(
        f"map pages: sign in at http://{host}:{port}/login as {username} / {password} "
        f"(county operator of {county[:6]}; new password on every `gisgrid demo`), then open "
        f"http://{host}:{port}/maps/center?unit={county[:6]}"
    )
    _say(
        f"a department's inbox: {dept_user} / {dept_password} (handler of the GENERATED 住建 "
        f"department ZJ) sees http://{host}:{port}/api/v1/departments/ZJ/cases?county={county[:6]}"
    )


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    """keys create|list|revoke: Open311 API keys."""
    from gisgrid.reports import api_keys

    with _transaction(settings) as conn:
        if args.action == "create":
            if not args.name:
                raise SystemExit("gisgrid keys create needs --name NAME")
            # The key on the last line, alone, so scripts can capture it.
            print(api_keys.create_key(conn, args.name))
        elif args.action == "revoke":
            if not args.name:
                raise SystemExit("gisgrid keys revoke needs --name NAME")
            api_keys.revoke_key(conn, args.name)
            _say(f"revoked key {args.name!r}")
        else:
            for k in api_keys.list_keys(conn):
                state = f"revoked {k['revoked_at']:%Y-%m-%d}" if k["revoked_at"] else "active"
                print(f"{k['name']}\t{k['created_at']:%Y-%m-%d %H:%M}\t{state}")
    return 0


def cmd_assign(args: argparse.Namespace, settings: Settings) -> int:
    """assign households|reports: every point to the current grid covering it, in bulk."""
    from gisgrid.assignment import assign as bulk

    with _transaction(settings) as conn:
        result = bulk.assign_table(
            conn, args.table[:-1], args.county, write=not args.dry_run, progress=_say
        )
    print(json.dumps(result))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the API and maps (--workers N: N processes sharing one socket and one truth)."""
    url = _prepared_url(settings)
    workers = args.workers or 1
    if workers < 1:
        raise SystemExit(f"--workers {workers}: give 1 or more worker processes")
    return _serve(settings, url, args.host or settings.host, args.port or settings.port, workers)


def _serve(settings: Settings, url: str, host: str, port: int, workers: int = 1) -> int:
    # The app reads its settings from the environment; hand it the resolved database.
    os.environ["GISGRID_DATABASE_URL"] = url
    if workers > 1:
        # Several processes must count rate limits together (PostgreSQL), unless told not to.
        os.environ.setdefault("GISGRID_SHARED_LIMITS", "true")
    _say(
        f"serving on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)"
        + (f", {workers} worker processes" if workers > 1 else "")
    )
    # An import string keeps the core free of web-framework imports.
    from gisgrid import serving

    config = serving.config("api.app:create_app", host, port, workers)
    serving.run(config, workers)
    return 0


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    """users create: an account with a role and an area scope."""
    import getpass

    from gisgrid.access import accounts

    password = args.password or os.environ.get("GISGRID_NEW_PASSWORD")
    if not password:
        password = getpass.getpass(f"password for {args.username}: ")
    with _transaction(settings) as conn:
        account_id = accounts.create_account(
            conn, args.username, password, args.role, args.scope, args.name
        )
    _say(
        f"created account {args.username} (id {account_id}, role {args.role}, "
        f"scope {args.scope or 'everywhere'})"
    )
    return 0


def cmd_patrol(args: argparse.Namespace, settings: Settings) -> int:
    """Patrols: roads/key-place import, generated demo network, track intake, coverage, routing."""
    import datetime as dt
    from pathlib import Path

    from gisgrid.patrols import coverage, roads, routing, tracks

    with _transaction(settings) as conn:
        if args.action == "import-roads":
            out: object = roads.import_roads(
                conn,
                args.county,
                roads.read_roads(Path(args.file)),
                source=args.file,
                commit=args.commit,
                progress=_say,
            )
        elif args.action == "import-places":
            out = roads.import_key_places(
                conn,
                args.county,
                roads.read_places(Path(args.file)),
                source=args.file,
                commit=args.commit,
            )
        elif args.action == "demo-network":
            if roads.has_network(conn, args.county):
                out = {"note": f"county {args.county} already has roads; nothing generated"}
            else:
                out = roads.generate_demo_network(conn, args.county, progress=_say)
        elif args.action == "ingest":
            data = Path(args.file).read_bytes()
            frame = tracks.parse_upload(data, "", args.staff)
            out = tracks.ingest_fixes(conn, frame, source="file", progress=_say)
        elif args.action == "coverage":
            end = dt.datetime.fromisoformat(args.end) if args.end else dt.datetime.now(dt.UTC)
            start = (
                dt.datetime.fromisoformat(args.start) if args.start else end - dt.timedelta(days=1)
            )
            res = coverage.coverage_by_unit(conn, args.unit, start, end, progress=_say)
            if args.geojson:
                Path(args.geojson).write_text(
                    json.dumps(res["uncovered_segments"], ensure_ascii=False)
                )
                _say(f"uncovered segments written to {args.geojson}")
            out = {
                k: v
                for k, v in res.items()
                if k not in ("uncovered_segments", "unvisited_places", "key_places")
            }
        else:  # next
            out = routing.suggest_route(conn, args.staff)
    print(json.dumps(out, indent=2, ensure_ascii=False, default=str))
    return 0


def cmd_basemap(args: argparse.Namespace, settings: Settings) -> int:
    """basemap import (dry run unless --commit) | show: the service's own basemap."""
    from pathlib import Path

    from gisgrid.mapdata import basemap

    with _transaction(settings) as conn:
        if args.action == "import":
            out = basemap.import_osm(
                conn, args.county, Path(args.file), commit=args.commit, progress=_say
            )
            if not args.commit:
                _say("dry run: nothing written (add --commit to store it)")
        else:
            out = basemap.describe(conn, args.county)
    print(json.dumps(out, indent=2, ensure_ascii=False, default=str))
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


def cmd_bulk(args: argparse.Namespace, settings: Settings) -> int:
    """bulk assign|apply|coverage|scores: bulk work on a Dask cluster (or this process)."""
    import datetime as dt

    from gisgrid import bulk
    from gisgrid.db import make_engine

    if args.action == "assign" and args.what == "points":
        if not (args.parquet and args.out):
            raise SystemExit("gisgrid bulk assign points needs --parquet DIR and --out DIR")
        with bulk.open_runner(args.workers, args.cluster) as runner:
            out: object = bulk.run_parquet_assignment(
                None, args.parquet, args.out, runner, cell_m=args.cell_m, progress=_say
            )
        print(json.dumps(out, default=str))
        return 0
    url = _prepared_url(settings)
    engine = make_engine(url)
    as_time = dt.datetime.fromisoformat
    try:
        if args.action == "apply":
            out = bulk.apply_assignment(engine, args.job, progress=_say)
        else:
            with bulk.open_runner(args.workers, args.cluster) as runner:
                if args.action == "assign":
                    if args.what not in ("households", "reports"):
                        raise SystemExit("gisgrid bulk assign households|reports|points")
                    out = bulk.run_assignment(
                        engine,
                        url,
                        args.what[:-1],
                        runner,
                        unit=args.unit or "",
                        cell_m=args.cell_m,
                        progress=_say,
                    )
                    if args.apply:
                        out = {**out, "moved": bulk.apply_assignment(engine, out["job"], _say)}
                elif args.action == "coverage":
                    end = as_time(args.end) if args.end else dt.datetime.now(dt.UTC)
                    start = as_time(args.start) if args.start else end - dt.timedelta(days=1)
                    out = bulk.run_coverage(
                        engine,
                        url,
                        args.unit or "",
                        start,
                        end,
                        runner,
                        level=args.level,
                        window_days=args.window_days,
                        progress=_say,
                    )
                else:
                    from gisgrid.reports import IntakeConfig

                    out = bulk.run_scores(
                        engine,
                        url,
                        runner,
                        unit=args.unit or "",
                        start=as_time(args.start) if args.start else None,
                        end=as_time(args.end) if args.end else None,
                        config=IntakeConfig.from_settings(settings),
                        progress=_say,
                    )
    finally:
        engine.dispose()
    print(json.dumps(out, default=str))
    return 0


def cmd_province(args: argparse.Namespace, settings: Settings) -> int:
    """province generate|unload: a GENERATED province of many counties (PostGIS, GeoParquet)."""
    from pathlib import Path

    from gisgrid.demo import province

    out: dict[str, object] = {}
    if args.parquet and args.action == "generate":
        from gisgrid.bulk import open_runner

        # Counties are drawn independently: --workers N draws them on a local Dask cluster.
        with open_runner(args.workers) as runner:
            manifest = province.write_parquet(
                Path(args.parquet),
                args.counties,
                args.seed,
                args.scale,
                progress=_say,
                map_counties=runner.map,
            )
        out["parquet"] = {k: v for k, v in manifest.items() if k != "county_list"}
    if not args.no_db:
        from gisgrid.db import make_engine

        engine = make_engine(_prepared_url(settings))
        try:
            if args.action == "unload":
                province.unload_province(
                    engine, args.counties, args.seed, args.scale, progress=_say
                )
            else:
                out["postgis"] = province.load_province(
                    engine,
                    args.counties,
                    args.seed,
                    args.scale,
                    patrol_day=not args.no_patrols,
                    progress=_say,
                )
        finally:
            engine.dispose()
    print(json.dumps(out, ensure_ascii=False, default=str))
    return 0


MODE_WORDS = {"balance": "均衡重划", "minimal_change": "最小调整"}


def _plan_lines(p: dict, words: Any) -> str:  # type: ignore[type-arg]
    """A plan as the operator reads it: status, figures and each village's note, in Chinese."""
    p = words.plan_words(p)
    t = (p.get("summary") or {}).get("totals") or p.get("totals") or {}
    head = (
        f"方案 {p['id']}：{p['unit']} {MODE_WORDS.get(p['mode'], p['mode'])}，每格 "
        f"{p['band'][0]}-{p['band'][1]} 户 [{words.STATUS_WORDS.get(p['status'], p['status'])}]"
        f" {p.get('message') or ''}"
    )
    if p.get("status") == "failed" and p.get("error"):
        head += f"：{p['error']}"
    if not t:
        return head
    share = t.get("share_in_band")
    lines = [
        head,
        f"  网格 {t.get('grids')} 个 · 在区间内 {t.get('grids_in_band')} 个 · 可行网格在区间内 "
        f"{'-' if share is None else f'{share:.1%}'} · 最大偏差 {t.get('worst_deviation')} 户 · "
        f"平均紧凑度（Polsby-Popper）{t.get('mean_polsby_popper')}",
        f"  住户 {t.get('households'):,} 户 · 变更网格 {t.get('households_moved'):,} 户 · "
        f"变更的网格 {t.get('grids_changed')} 个 · 用时 {t.get('runtime_s')} 秒",
    ]
    for v in (p.get("summary") or {}).get("villages", []):
        said = [words.words(n["reason"], n["params"]) for n in v.get("notes") or []]
        if said:
            lines.append(f"  {v['code']} {v['name']}：{'；'.join(filter(None, said))}")
    return "\n".join(lines)


def cmd_plan(args: argparse.Namespace, settings: Settings) -> int:
    """plan balance|list|show|publish|discard: what it says is in Chinese (api/errors.py)."""
    import datetime as dt
    import importlib

    from gisgrid.access import COMMAND_LINE
    from gisgrid.db import make_engine
    from gisgrid.redraw import plans, publish

    # The one table of the words people read; a plain import at call time, as serve does (the
    # core imports no web framework at import time).
    words = importlib.import_module("api.errors")

    def step(s: Any) -> None:
        _say(f"{s.share:.0%} {words.words(s.reason, s.params) or s}")

    # The set-up's own English lines are for `gisgrid db`; a planner's command says its own.
    engine = make_engine(_prepared_url(settings, say=_quiet))
    who = COMMAND_LINE
    try:
        if args.action == "balance":
            mode = "minimal_change" if args.minimal_change else "balance"
            with engine.begin() as conn:
                made = plans.create_plan(conn, who, args.unit, args.band, mode, args.seed)
            _say(
                f"方案 {made['id']}：{made['unit']} {MODE_WORDS[mode]}，基于网格版本 "
                f"{made['generation']}"
            )
            try:
                plans.run_plan(engine, made["id"], progress=step if not args.json else _quiet)
            except Exception as exc:  # the row keeps the core's words; the operator reads Chinese
                if isinstance(exc, GisGridError):
                    raise
                crashed = words.words("plan.crashed", {"kind": type(exc).__name__})
                print(f"gisgrid: 错误：方案 {made['id']}：{crashed}", file=sys.stderr)
                return 2
            with engine.connect() as conn:
                out = plans.get_plan(conn, who, made["id"], geometry=False)
        elif args.action == "list":
            with engine.connect() as conn:
                rows = plans.list_plans(conn, who)
            if args.json:
                print(
                    json.dumps(
                        [words.plan_words(r) for r in rows],
                        indent=2,
                        ensure_ascii=False,
                        default=str,
                    )
                )
            for r in [] if args.json else rows:
                print(_plan_lines(r, words))
            if not rows and not args.json:
                print("没有方案")
            return 0
        elif args.action == "show":
            with engine.connect() as conn:
                out = plans.get_plan(conn, who, args.id, geometry=args.geometry)
        elif args.action == "publish":
            when = dt.datetime.fromisoformat(args.valid_from) if args.valid_from else None
            if when is not None and when.tzinfo is None:
                when = when.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
            with engine.begin() as conn:
                out = publish.publish_plan(
                    conn, who, args.id, valid_from=when, generation=args.generation
                )
            print(json.dumps(out, indent=2, ensure_ascii=False, default=str))
            return 0
        else:  # discard
            with engine.begin() as conn:
                out = plans.discard_plan(conn, who, args.id)
            print(json.dumps(out, ensure_ascii=False))
            return 0
    except GisGridError as exc:
        print(f"gisgrid: 错误：{words.said(exc)}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(words.plan_words(out), indent=2, ensure_ascii=False, default=str))
    else:
        print(_plan_lines(out, words))
    return 0


def _quiet(step: Any) -> None:
    """No progress lines."""


BULLETIN_FORMATS = ("json", "csv", "html", "png")


def cmd_bulletin(args: argparse.Namespace, settings: Settings) -> int:
    """bulletin --unit C --month YYYY-MM -o FILE: the monthly bulletin (通报) to a file."""
    from pathlib import Path

    from gisgrid.access import COMMAND_LINE
    from gisgrid.db import make_engine
    from gisgrid.reports import IntakeConfig
    from gisgrid.reports.bulletin import bulletin_csv, monthly_bulletin

    out = Path(args.output)
    fmt = args.format or out.suffix.lstrip(".").lower()
    if fmt not in BULLETIN_FORMATS:
        raise SystemExit(
            f"gisgrid bulletin: cannot tell the format of {out.name!r}; name the file .json, "
            ".csv, .html or .png, or give --format"
        )
    engine = make_engine(_prepared_url(settings))
    try:
        with engine.connect() as conn:
            b = monthly_bulletin(
                conn, COMMAND_LINE, args.unit, args.month, IntakeConfig.from_settings(settings)
            )
    finally:
        engine.dispose()
    if fmt == "json":
        out.write_text(json.dumps(b, ensure_ascii=False, indent=1, default=str), "utf-8")
    elif fmt == "csv":
        out.write_text(bulletin_csv(b), "utf-8", newline="")
    else:
        # maps/ renders; the core stays free of it (a plain import at call time, as serve does).
        import importlib

        page = importlib.import_module("maps.bulletin")
        png = page.render_png(b)
        out.write_bytes(png) if fmt == "png" else out.write_text(page.render_html(b, png), "utf-8")
    _say(
        f"wrote the {b['issue']} bulletin of {b['unit']['name']} ({b['unit']['code']}) to {out}: "
        f"{b['unit']['due']} due, closure {b['unit']['closure_rate']}, on time "
        f"{b['unit']['on_time_rate']}"
    )
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

    from gisgrid.access.accounts import Role

    users = sub.add_parser("users", help="accounts")
    users_sub = users.add_subparsers(dest="users_action", required=True)
    create = users_sub.add_parser("create", help="create an account")
    create.add_argument("--username", required=True)
    create.add_argument("--password", help="(else $GISGRID_NEW_PASSWORD, else a prompt)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument(
        "--scope", default="", help="unit or grid code the account acts in (admins may omit it)"
    )
    create.add_argument("--name", help="display name")
    create.set_defaults(func=cmd_users)
    patrol = sub.add_parser("patrol", help="roads, key places, tracks, coverage, next route")
    patrol.add_argument(
        "action",
        choices=["import-roads", "import-places", "demo-network", "ingest", "coverage", "next"],
    )
    patrol.add_argument("file", nargs="?", help="roads/places/track file (GPX, GeoJSON, PBF)")
    patrol.add_argument("--county", default="441226")
    patrol.add_argument("--commit", action="store_true", help="write (imports are dry runs)")
    patrol.add_argument("--staff", type=int)
    patrol.add_argument("--unit", default="441226")
    patrol.add_argument("--start", help="ISO 8601 with zone (default: end - 1 day)")
    patrol.add_argument("--end", help="ISO 8601 with zone (default: now)")
    patrol.add_argument("--geojson", help="write uncovered segments here")
    patrol.set_defaults(func=cmd_patrol)
    bm = sub.add_parser("basemap", help="the basemap the service draws itself (OSM extract)")
    bm.add_argument("action", choices=["import", "show"])
    bm.add_argument("file", nargs="?", help="an OpenStreetMap extract (.osm.pbf)")
    bm.add_argument("--county", required=True, help="6- or 12-digit county code")
    bm.add_argument("--commit", action="store_true", help="write it (imports are dry runs)")
    bm.set_defaults(func=cmd_basemap)
    keys = sub.add_parser("keys", help="Open311 API keys")
    keys.add_argument("action", choices=["create", "list", "revoke"])
    keys.add_argument("--name", help="who the key is for, e.g. a client app")
    keys.set_defaults(func=cmd_keys)

    assign = sub.add_parser("assign", help="assign households or reports to grids in bulk")
    assign.add_argument("table", choices=["households", "reports"])
    assign.add_argument("--county", help="only this county's grids (6 or 12 digits)")
    assign.add_argument("--dry-run", action="store_true", help="count changes, write nothing")
    assign.set_defaults(func=cmd_assign)

    bulk = sub.add_parser(
        "bulk", help="assignment, coverage and scores in bulk on a Dask cluster (or here)"
    )
    bulk.add_argument("action", choices=["assign", "apply", "coverage", "scores"])
    bulk.add_argument("what", nargs="?", help="assign: households | reports | points (GeoParquet)")
    where = bulk.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="a local Dask cluster of N worker processes")
    where.add_argument("--cluster", help="an existing Dask scheduler, tcp://HOST:PORT")
    bulk.add_argument("--unit", help="only under this code (county, town, village)")
    bulk.add_argument("--apply", action="store_true", help="assign: move the changed rows")
    bulk.add_argument("--job", type=int, help="apply: the assignment job")
    bulk.add_argument(
        "--cell-m", type=float, default=150.0, help="the index's finest cell (m); 150 in bulk"
    )
    bulk.add_argument("--parquet", help="assign points: a generated province's folder")
    bulk.add_argument("--out", help="assign points: where the result files go")
    bulk.add_argument("--start", help="ISO 8601 with zone")
    bulk.add_argument("--end", help="ISO 8601 with zone (default: now)")
    bulk.add_argument("--level", default="town", choices=["town", "village", "grid"])
    bulk.add_argument("--window-days", type=int, default=31, help="coverage window (1-62)")
    bulk.set_defaults(func=cmd_bulk)

    prov = sub.add_parser(
        "province", help="a GENERATED province of many counties (scale tests and benches)"
    )
    prov.add_argument("action", choices=["generate", "unload"])
    prov.add_argument("--counties", type=int, required=True, help="how many counties (1-792)")
    prov.add_argument("--seed", type=int, default=20231)
    prov.add_argument(
        "--scale", type=float, default=1.0, help="share of a realistic county's counts (tests)"
    )
    prov.add_argument("--parquet", help="also write points and grids as GeoParquet here")
    prov.add_argument("--no-db", action="store_true", help="GeoParquet only, no PostGIS")
    prov.add_argument("--no-patrols", action="store_true", help="no roads or patrol day")
    prov.add_argument("--workers", type=int, help="draw the GeoParquet counties on N processes")
    prov.set_defaults(func=cmd_province)

    bul = sub.add_parser("bulletin", help="the monthly bulletin (通报) of a unit, to a file")
    bul.add_argument("--unit", required=True, help="county, town or village code")
    bul.add_argument("--month", help="YYYY-MM (default: the last complete month)")
    bul.add_argument("-o", "--output", required=True, help="file: .json, .csv, .html or .png")
    bul.add_argument("--format", choices=BULLETIN_FORMATS, help="(else from the file's name)")
    bul.set_defaults(func=cmd_bulletin)

    serve = sub.add_parser("serve", help="serve the API and maps")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers", type=int, help="worker processes (default 1); they share limits and caches"
    )
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
    plan = sub.add_parser("plan", help="redraw grids: draft, list, show, publish, discard")
    psub = plan.add_subparsers(dest="action", required=True)
    bal = psub.add_parser("balance", help="draft a redraw of a village, town or county")
    bal.add_argument("--unit", required=True, help="county (6), town (9) or village (12) code")
    bal.add_argument("--band", required=True, help="households per grid: MIN,MAX (e.g. 150,300)")
    bal.add_argument(
        "--minimal-change",
        action="store_true",
        help="fix only out-of-band grids, moving as few households as possible",
    )
    bal.add_argument("--seed", type=int, default=0)
    bal.add_argument("--json", action="store_true", help="print the plan as JSON")
    lst = psub.add_parser("list", help="drafts, newest first")
    lst.add_argument("--json", action="store_true")
    show = psub.add_parser("show", help="one draft: status, summary (and grids with --json)")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.add_argument("--geometry", action="store_true", help="include grid geometry in --json")
    pub = psub.add_parser("publish", help="publish a draft as a new generation")
    pub.add_argument("id", type=int)
    pub.add_argument("--valid-from", help="ISO time the generation starts (default now)")
    pub.add_argument("--generation", help="name of the new generation")
    dis = psub.add_parser("discard", help="delete a draft")
    dis.add_argument("id", type=int)
    plan.set_defaults(func=cmd_plan)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, Settings()))
    except GisGridError as exc:
        print(f"gisgrid: error: {exc}", file=sys.stderr)
        return 2
    except db_errors.ArgumentError as exc:
        print(
            f"gisgrid: error: the database URL is not usable ({exc}); set GISGRID_DATABASE_URL "
            "to e.g. postgresql+psycopg://USER@HOST:5432/gisgrid, or unset it to use the "
            "project's own PostGIS (gisgrid db up)",
            file=sys.stderr,
        )
        return 2
    except db_errors.OperationalError as exc:
        # The driver's first line names the host, port or database that failed; the
        # traceback below it tells an operator nothing more.
        reason = str(exc.orig or exc).strip().splitlines()[0]
        print(
            f"gisgrid: error: cannot use the database: {reason}. Start the project's own "
            "PostGIS with `gisgrid db up`, or point GISGRID_DATABASE_URL at a running PostGIS "
            "(and create the database and run `gisgrid migrate` there)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
