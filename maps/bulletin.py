"""The monthly bulletin (通报) as people read it: a printable A4 page in Chinese and a PNG map.

Data in (gisgrid.reports.bulletin.monthly_bulletin's dict), HTML or PNG out; no SQL, nothing
from the internet: the map is drawn with Pillow and embedded in the page, fonts are the system's
(a CJK font such as WenQuanYi Zen Hei, which `./run test` installs; without one Chinese labels
would draw as boxes, so the PNG says which font it used in its metadata).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

CN = ZoneInfo("Asia/Shanghai")
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
# On-time closure rate classes (按期结案率), worst to best, and "nothing fell due".
CLASSES = (
    (0.60, "#d7301f", "低于60%"),
    (0.70, "#fc8d59", "60%-70%"),
    (0.80, "#fee08b", "70%-80%"),
    (0.90, "#91cf60", "80%-90%"),
    (1.01, "#1a9850", "90%及以上"),
)
NO_CASES = "#d9d9d9"
RED, BLACK = (200, 16, 46), (20, 20, 20)


def cjk_font_path() -> str | None:
    """The first CJK font found on this system, or None."""
    return next((p for p in FONT_CANDIDATES if Path(p).is_file()), None)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = cjk_font_path()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default()


def pct(rate: float | None) -> str:
    """0.7582 -> '75.82%'; no cases -> '—'."""
    return "—" if rate is None else f"{rate * 100:.2f}%"


def hours(h: float | None) -> str:
    """Mean working hours as printed."""
    return "—" if h is None else f"{h:.1f}"


def _hex(c: str) -> tuple[int, int, int]:
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


def class_colour(rate: float | None, due: int) -> str:
    """The fill of a unit by its on-time closure rate."""
    if not due or rate is None:
        return NO_CASES
    return next(c for limit, c, _ in CLASSES if rate < limit)


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    return math.radians(lon), math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _rings(geom: dict[str, Any] | None) -> list[list[list[float]]]:
    if not geom:
        return []
    if geom["type"] == "Polygon":
        return list(geom["coordinates"])
    if geom["type"] == "MultiPolygon":
        return [ring for poly in geom["coordinates"] for ring in poly]
    return []


def _polys(geom: dict[str, Any] | None) -> list[list[list[list[float]]]]:
    if not geom:
        return []
    if geom["type"] == "Polygon":
        return [geom["coordinates"]]
    if geom["type"] == "MultiPolygon":
        return list(geom["coordinates"])
    return []


def render_png(b: dict[str, Any], width: int = 1600, height: int = 1130) -> bytes:
    """The bulletin's map: children filled by on-time closure rate, red and black lists marked,
    names and rates in Chinese, a legend, the month and the unit."""
    m = b["map"]
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    title_font, label_font, small = _font(34), _font(19), _font(20)
    legend_w, top, pad = 330, 80, 24
    draw.text(
        (pad, 22),
        f"{b['unit']['name']} {b['issue']} 各{b['children_label']}按期结案率",
        fill=(0, 0, 0),
        font=title_font,
    )
    bbox = m.get("bbox")
    if bbox:
        x0, y0 = _mercator(bbox[0], bbox[1])
        x1, y1 = _mercator(bbox[2], bbox[3])
        avail_w, avail_h = width - legend_w - 2 * pad, height - top - 2 * pad
        scale = min(avail_w / max(x1 - x0, 1e-12), avail_h / max(y1 - y0, 1e-12))
        ox = pad + (avail_w - (x1 - x0) * scale) / 2
        oy = top + pad + (avail_h - (y1 - y0) * scale) / 2

        def px(lon: float, lat: float) -> tuple[float, float]:
            mx, my = _mercator(lon, lat)
            return ox + (mx - x0) * scale, oy + (y1 - my) * scale

        feats = m["children"]["features"]
        for f in feats:
            p = f["properties"]
            fill = _hex(class_colour(p["on_time_rate"], p["due"]))
            for poly in _polys(f["geometry"]):
                draw.polygon([px(x, y) for x, y in poly[0]], fill=fill, outline=(120, 120, 120))
                for hole in poly[1:]:
                    draw.polygon([px(x, y) for x, y in hole], fill=(255, 255, 255))
        if m.get("outline"):
            for ring in _rings(m["outline"]["geometry"]):
                draw.line([px(x, y) for x, y in ring], fill=(40, 40, 40), width=3)
        # List marks over the fills and the outline, so nothing covers them.
        for f in feats:
            mark = f["properties"]["list"]
            if mark:
                for ring in _rings(f["geometry"]):
                    draw.line(
                        [px(x, y) for x, y in ring],
                        fill=RED if mark == "red" else BLACK,
                        width=6,
                        joint="curve",
                    )
        if len(feats) <= 60:  # names stay readable up to a town's villages
            for f in feats:
                p = f["properties"]
                x, y = px(*p["label_point"])
                text = f"{p['name']}\n{pct(p['on_time_rate'])}"
                draw.multiline_text(
                    (x, y),
                    text,
                    fill=(0, 0, 0),
                    font=label_font,
                    anchor="mm",
                    align="center",
                    stroke_width=3,
                    stroke_fill=(255, 255, 255),
                )
    # Legend.
    lx, ly = width - legend_w + 10, top + 20
    draw.text((lx, ly), "按期结案率", fill=(0, 0, 0), font=_font(24))
    ly += 44
    for _, colour, label in reversed(CLASSES):
        draw.rectangle([lx, ly, lx + 36, ly + 24], fill=_hex(colour), outline=(110, 110, 110))
        draw.text((lx + 48, ly), label, fill=(0, 0, 0), font=small)
        ly += 36
    draw.rectangle([lx, ly, lx + 36, ly + 24], fill=_hex(NO_CASES), outline=(110, 110, 110))
    draw.text((lx + 48, ly), "本月无到期案件", fill=(0, 0, 0), font=small)
    ly += 52
    draw.rectangle([lx, ly, lx + 36, ly + 24], outline=RED, width=5)
    draw.text((lx + 48, ly), "红榜（前列）", fill=(0, 0, 0), font=small)
    ly += 36
    draw.rectangle([lx, ly, lx + 36, ly + 24], outline=BLACK, width=5)
    draw.text((lx + 48, ly), "黑榜（后列）", fill=(0, 0, 0), font=small)
    ly += 60
    u = b["unit"]
    for line in (
        f"到期案件 {u['due']} 件",
        f"结案率 {pct(u['closure_rate'])}",
        f"按期结案率 {pct(u['on_time_rate'])}",
        f"解决率 {pct(u['solved_rate'])}",
        f"满意率 {pct(u['satisfaction'])}",
    ):
        draw.text((lx, ly), line, fill=(0, 0, 0), font=small)
        ly += 32
    foot = "gisgrid 生成" + ("；演示数据（系统生成，非真实案件）" if b.get("generated") else "")
    draw.text((pad, height - 36), foot, fill=(90, 90, 90), font=_font(18))
    meta = PngInfo()
    meta.add_text("Title", b["title"])
    meta.add_text("Font", cjk_font_path() or "default (no CJK font found)")
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True, pnginfo=meta)
    return out.getvalue()


# The definitions as a staff member reads them (the core keeps the English ones for the API).
DEFINITIONS_ZH = (
    ("到期案件", "本月内达到办理时限的案件；重复反映（并案）和不予立案的不计。"),
    ("结案率", "到期案件中，本月底前核查结案的比例。"),
    ("按期结案率", "到期案件中，在办理时限内结案的比例。"),
    (
        "解决率",
        "到期案件中，以“已解决”结案的比例；部分解决、无法解决、联系不上反映人的，"
        "计为结案但不计为解决。",
    ),  # fmt: skip
    ("满意率", "有评价的案件中，最近一次评价（群众评价或回访）为满意的比例。"),
    ("重开率", "曾经结案的案件中，因不满意而重新办理的比例。"),
    ("平均办理时长", "已结案件从派遣到结案的工作小时数的平均值（按本县工作日历，扣除节假日）。"),
    ("超期未结", "到期案件中，到本月底仍未结案的件数。"),
    (
        "按时报到率、按时反馈率",
        "吹哨到职能部门的案件中，部门在报到时限内受理、在反馈时限内反馈的比例。",
    ),  # fmt: skip
)

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}（{issue}）</title>
<style>
@page {{ size: A4; margin: 16mm 15mm 18mm 15mm; }}
* {{ box-sizing: border-box; }}
body {{ font-family: "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Source Han Sans SC",
        "Microsoft YaHei", "PingFang SC", "SimSun", sans-serif;
        font-size: 10.5pt; line-height: 1.55; color: #111; margin: 0 auto; max-width: 180mm; }}
h1 {{ font-size: 20pt; text-align: center; color: #b5121b; margin: 4mm 0 1mm;
      letter-spacing: 1pt; }}
.issue {{ text-align: center; margin: 0 0 2mm; }}
.rule {{ border-top: 2px solid #b5121b; margin: 2mm 0 4mm; }}
h2 {{ font-size: 13pt; margin: 5mm 0 2mm; }}
p {{ margin: 1.5mm 0; text-indent: 2em; }}
table {{ width: 100%; border-collapse: collapse; font-size: 9pt; margin: 2mm 0;
         page-break-inside: auto; }}
th, td {{ border: 1px solid #888; padding: 1mm 1.5mm; text-align: center; }}
th {{ background: #f1e3e3; }}
td.name {{ text-align: left; }}
tr {{ page-break-inside: avoid; }}
.lists {{ display: grid; grid-template-columns: 1fr 1fr; gap: 3mm; }}
.red h3 {{ color: #b5121b; }} .black h3 {{ color: #111; }}
h3 {{ font-size: 11pt; margin: 2mm 0 1mm; }}
.map {{ width: 100%; border: 1px solid #aaa; page-break-inside: avoid; }}
.note {{ font-size: 9pt; color: #444; text-indent: 0; }}
dl {{ font-size: 9pt; margin: 0; }} dt {{ font-weight: bold; float: left; clear: left;
  width: 30mm; }} dd {{ margin: 0 0 1mm 31mm; }}
.generated {{ border: 1px dashed #b5121b; padding: 1.5mm; color: #b5121b; font-size: 9pt;
              text-indent: 0; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="issue">{issue}　{issuer}　{made}</p>
<div class="rule"></div>
{generated}
<h2>一、总体情况</h2>
{summary}
{summary_table}
<h2>二、三事分流</h2>
{triage}
<h2>三、各{children_label}办理情况</h2>
{children}
<h2>四、职能部门办理情况（吹哨报到）</h2>
{departments}
<h2>五、红黑榜</h2>
{lists}
<h2>六、{children_label}按期结案率分布图</h2>
<img class="map" alt="{children_label}按期结案率分布图" src="data:image/png;base64,{png}">
<h2>七、指标说明</h2>
<dl>{definitions}</dl>
</body>
</html>
"""


