"""Static PNG of a map view for reports and bulletins, drawn with Pillow (no browser, no tiles)."""

from __future__ import annotations

import io
import math
from typing import Any

from PIL import Image, ImageDraw

from maps.pages import SEQUENTIAL, breaks_for


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


def render_png(
    bbox: list[float],
    grids: dict[str, Any],
    measure: str,
    *,
    outline: dict[str, Any] | None = None,
    reports: dict[str, Any] | None = None,
    width: int = 1200,
    height: int = 900,
) -> bytes:
    """Grids filled by `measure` (quantile classes), the outline and open cases, as PNG bytes."""
    legend_w = 170
    img = Image.new("RGB", (width, height), (244, 241, 234))
    draw = ImageDraw.Draw(img)
    x0, y0 = _mercator(bbox[0], bbox[1])
    x1, y1 = _mercator(bbox[2], bbox[3])
    pad = 20
    scale = min(
        (width - legend_w - 2 * pad) / max(x1 - x0, 1e-12), (height - 2 * pad) / max(y1 - y0, 1e-12)
    )

    def px(lon: float, lat: float) -> tuple[float, float]:
        mx, my = _mercator(lon, lat)
        return pad + (mx - x0) * scale, height - pad - (my - y0) * scale

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
                draw.polygon(pts, fill=colour(v), outline=(110, 110, 110))
    if outline:
        for ring in _rings(outline["geometry"]):
            draw.line([px(x, y) for x, y in ring], fill=(30, 30, 30), width=3)
    for f in (reports or {}).get("features", []):
        x, y = px(*f["geometry"]["coordinates"])
        late = f["properties"].get("overdue")
        fill = (201, 42, 42) if late else (240, 140, 0)
        draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=fill, outline=(255, 255, 255))
    lx = width - legend_w + 10
    draw.text((lx, 20), measure, fill=(0, 0, 0))
    labels = ["0"] + [f"<= {b:g}" for b in breaks] + [f"> {breaks[-1]:g}"]
    for i, (c, label) in enumerate(zip(SEQUENTIAL, labels, strict=True)):
        y = 44 + i * 22
        draw.rectangle([lx, y, lx + 20, y + 14], fill=_hex(c), outline=(100, 100, 100))
        draw.text((lx + 28, y + 1), label, fill=(0, 0, 0))
    y = 44 + len(SEQUENTIAL) * 22 + 10
    draw.ellipse([lx, y, lx + 10, y + 10], fill=(201, 42, 42))
    draw.text((lx + 16, y - 1), "overdue case", fill=(0, 0, 0))
    draw.ellipse([lx, y + 20, lx + 10, y + 30], fill=(240, 140, 0))
    draw.text((lx + 16, y + 19), "open case", fill=(0, 0, 0))
    draw.text((lx, height - 30), "gisgrid · GENERATED demo", fill=(90, 90, 90))
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
