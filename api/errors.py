"""Domain errors -> HTTP status, in one table; validation errors that name the bad value.

The table is the only place a status is decided: JSON errors here, Open311's error list
(api/routers/open311.py renders the same status in the spec's format) and the status the
intake's audit entry records (`outcome_statuses`) all read it.
"""

import json
import logging
import re
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


# Who an account is, and what it asked to do (the core's `action` words), as people say them.
ROLE_WORDS = {
    "resident": "居民",
    "household_leader": "联户长",
    "grid_worker": "网格员",
    "grid_chief": "网格长",
    "village_operator": "村（社区）综治中心",
    "town_operator": "乡镇（街道）综治中心",
    "county_operator": "县综治中心",
    "department_handler": "职能部门",
    "planner": "规划员",
    "admin": "管理员",
}
ACTION_WORDS = {
    "drafting a redraw plan": "生成重划方案",
    "reading a redraw plan": "查看重划方案",
    "listing redraw plans": "查看重划方案列表",
    "discarding a redraw plan": "删除重划方案",
    "reading a redraw plan's blocks": "查看方案的地块",
    "editing a redraw plan": "编辑重划方案",
    "previewing a redraw plan's impact": "预览方案的影响",
    "publishing a redraw plan": "发布重划方案",
    "the planner map": "打开网格规划图",
    "importing boundaries": "导入网格边界",
    "the center map": "打开综治中心地图",
    "the worker map": "打开网格员地图",
    "exporting a map": "导出地图",
    "open reports": "查看未办结事件",
    "staff positions": "查看人员位置",
    "the wall's cases": "查看大屏事件",
    "the wall's figures": "查看大屏指标",
    "the wall's ranking": "查看大屏排名",
    "household points": "查看住户位置",
    "uploading patrol tracks": "上传巡查轨迹",
    "reading patrol coverage": "查看巡查覆盖",
    "patrol coverage": "查看巡查覆盖",
    "planning a patrol route": "规划巡查路线",
    "importing roads and key places": "导入道路和重点场所",
    "reading the audit log": "查看审计日志",
    "grids tiles": "查看网格瓦片",
    "households tiles": "查看住户瓦片",
    "reports tiles": "查看事件瓦片",
    "report tiles": "查看事件瓦片",
    "adding a photo to a report": "为事件添加照片",
    "finding the way along the roads": "沿道路查找路线",
    "revoking another account's tokens": "注销其他账号的登录令牌",
    "reading the household register": "查看住户登记",
    "reading households": "查看住户",
    "recording a household visit": "记录入户走访",
    "reading household visits": "查看入户走访记录",
    "the red and black lists (红黑榜)": "查看红黑榜",
    "the red and black lists": "查看红黑榜",
    "filing a patrol report (巡查上报)": "巡查上报",
    "the monthly bulletin (通报)": "查看月度通报",
    "the monthly bulletin": "查看月度通报",
    "scores by worker (names of staff)": "查看网格员考核得分",
    "scores by worker": "查看网格员考核得分",
    "reading a case file": "查看案卷",
    "reading who handles cases": "查看案件处理人",
    "listening to case events": "接收案件动态",
    "listing a department's cases": "查看部门案件",
    "whistling to a department (吹哨)": "吹哨（派往职能部门）",
    "seeing a household visit's photo": "查看入户走访照片",
}


def _action(p: dict[str, Any]) -> str:
    action = str(p.get("action"))
    if action in ACTION_WORDS:
        return ACTION_WORDS[action]
    # A case's step is named "accept (受理)"; a case "report 12" (gisgrid.reports.cases).
    step = re.fullmatch(r"[a-z_]+ \((.+)\)", action)
    if step:
        return f"案件操作“{step.group(1)}”"
    case = re.fullmatch(r"report (\d+)", action)
    if case:
        return f"查看事件 {case.group(1)}"
    return "此操作"


def _roles(roles: Any) -> str:
    return "、".join(ROLE_WORDS.get(str(r), str(r)) for r in roles)


def _feature(p: dict[str, Any]) -> str:
    f = p.get("feature") or {}
    return str(f.get("code") or f"第 {int(f.get('index', 0)) + 1} 个要素")


def _codes(p: dict[str, Any]) -> str:
    return "、".join(str(f.get("code")) for f in p.get("features") or [])


def _m2(v: Any) -> str:
    return f"{float(v or 0):,.0f}"


