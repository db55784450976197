"""Domain errors -> HTTP status, in one table; validation errors that name the bad value.

The table is the only place a status is decided: JSON errors here, Open311's error list
(api/routers/open311.py renders the same status in the spec's format) and the status the
intake's audit entry records (`outcome_statuses`) all read it.
"""

import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from types import MappingProxyType
from typing import Any

import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg.errors import LockNotAvailable, QueryCanceled
from psycopg_pool import PoolTimeout, TooManyRequests
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import browser
from gisgrid import errors, reports

log = logging.getLogger(__name__)

STATUS = {
    errors.NotFound: 404,
    errors.OutsideCoverage: 404,
    errors.InvalidCoordinate: 422,
    errors.InvalidCode: 422,
    errors.InvalidGeometry: 422,
    errors.TopologyError: 409,
    errors.DataSourceError: 503,
    errors.LocalDatabaseError: 503,
    errors.DatabaseUnavailable: 503,
    errors.Overloaded: 503,
    # nginx's "client closed request": only logs see it, the client has gone.
    errors.ClientGone: 499,
    errors.NotAuthenticated: 401,
    errors.UnknownToken: 401,
    errors.Forbidden: 403,
    errors.Conflict: 409,
    errors.RateLimited: 429,
    errors.PayloadTooLarge: 413,
    errors.InvalidTrack: 422,
    errors.InvalidPeriod: 422,
    errors.InvalidApiKey: 403,
    errors.InvalidReport: 400,
    errors.IdempotencyConflict: 409,
    errors.InvalidImport: 422,
    errors.ImportRefused: 409,
    errors.StalePlan: 409,
    errors.GridRuleBroken: 409,
    errors.CalendarError: 422,
    errors.UnsupportedMedia: 415,
}


# What planners and staff read, by the error's reason (GisGridError.reason) and its values:
# the core's messages are English for logs and the command line; the API says these.
STATUS_WORDS = {
    "queued": "排队中",
    "running": "计算中",
    "ready": "已生成草案",
    "failed": "计算失败",
    "published": "已发布",
}


def _stale(p: dict[str, Any]) -> str:
    since = "；".join(f"{name}（{day[:10]} 起，{n} 个网格）" for name, day, n in p["since"])
    changed, added = p["changed"], p["added"]

    def some(codes: list[str]) -> str:
        return "、".join(codes[:10]) + ("等" if len(codes) > 10 else "")

    where = (
        f"草案所涉村（社区）中有 {len(changed)} 个网格被调整或撤销（{some(changed)}），"
        f"新增 {len(added)} 个（{some(added)}）"
        if changed or added
        else "草案所涉村（社区）本身没有变化"
    )
    return (
        f"方案 {p['plan']} 基于网格版本 {p['generation']}，该版本已不是现行版本：此后发布了"
        f"{since or '新版本'}；{where}。请基于现行版本重新生成方案"
    )


