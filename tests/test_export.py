"""The bulletin PNG: title, unit and date on top, the legend in the reader's language, a
metric scale and a source line, in a CJK font when the server has one."""

from __future__ import annotations

import io

import httpx
from PIL import Image

from maps import export
from maps.pages import SEQUENTIAL


def _has(img: Image.Image, box: tuple[int, int, int, int], rgb: tuple[int, int, int]) -> bool:
    colours = {c for _, c in (img.crop(box).getcolors(1 << 20) or [])}
    return rgb in colours


def test_the_bulletin_has_a_title_legend_scale_and_source(admin_http: httpx.Client) -> None:
    assert export.cjk_font_path() is not None  # ./run installs one; the image is Chinese
    r = admin_http.get("/maps/export.png", params={"unit": "441226", "width": 1200, "height": 900})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content)).convert("RGB")
    w, h = img.size
    unit = min(w, h) // 50
    assert _has(img, (0, 0, w // 2, unit * 5), (18, 53, 91))  # the title's dark blue
    legend = (w - max(220, unit * 13), unit * 5, w, h // 2)
    for c in SEQUENTIAL:  # every class of the measure in the legend
        assert _has(img, legend, export._hex(c)), c
    assert _has(img, legend, (201, 42, 42))  # the overdue case symbol
    assert _has(img, (0, h - unit * 3, w, h), (90, 90, 90))  # the source line
    # English on request, and a small image keeps everything on it (asked by a client of its
    # own: ?lang= is remembered in a cookie, which must not follow the shared client around).
    with httpx.Client(
        base_url=str(admin_http.base_url), headers=admin_http.headers, timeout=30
    ) as own:
        r = own.get(
            "/maps/export.png",
            params={"unit": "441226101", "width": 600, "height": 400, "lang": "en"},
        )
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (600, 400)


def test_round_scale_lengths() -> None:
    assert export._scale_length(7300) == 5000
    assert export._scale_length(1999) == 1000
    assert export._scale_length(260) == 200