def _e(v: Any) -> str:
    return html.escape(str(v))


def _summary(b: dict[str, Any]) -> str:
    u = b["unit"]
    span = "本月" if b["complete"] else "本月截至目前"
    return (
        f"<p>{span}，{_e(u['name'])}到期案件 {u['due']} 件，已办结 {u['closed']} 件，结案率 "
        f"{pct(u['closure_rate'])}；按期办结 {u['on_time']} 件，按期结案率 "
        f"{pct(u['on_time_rate'])}；以“已解决”结案 {u['solved']} 件，解决率 "
        f"{pct(u['solved_rate'])}。群众评价 {u['evaluated']} 件，满意率 {pct(u['satisfaction'])}；"
        f"因不满意重新办理 {u['reopened']} 件，重开率 {pct(u['reopen_rate'])}。"
        f"平均办理时长 {hours(u['mean_hours'])} 个工作小时，超期未结 {u['overdue']} 件。</p>"
    )


SCORE_HEAD = (
    "<tr><th>排名</th><th>{who}</th><th>到期</th><th>办结</th><th>结案率</th><th>按期结案率</th>"
    "<th>解决率</th><th>满意率</th><th>重开率</th><th>平均时长<br>(工作小时)</th><th>超期未结</th></tr>"
)


def _score_row(r: dict[str, Any], rank: Any) -> str:
    return (
        f"<tr><td>{_e(rank)}</td><td class='name'>{_e(r['name'])}</td><td>{r['due']}</td>"
        f"<td>{r['closed']}</td><td>{pct(r['closure_rate'])}</td>"
        f"<td>{pct(r['on_time_rate'])}</td><td>{pct(r['solved_rate'])}</td>"
        f"<td>{pct(r['satisfaction'])}</td><td>{pct(r['reopen_rate'])}</td>"
        f"<td>{hours(r['mean_hours'])}</td><td>{r['overdue']}</td></tr>"
    )