CHINESE: dict[str, str | Callable[[dict[str, Any]], str]] = {
    "unit.code": "区划编码 {code} 无效：须为 6 位（县）、9 位（乡镇）或 12 位（村、社区）数字",
    "plan.band": "户数区间 {band} 无效：须为两个整数 [最少, 最多]，例如 [150, 300]",
    "plan.band_order": (
        "户数区间 [{lo}, {hi}] 无效：须为两个正整数且最少不大于最多，例如 [150, 300]"
    ),
    "plan.mode": "方式 {mode} 无效：须为 balance（均衡重划）或 minimal_change（最小调整）",
    "plan.seed": "随机种子 {seed} 无效：须为不小于 0 的整数",
    "plan.unit_unknown": "没有编码为 {code} 的县、乡镇或村（社区）",
    "plan.no_generation": "县 {county} 没有现行网格版本，无法重划",
    "plan.unknown": "没有编号为 {plan} 的方案",
    "plan.published_kept": (
        "方案 {plan} 已发布为网格版本 {generation}，作为该次重划的记录保留，不能删除"
    ),
    "plan.not_editable": "方案 {plan} 当前状态为“{status}”，只有已生成的草案才能编辑",
    "plan.not_ready_impact": "方案 {plan} 当前状态为“{status}”，影响预览需要已生成的草案",
    "plan.not_ready_publish": "方案 {plan} 当前状态为“{status}”，只有已生成的草案才能发布",
    "plan.already_published": "方案 {plan} 已发布为网格版本 {generation}",
    "plan.stale": _stale,
    "plan.fails_checks": "草案未通过边界检查，共 {errors} 处错误，未写入任何数据：{first}",
    "plan.sequence_full": (
        "村（社区）{village} 的网格序号将用到 {seq}，超过 999（3 位）；请先撤销旧编码"
    ),
    "edit.op": "编辑方式 {op} 无效：须为 split（拆分）、merge（合并）或 move（移动地块）",
    "edit.block_id": "地块编号 {block} 无效：须为整数（地块见 /api/v1/plans/{plan}/blocks）",
    "edit.block_unknown": "地块 {block} 不在方案 {plan} 中",
    "edit.grid_codes": "网格编码 {value} 无效：须为草案中的 15 位网格编码",
    "edit.merge_two": "合并须选两个不同的网格（收到 {grids}）",
    "edit.grid_unknown": "网格 {grid} 不在方案 {plan} 中",
    "edit.cross_village": "网格 {a} 与 {b} 分属不同的村（社区）（{villages}）：网格不能跨越村界",
    "edit.merge_apart": "网格 {a} 与 {b} 没有共同边界：合并后将是两块，网格必须连成一片",
    "edit.move_other_village": (
        "{to} 不是该地块所在村（社区）{village} 的网格：地块只能移入本村的网格（{grids}）"
    ),
    "edit.move_same": "地块 {block} 已在网格 {grid} 中",
    "edit.move_apart": (
        "地块 {block} 与网格 {grid} 不相邻：移入后该网格将分成两块，请移动网格边缘的地块"
    ),
    "edit.move_last": "地块 {block} 是网格 {grid} 仅剩的地块：请改为合并网格",
    "edit.move_cuts": "移出地块 {block} 会把网格 {grid} 分成 {pieces} 块：网格必须连成一片",
    "edit.polygons": "编辑后网格 {grid} 将由 {pieces} 个多边形组成：网格必须连成一片",
    "edit.pieces": "编辑后网格 {grid} 将分成 {pieces} 块：网格必须连成一片（画线时让两侧各自连通）",
    "edit.pieces_new": "编辑后新网格将分成 {pieces} 块：网格必须连成一片（画线时让两侧各自连通）",
    "edit.line_unreadable": "分割线无法读取：须为 GeoJSON 线（LineString，WGS84 经纬度）",
    "edit.line_type": "分割线是 {kind}：请画一条穿过网格 {grid} 的线（LineString，WGS84 经纬度）",
    "edit.line_misses": "分割线没有从一边到另一边穿过网格 {grid}：请画线穿过该网格",
    "edit.line_one_side": (
        "网格 {grid} 的地块都在线的同一侧（地块沿道路和居民点间隙划分，按地块中心归属）："
        "请换个位置画线"
    ),
    "edit.parts": "拆分份数 {parts} 无效：须为 2 到 20 的整数",
    "edit.parts_blocks": "网格 {grid} 只有 {blocks} 个地块，不能拆分为 {parts} 份",
}


def said(error: errors.GisGridError) -> str:
    """The words a person reads for a domain error: Chinese by its reason, else its message."""
    text = CHINESE.get(error.reason) if error.reason else None
    if text is None:
        return str(error)
    params: dict[str, Any] = dict(error.params)
    status = params.get("status")
    if isinstance(status, str):
        params["status"] = STATUS_WORDS.get(status, status)
    return text(params) if callable(text) else text.format(**params)