# The boundaries checks' problems (gisgrid.boundaries.check), by kind, as a planner reads them
# when a publish is refused; each filled by problem_words from the values the check recorded.
PROBLEM_WORDS: dict[str, str] = {
    "county_not_loaded": "县 {county} 不在数据库中",
    "missing_code": "{feature}没有编码",
    "bad_code": "编码 {feature} 的位数或字符不符合该层级的编码",
    "duplicate_code": "多个要素使用同一编码（{codes}）",
    "code_not_under_parent": "编码 {feature} 不在上级 {parent} 之下",
    "unknown_parent": "编码 {feature} 的上级 {parent} 不在数据库中",
    "name_has_markup": "{feature} 的名称含有标记或控制字符",
    "name_too_long": "{feature} 的名称太长",
    "crs_conflict": "文件声明的坐标系与所给坐标系不一致",
    "crs_missing": "文件没有声明坐标系",
    "crs_assumed": "文件没有声明坐标系，已按经纬度读取",
    "crs_does_not_fit_county": "文件的坐标系与本县所在位置不符",
    "unreadable_geometry": "{feature} 的边界无法读取",
    "empty_geometry": "{feature} 没有边界",
    "wrong_geometry_type": "{feature} 是 {geometry_type}，不是面",
    "coordinates_swapped": "{feature} 的经度与纬度似乎颠倒",
    "coordinates_out_of_range": "{feature} 的坐标超出经纬度范围",
    "invalid_geometry": "{feature} 不是有效的多边形（自相交或环有误）",
    "outside_county": "有要素位于本县之外（{codes}）",
    "sliver": "{feature} 是狭长碎片（{area} 平方米）",
    "overlap": "网格 {codes} 相互重叠 {area} 平方米",
    "not_inside_parent": (
        "网格 {feature} 有 {area_outside} 平方米（{share_outside:.1%}）超出所属村（社区）{parent}"
    ),
    "gap": "村（社区）{parent} 有 {area} 平方米不属于任何网格{near}",
}


def problem_words(p: dict[str, Any]) -> str:
    """One problem of the boundaries checks in Chinese ("边界有误" for a kind without words)."""
    text = PROBLEM_WORDS.get(str(p.get("problem")))
    if text is None:
        return "边界有误"
    return text.format(
        county=p.get("county"),
        parent=p.get("parent"),
        geometry_type=p.get("geometry_type"),
        feature=_feature(p),
        codes=_codes(p),
        area=_m2(p.get("area_m2")),
        area_outside=_m2(p.get("area_outside_m2")),
        share_outside=float(p.get("share_outside") or 0),
        near=f"（邻近 {_codes(p)}）" if p.get("features") else "",
    )


def _fails_checks(p: dict[str, Any]) -> str:
    said = "；".join(problem_words(q) for q in p.get("problems") or [])
    more = p["errors"] - len(p.get("problems") or [])
    return f"草案未通过边界检查，共 {p['errors']} 处错误，未写入任何数据：{said}" + (
        f"；另有 {more} 处" if more > 0 else ""
    )


