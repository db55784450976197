"""The bulletin PNG (简报图): a unit's grids by a measure, with title, unit, date, legend, scale
and source line in the reader's language, drawn with Pillow (no browser, no tiles).

Chinese needs a CJK font on the server: the first of the usual system fonts found is used
(WenQuanYi Zen Hei, Noto Sans CJK, Droid Sans Fallback, Microsoft YaHei, PingFang, or
GISGRID_FONT / the `font` argument). Without one the image is drawn in English with Pillow's
own font, so it is never a page of boxes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont

from maps.i18n import t
from maps.pages import SEQUENTIAL, breaks_for

CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "/System/Library/Fonts/PingFang.ttc",
)
CN = ZoneInfo("Asia/Shanghai")
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def cjk_font_path(preferred: str | None = None) -> str | None:
    """The first CJK font file present (the preferred one first), or None."""
    for path in ((preferred,) if preferred else ()) + CJK_FONTS:
        if path and Path(path).is_file():
            return path
    return None


def _font(path: str | None, size: int) -> Font:
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    return math.radians(lon), math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _rings(geom: dict[str, Any]) -> list[list[list[float]]]:
    if geom["type"] == "Polygon":
        return list(geom["coordinates"])
    if geom["type"] == "MultiPolygon":
        return [ring for poly in geom["coordinates"] for ring in poly]
    return []


def _hex(c: str) -> tuple[int, int, int]:
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


def _number(v: float) -> str:
    return f"{v:g}"


def _scale_length(metres: float) -> float:
    """A round length (1, 2 or 5 times a power of ten) no longer than `metres`."""
    power = 10 ** math.floor(math.log10(metres))
    for step in (5, 2, 1):
        if step * power <= metres:
            return step * power
    return power


def render_png(
    bbox: list[float],
    grids: dict[str, Any],
    measure: str,
    *,
    outline: dict[str, Any] | None = None,
    reports: dict[str, Any] | None = None,
    width: int = 1200,
    height: int = 900,
    lang: str = "zh",
    unit_name: str = "",
    unit_code: str = "",
    generated: bool = False,
    when: dt.datetime | None = None,
    font: str | None = None,
) -> bytes:
    """Grids filled by `measure` (quantile classes), the outline and open cases, with title,
    unit, date, legend, metric scale and source line, as PNG bytes."""
    path = cjk_font_path(font)
    if path is None:
        lang = "en"  # no CJK font here: English rather than boxes
    when = (when or dt.datetime.now(dt.UTC)).astimezone(CN)
    unit = max(12, min(width, height) // 50)  # text size follows the image size
    title_f, text_f, small_f = (
        _font(path, unit * 2),
        _font(path, unit),
        _font(path, int(unit * 0.8)),
    )
    head_h, foot_h, legend_w = unit * 5, unit * 3, max(220, unit * 13)
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    map_box = (unit, head_h, width - legend_w - unit, height - foot_h)
    draw.rectangle(map_box, fill=(242, 239, 233))

    # Title: what, where and when, as a bulletin is captioned.
    stamp = (
        f"{when.year}年{when.month}月{when.day}日 {when:%H:%M}"
        if lang == "zh"
        else f"{when:%d %b %Y %H:%M}"
    )
    measure_name = t(lang, f"center.measure_{measure}")
    draw.text(
        (unit, unit * 0.8), t(lang, "export.title", unit=unit_name), font=title_f, fill=(18, 53, 91)
    )
    draw.text(
        (unit, unit * 3.2),
        t(lang, "export.subtitle", measure=measure_name, code=unit_code, time=stamp),
        font=text_f,
        fill=(60, 60, 60),
    )

    x0, y0 = _mercator(bbox[0], bbox[1])
    x1, y1 = _mercator(bbox[2], bbox[3])
    pad = unit
    mw, mh = map_box[2] - map_box[0] - 2 * pad, map_box[3] - map_box[1] - 2 * pad
    scale = min(mw / max(x1 - x0, 1e-12), mh / max(y1 - y0, 1e-12))
    ox = map_box[0] + pad + (mw - (x1 - x0) * scale) / 2
    oy = map_box[3] - pad - (mh - (y1 - y0) * scale) / 2

    def px(lon: float, lat: float) -> tuple[float, float]:
        mx, my = _mercator(lon, lat)
        return ox + (mx - x0) * scale, oy - (my - y0) * scale

    values = [f["properties"].get(measure) or 0 for f in grids["features"]]
    breaks = breaks_for(values, k=len(SEQUENTIAL) - 1)

    def colour(v: float) -> tuple[int, int, int]:
        if not v:
            return _hex(SEQUENTIAL[0])
        for i, b in enumerate(breaks):
            if v <= b:
                return _hex(SEQUENTIAL[i + 1])
        return _hex(SEQUENTIAL[-1])

    for f, v in zip(grids["features"], values, strict=True):
        for ring in _rings(f["geometry"]):
            pts = [px(x, y) for x, y in ring]
            if len(pts) >= 3:
                draw.polygon(pts, fill=colour(v), outline=(130, 130, 130))
    if outline:
        for ring in _rings(outline["geometry"]):
            draw.line([px(x, y) for x, y in ring], fill=(40, 40, 40), width=max(2, unit // 6))
    r = max(3, unit // 4)
    for f in (reports or {}).get("features", []):
        x, y = px(*f["geometry"]["coordinates"])
        late = f["properties"].get("overdue")
        fill = (201, 42, 42) if late else (240, 140, 0)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=fill, outline=(255, 255, 255))

    # Metric scale bar in the map's lower left: a round length at the map's middle latitude.
    mid_lat = (bbox[1] + bbox[3]) / 2
    metres_per_px = 6378137 * math.cos(math.radians(mid_lat)) / scale
    length = _scale_length(metres_per_px * mw / 4)
    bar = length / metres_per_px
    sx, sy = map_box[0] + pad, map_box[3] - pad
    draw.rectangle([sx, sy - unit * 0.4, sx + bar, sy], fill=(40, 40, 40))
    label = f"{_number(length / 1000)} km" if length >= 1000 else f"{_number(length)} m"
    draw.text((sx, sy - unit * 1.7), label, font=small_f, fill=(40, 40, 40))
    # North is up.
    nx, ny = map_box[2] - pad - unit, map_box[1] + pad
    draw.polygon(
        [(nx, ny), (nx - unit * 0.5, ny + unit * 1.2), (nx + unit * 0.5, ny + unit * 1.2)],
        fill=(40, 40, 40),
    )
    draw.text(
        (nx - unit * 0.4, ny + unit * 1.3), t(lang, "export.north"), font=small_f, fill=(40, 40, 40)
    )

    # Legend: the measure's classes, the case symbols, the outline.
    lx, ly = float(width - legend_w), float(head_h)
    draw.text((lx, ly), t(lang, "export.legend"), font=text_f, fill=(0, 0, 0))
    ly += unit * 1.8
    draw.text((lx, ly), measure_name, font=small_f, fill=(60, 60, 60))
    ly += unit * 1.5
    labels = (
        ["0"]
        + [f"≤ {_number(breaks[0])}"]
        + [f"{_number(breaks[i - 1])} – {_number(breaks[i])}" for i in range(1, len(breaks))]
        + [f"> {_number(breaks[-1])}"]
    )
    for c, text in zip(SEQUENTIAL, labels[: len(SEQUENTIAL)], strict=True):
        draw.rectangle([lx, ly, lx + unit * 1.6, ly + unit], fill=_hex(c), outline=(110, 110, 110))
        draw.text((lx + unit * 2.2, ly - unit * 0.1), text, font=small_f, fill=(0, 0, 0))
        ly += unit * 1.5
    ly += unit * 0.6
    for fill, key in (((201, 42, 42), "export.overdue"), ((240, 140, 0), "export.open")):
        draw.ellipse(
            [lx + unit * 0.4, ly + unit * 0.1, lx + unit * 1.2, ly + unit * 0.9], fill=fill
        )
        draw.text((lx + unit * 2.2, ly - unit * 0.1), t(lang, key), font=small_f, fill=(0, 0, 0))
        ly += unit * 1.5
    draw.line([lx, ly + unit * 0.5, lx + unit * 1.6, ly + unit * 0.5], fill=(40, 40, 40), width=3)
    draw.text(
        (lx + unit * 2.2, ly - unit * 0.1), t(lang, "export.outline"), font=small_f, fill=(0, 0, 0)
    )

    # Source line: where the figures come from and when, as a bulletin must say.
    source = t(lang, "export.source", time=stamp)
    if generated:
        source += " " + t(lang, "export.generated")
    draw.text((unit, height - foot_h + unit * 0.8), source, font=small_f, fill=(90, 90, 90))
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