# Request validation on the routes planners use (their page shows the detail), by pydantic's
# error type; other routes keep pydantic's words (their readers are programs).
CHINESE_PATHS = ("/api/v1/plans",)
VALIDATION_CHINESE = {
    "missing": "缺少此项",
    "too_short": "项数太少（至少 {min_length} 项）",
    "too_long": "项数太多（至多 {max_length} 项）",
    "list_type": "须为列表",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "int_from_float": "须为整数",
    "greater_than_equal": "须不小于 {ge}",
    "less_than_equal": "须不大于 {le}",
    "literal_error": "须为以下之一：{expected}",
    "string_type": "须为文字",
    "model_type": "须为 JSON 对象",
    "dict_type": "须为 JSON 对象",
    "model_attributes_type": "须为 JSON 对象",
    "json_invalid": "不是有效的 JSON",
    "datetime_type": "须为日期时间（ISO 8601，例如 2026-12-01T00:00:00+08:00）",
    "datetime_parsing": "须为日期时间（ISO 8601，例如 2026-12-01T00:00:00+08:00）",
    "datetime_from_date_parsing": "须为日期时间（ISO 8601，例如 2026-12-01T00:00:00+08:00）",
}
FIELD_WORDS = {
    "unit": "划分范围",
    "band": "户数区间",
    "mode": "方式",
    "seed": "随机种子",
    "valid_from": "生效时间",
    "generation": "版本名称",
    "village": "村（社区）",
    "plan_id": "方案编号",
    "limit": "条数",
}


def _validation_chinese(err: dict[str, Any]) -> str:
    where = "、".join(
        FIELD_WORDS.get(str(p), str(p)) for p in err["loc"] if p not in ("query", "body", "path")
    )
    text = VALIDATION_CHINESE.get(err["type"], "取值不符合要求")
    ctx = {k: str(v) for k, v in (err.get("ctx") or {}).items()}
    try:
        text = text.format(**ctx)
    except (KeyError, IndexError):
        text = "取值不符合要求"
    got = f"（收到 {_short(err['input'])}）" if err.get("input") is not None else ""
    return f"{where or '请求'}：{text}{got}"


def status_of(error: errors.GisGridError | type[errors.GisGridError]) -> int:
    """The HTTP status of a domain error (by its nearest class in the table; 400 otherwise)."""
    cls = error if isinstance(error, type) else type(error)
    return next((STATUS[c] for c in cls.__mro__ if c in STATUS), 400)


@cache  # the table does not change while the service runs; asked for every report
def outcome_statuses() -> Mapping[str, int]:
    """The status of each intake outcome, for the audit entry stored with a report."""
    return MappingProxyType(
        {"created": 201, "replayed": 200}
        | {outcome: status_of(cls) for outcome, cls in reports.OUTCOME_ERRORS.items()}
    )


def retry_after_of(error: errors.GisGridError) -> int | None:
    """Seconds to wait before retrying: every 429 and 503 says it (Retry-After)."""
    if error.retry_after is not None:
        return error.retry_after
    return {429: 60, 503: 5}.get(status_of(error))


def open311_error(path: str, status: int, message: str, retry_after: int | None = None) -> Response:
    """An error in GeoReport v2's shape: a list of {code, description}, XML for .xml paths."""
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    if path.endswith(".xml"):
        doc = ET.Element("errors")
        item = ET.SubElement(doc, "error")
        ET.SubElement(item, "code").text = str(status)
        ET.SubElement(item, "description").text = message
        body = '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(doc, encoding="unicode")
        return Response(body, status, headers, media_type="text/xml; charset=utf-8")
    return JSONResponse([{"code": status, "description": message}], status, headers)