def _children(b: dict[str, Any]) -> str:
    rows = "".join(_score_row(c, c["rank"] if c["due"] else "—") for c in b["children"])
    if not rows:
        return "<p>无下级单位。</p>"
    return f"<table>{SCORE_HEAD.format(who=_e(b['children_label']))}{rows}</table>"


def _departments(b: dict[str, Any]) -> str:
    if not b["departments"]:
        return "<p>本月到期案件中没有吹哨到职能部门的。</p>"
    head = (
        "<tr><th>排名</th><th>职能部门</th><th>吹哨件数</th><th>按时报到率</th>"
        "<th>按时反馈率</th><th>办结</th><th>结案率</th><th>按期结案率</th><th>解决率</th>"
        "<th>满意率</th><th>重开率</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{d['rank']}</td><td class='name'>{_e(d['name'])}</td><td>{d['whistled']}</td>"
        f"<td>{pct(d['responded_on_time_rate'])}</td><td>{pct(d['fed_back_on_time_rate'])}</td>"
        f"<td>{d['closed']}</td><td>{pct(d['closure_rate'])}</td><td>{pct(d['on_time_rate'])}</td>"
        f"<td>{pct(d['solved_rate'])}</td><td>{pct(d['satisfaction'])}</td>"
        f"<td>{pct(d['reopen_rate'])}</td></tr>"
        for d in b["departments"]
    )
    return f"<table>{head}{rows}</table>"