CHINESE: dict[str, str | Callable[[dict[str, Any]], str]] = {
    "auth.sign_in": lambda p: (
        f"{_action(p)}需要先登录：请到登录页登录，或用 POST /api/v1/auth/token 取得令牌"
        "（请求头 Authorization: Bearer <令牌>）"
    ),
    "auth.role": lambda p: (
        f"{_action(p)}需要{_roles(p.get('allowed') or [])}的账号；"
        f"当前账号是{ROLE_WORDS.get(str(p.get('role')), str(p.get('role')))}"
    ),
    "auth.scope": lambda p: (
        f"{_action(p)}超出本账号的管辖范围：{p.get('code')} 不在 {p.get('scope') or '（无）'} 之内"
    ),
    "auth.token_unknown": "登录令牌无效或已注销：请重新登录",
    "auth.token_expired": "登录已于 {expired} 过期：请重新登录",
    "auth.disabled": "账号 {username} 已停用：请联系管理员",
    "auth.staff_scope": lambda p: (
        f"{_action(p)}：人员 {'、'.join(str(s) for s in p.get('staff') or [])} "
        f"不在本账号管辖范围 {p.get('scope') or '（全部）'} 内的任何网格"
    ),
    "boundaries.outside_scope": (
        "{n} 个要素超出本账号的管辖范围 {scope}（例如 {examples}）：请用管辖范围覆盖它们的账号导入"
    ),
    "auth.wrong_password": "用户名或密码错误",
    "residents.form_off": "本服务已停用居民网上报事：请拨打热线电话，或联系您的网格员",
    "receipt.mismatch": "这不是事件 {report} 提交时的回执：请用提交该事件的手机操作",
    "case.private_only": "事件 {report} 属于{triage}：联户长只参与自家事",
    "case.close_own_feedback": "事件 {report} 是本账号反馈的：须由另一名操作员核查结案",
    "case.cancel_past_check": "事件 {report} 已过现场核实阶段：须由综治中心操作员取消",
    "department.other": "本账号属于部门 {mine}，不是 {code}：部门只能查看派给本部门的案件",
    "plan.no_villages": "{unit} 下没有带边界的村（社区），无法重划",
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
    "plan.fails_checks": _fails_checks,
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


# A plan's steps (gisgrid.redraw.plans.STEPS), the failures that are no refusal of the core's
# (a crash, a worker gone, a worker silent) and villages' notes (plans.NOTES), by their keys.
PLAN_WORDS: dict[str, str] = {
    "plan.crashed": (
        "计算出错（{kind}），未生成草案：请重新运行；仍然出错请联系管理员（原文已记入日志）"
    ),
    "plan.died": "计算进程意外退出，未生成草案：请重新运行",
    "plan.stalled": "计算进程已超过 10 分钟没有报告进度，视为中断：请重新运行",
    "plan.step_reading": "读取村（社区）",
    "plan.step_blocks": "切分地块",
    "plan.step_drawing": "划分 {villages} 个村（社区）",
    "plan.step_village": "第 {i}/{n} 个村（社区）：{code}",
    "plan.step_writing": "保存草案",
    "note.below_min": "{households} 户，少于每格最少 {lo} 户：全村一个网格",
    "note.no_fit": "{households} 户无法分成每格 {lo}-{hi} 户的整数个网格：取最接近区间的 {k} 个",
    "note.pieces": "村内有 {pieces} 块互不相连的区域：各自划分网格",
    "note.not_optimal": "为求得的最好方案，未证明最优",
}


# Refusals with a reason in the table are said in Chinese on every route; a caller who chose
# English (?lang=en or the language cookie, as the pages do) reads the core's own words, except
# on the plans API and the planner's page, which speak Chinese only.
CHINESE_ONLY_PATHS = ("/api/v1/plans", "/maps/planner")


def said(error: errors.GisGridError, path: str | None = None, lang: str = "zh") -> str:
    """The words a person reads for a domain error: Chinese by its reason, else its message.

    `path` is the request's (None: the command line, which says every reason in Chinese)."""
    reason = error.reason or ""
    if lang != "zh" and not (path or "").startswith(CHINESE_ONLY_PATHS):
        return str(error)
    return words(reason, error.params) or str(error)


def words(reason: str, params: Any) -> str | None:
    """The Chinese for a reason and its values (None when the table has none)."""
    text = CHINESE.get(reason) or PLAN_WORDS.get(reason)
    if text is None:
        return None
    values: dict[str, Any] = dict(params or {})
    status = values.get("status")
    if isinstance(status, str):
        values["status"] = STATUS_WORDS.get(status, status)
    return text(values) if callable(text) else text.format(**values)


def plan_words(plan: dict[str, Any]) -> dict[str, Any]:
    """A plan (or a row of the list) with its `message` and `error` in Chinese."""
    status = plan.get("status")
    totals = (plan.get("summary") or {}).get("totals") or plan.get("totals") or {}
    if status == "queued":
        message = "已提交，排队计算"
    elif status == "running":
        message = f"计算中 {float(plan.get('progress') or 0):.0%}"
    elif status in ("ready", "published") and totals.get("grids"):
        share = totals.get("share_in_band")
        message = (
            f"{totals['grids']} 个网格，可行网格在区间内 "
            f"{'-' if share is None else f'{share:.1%}'}，平均紧凑度 "
            f"{float(totals.get('mean_polsby_popper') or 0):.3f}，"
            f"{int(totals.get('households_moved') or 0):,} 户变更网格"
        )
        if status == "published":
            gen = plan.get("published_generation_id")
            message += f"；已发布为网格版本 {gen}" if gen else "；已发布"
    else:
        message = STATUS_WORDS.get(str(status), str(status))
    error = plan.get("error")
    failure = plan.get("failure")
    if status == "failed":
        error = (words(failure["reason"], failure.get("params")) if failure else None) or (
            "计算失败，未生成草案：请重新运行"
        )
    # The core's own words stay beside, for whoever reads logs (the page shows `error`).
    return plan | {"message": message, "error": error, "error_detail": plan.get("error")}


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
        request,
        status_of(exc),
        said(exc, request.url.path, browser.request_lang(request)),
        type(exc).__name__,
        retry_after_of(exc),
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