def error_response(
    request: Request, status: int, message: str, name: str, retry_after: int | None = None
) -> Response:
    """The error body every route answers with: JSON {detail, error}, Open311's list there,
    a page for a browser looking at a page."""
    if request.url.path.startswith("/open311/"):
        return open311_error(request.url.path, status, message, retry_after)
    if browser.wants_page(request):
        page = browser.error_page(request, status, message)
        if retry_after:
            page.headers["Retry-After"] = str(retry_after)
        return page
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"  # RFC 6750: a 401 says which scheme would work
    return JSONResponse({"detail": message, "error": name}, status, headers)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.GisGridError)
    return error_response(
        request, status_of(exc), said(exc), type(exc).__name__, retry_after_of(exc)
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    chinese = request.url.path.startswith(CHINESE_PATHS)
    for err in exc.errors():
        if chinese:
            problems.append(_validation_chinese(err))
            continue
        where = ".".join(str(p) for p in err["loc"] if p not in ("query", "body", "path"))
        got = f", got {_short(err['input'])}" if "input" in err and err["input"] is not None else ""
        problems.append(f"{where}: {err['msg']}{got}")
    if browser.wants_page(request):
        return browser.error_page(request, 422, "; ".join(problems))
    # The input is named, not echoed whole: a 4,000-character limit must not answer with 4 MB.
    listed = [
        {k: (_short(v) if k == "input" else v) for k, v in err.items() if k != "ctx"}
        | ({"ctx": {k: str(v) for k, v in err["ctx"].items()}} if "ctx" in err else {})
        for err in exc.errors()
    ]
    if request.url.path.startswith("/open311/"):
        return open311_error(request.url.path, 422, "; ".join(problems))
    return JSONResponse(
        {
            "detail": ("；" if chinese else "; ").join(problems),
            "error": "ValidationError",
            "errors": listed,
        },
        status_code=422,
    )


def _short(value: object, limit: int = 120) -> str:
    """repr() of a value, cut to `limit` characters with its full length said."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


async def _database_down(request: Request, exc: Exception) -> Response:
    # The server is fine but PostgreSQL is not answering (restarting, unreachable): a 503 the
    # client can act on. The driver's message names the database's address: logged, not sent.
    log.warning("database unavailable during %s %s: %s", request.method, request.url.path, exc)
    if isinstance(getattr(exc, "orig", exc), LockNotAvailable | QueryCanceled):
        # Waited longer than lock_timeout / statement_timeout allow: busy, not broken.
        return await _domain_error(
            request,
            errors.Overloaded(
                "the request took longer than this service allows (it waited for data another "
                "request was changing, or ran past the statement time limit); nothing was "
                "done, try again in a moment",
                retry_after=5,
            ),
        )
    return await _domain_error(
        request,
        errors.DatabaseUnavailable(
            "the database did not answer; nothing was done, try again in a few seconds"
        ),
    )


async def _overloaded(request: Request, exc: Exception) -> Response:
    # A pool with every connection taken for longer than the wait: busy, not broken.
    return await _domain_error(
        request,
        errors.Overloaded(
            "the service is at capacity (no database connection came free in time); "
            "nothing was done, try again in a moment",
            retry_after=2,
        ),
    )


async def _bad_value(request: Request, exc: Exception) -> Response:
    # A value PostgreSQL refused (out of range for its column type, a NUL byte in text...):
    # the input was bad, not the server. Each such input should be checked before the
    # database sees it; this is the net under those checks.
    orig = getattr(exc, "orig", exc)
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    log.warning(
        "value refused by the database in %s %s: %s", request.method, request.url.path, first
    )
    return error_response(
        request, 422, f"a value in the request was not accepted: {first[:200]}", "InvalidValue"
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    # Starlette's own refusals (no such route, wrong method): a page for people, JSON otherwise.
    assert isinstance(exc, StarletteHTTPException)
    if browser.wants_page(request):
        return browser.error_page(request, exc.status_code, None)
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(errors.GisGridError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sqlalchemy.exc.OperationalError, _database_down)
    app.add_exception_handler(psycopg.OperationalError, _database_down)
    app.add_exception_handler(sqlalchemy.exc.TimeoutError, _overloaded)
    app.add_exception_handler(PoolTimeout, _overloaded)
    app.add_exception_handler(TooManyRequests, _overloaded)
    app.add_exception_handler(sqlalchemy.exc.DataError, _bad_value)
    app.add_exception_handler(psycopg.DataError, _bad_value)
    app.add_exception_handler(RequestValidationError, _validation_error)


async def send_refusal(
    send: Any,
    path: str,
    status: int,
    error: str,
    said: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Answer from ASGI middleware, before any route: Open311's error list on Open311 paths, the
    service's `{"detail", "error"}` elsewhere (the shapes the exception handlers give)."""
    shaped: object = (
        [{"code": status, "description": said}]
        if path.startswith("/open311/")
        else {"detail": said, "error": error}
    )
    body = json.dumps(shaped).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