def _triage(b: dict[str, Any]) -> str:
    t = b["unit"].get("triage") or {"private": 0, "collective": 0, "public": 0, "total": 0}
    return (
        f"<p>本月受理案件 {t['total']} 件，其中自家事 {t['private']} 件（由群众自己解决，网格员"
        f"协调）、大家事 {t['collective']} 件（村民议事协商解决）、公家事 {t['public']} 件"
        "（由政府及职能部门办理）。</p>"
    )


def _lists(b: dict[str, Any]) -> str:
    parts = []
    for lists in b["red_black"].values():
        rule = lists["rule"]
        blocks = []
        for kind, name in (("red", "红榜"), ("black", "黑榜")):
            entries = "".join(
                f"<tr><td>{e['place']}</td><td class='name'>{_e(e['name'])}</td>"
                f"<td>{pct(e['value']) if rule['measure'] != 'mean_hours' else hours(e['value'])}"
                f"</td><td>{e['due']}</td></tr>"
                for e in lists[kind]
            )
            body = (
                f"<table><tr><th>名次</th><th>名称</th><th>{_e(rule['label'])}</th>"
                f"<th>到期</th></tr>{entries}</table>"
                if entries
                else "<p class='note'>无</p>"
            )
            blocks.append(f"<div class='{kind}'><h3>{_e(lists['label'])}{name}</h3>{body}</div>")
        parts.append(
            f"<div class='lists'>{''.join(blocks)}</div>"
            f"<p class='note'>按{_e(rule['label'])}排名，到期案件不少于 {rule['min_cases']} "
            f"件的参与排名（{lists['ranked']} 个参与，{lists['too_few_cases']} 个案件过少"
            "未排名）。</p>"
        )
    return "".join(parts) or "<p>本级不设红黑榜。</p>"


def render_html(b: dict[str, Any], png: bytes) -> str:
    """The bulletin as a printable A4 page (Chinese), its map embedded: one self-contained file."""
    u = b["unit"]
    summary_table = (
        f"<table>{SCORE_HEAD.format(who='单位')}{_score_row(u, '—')}</table>"
    )  # fmt: skip
    made = dt.datetime.now(CN).strftime("%Y年%m月%d日")
    return PAGE.format(
        title=_e(b["title"]),
        issue=_e(b["issue"]),
        issuer=_e(f"{u['name']}综治中心"),
        made=f"{made}印发",
        generated=(
            "<p class='generated'>说明：本期演示数据为系统生成，非真实案件，"
            "仅用于展示通报格式。</p>"
            if b.get("generated")
            else ""
        ),
        summary=_summary(b),
        summary_table=summary_table,
        triage=_triage(b),
        children_label=_e(b["children_label"]),
        children=_children(b),
        departments=_departments(b),
        lists=_lists(b),
        png=base64.b64encode(png).decode(),
        definitions="".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in DEFINITIONS_ZH),
    )
