"""Map pages built with folium: the center's wall, the grid worker's phone map, the planner's map.

Data comes in as plain dicts (from gisgrid.mapdata via the API); nothing here runs SQL. Every
script and stylesheet points at gisgrid's own /static, never a CDN, so pages work on networks
cut off from the internet. Live behaviour (polling, offline fallback) is in static/gisgrid/*.js.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import folium
from branca.element import Element, Figure, MacroElement
from folium.plugins import HeatMap, VectorGridProtobuf
from jinja2 import Template

from maps import offline
from maps.i18n import DEFAULT_LANG, HTML_LANG, strings

STATIC = "/static"
LEAFLET_JS = [("leaflet", f"{STATIC}/vendor/leaflet-1.9.4/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", f"{STATIC}/vendor/leaflet-1.9.4/leaflet.css")]
HEAT_JS = [("leaflet-heat.js", f"{STATIC}/vendor/leaflet.heat-0.2.0/leaflet-heat.js")]
VECTORGRID_JS = [
    ("vectorGrid", f"{STATIC}/vendor/leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js")
]
GISGRID_JS = f"{STATIC}/gisgrid/gisgrid.js"
BASE_JS = f"{STATIC}/gisgrid/base.js"
GISGRID_CSS = f"{STATIC}/gisgrid/gisgrid.css"
BASE_CSS = f"{STATIC}/gisgrid/base.css"

# Sequential (few -> many) and diverging (too few <- balanced -> too many) colour ramps.
SEQUENTIAL = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"]
DIVERGING = ["#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b"]
BALANCE_BREAKS = [0.6, 0.85, 1.15, 1.4]

# Above this many grids a page loads grids as vector tiles instead of one GeoJSON document.
GRID_GEOJSON_MAX = 3000
# Above this many households a worker page loads them as vector tiles.
HOUSEHOLD_GEOJSON_MAX = 5000


@dataclass
class Basemap:
    """The service's own basemap (vector tiles, place names) and an optional external one.

    `url` is an external raster template (GISGRID_BASEMAP_URL, e.g. an intranet Tianditu node)
    with its datum and attribution; when set it is shown first and the service's own basemap
    is one click away in the layer list.
    """

    url: str | None = None
    datum: str = "wgs84"
    attribution: str = ""
    own_tiles: str | None = None  # /tiles/basemap/{z}/{x}/{y}.mvt?v=<version>
    labels: str | None = None  # /maps/data/labels?v=<version>
    search: str | None = "/api/v1/search"


@dataclass
class PageData:
    """Everything a page needs, fetched by the API from the core."""

    title: str
    bbox: list[float]
    outline: dict[str, Any] | None = None
    grids: dict[str, Any] | None = None
    reports: dict[str, Any] | None = None
    staff: dict[str, Any] | None = None
    ranking: list[dict[str, Any]] = field(default_factory=list)
    households: dict[str, Any] | None = None
    generations: list[dict[str, Any]] = field(default_factory=list)
    generation_id: int | None = None
    measures: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    balance: dict[str, Any] | None = None
    grid_count: int = 0
    household_count: int = 0
    force_tiles: bool = False
    snapshot: bool = False
    # Road segments of the grid nobody patrolled recently (patrol coverage), as GeoJSON lines.
    unpatrolled: dict[str, Any] | None = None
    # When the server read the data (ISO 8601): an offline copy says how old it is.
    fetched_at: str | None = None
    # The page's language (maps/i18n.py) and unit: search looks there first.
    lang: str = DEFAULT_LANG
    unit: str | None = None


def breaks_for(values: list[float], k: int = 5) -> list[float]:
    """k-1 class breaks at quantiles of the non-zero values (zero keeps the lightest colour)."""
    nz = sorted(v for v in values if v and v > 0)
    if not nz:
        return [1.0] * (k - 1)
    out = []
    for i in range(1, k):
        out.append(float(nz[min(len(nz) - 1, int(len(nz) * i / k))]))
    # Strictly increasing so every class in the legend means something.
    for i in range(1, len(out)):
        if out[i] <= out[i - 1]:
            out[i] = out[i - 1] + (1 if out[i - 1] >= 1 else 0.01)
    return [round(b, 2) for b in out]


def _base_map(data: PageData, basemap: Basemap, *, phone: bool = False) -> folium.Map:
    """A folium map with local assets only, fitted to the bbox, with the shared base: the
    service's own basemap and place names, a metric scale bar and the search box (base.js)."""
    m = folium.Map(
        tiles=None,
        control_scale=False,  # base.js adds a metric-only one
        prefer_canvas=True,
        zoom_control=not phone,
        min_zoom=5,
        max_zoom=19,
    )
    # Instance lists, not the class's: folium's add_js_link would mutate the shared default.
    m.default_js = list(LEAFLET_JS) + list(VECTORGRID_JS)
    m.default_css = list(LEAFLET_CSS)
    minx, miny, maxx, maxy = data.bbox
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    if basemap.url:
        m.add_child(_BasemapPane())
        folium.TileLayer(
            basemap.url,
            attr=basemap.attribution or "basemap",
            name="Basemap",
            overlay=False,
            control=True,
            pane="basemap",
        ).add_to(m)
    figure = _fig(m)
    figure.header.add_child(
        Element(
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            # An empty icon: otherwise the browser asks for /favicon.ico on every page.
            '<link rel="icon" href="data:,">'
            f'<link rel="stylesheet" href="{GISGRID_CSS}">'
            f'<link rel="stylesheet" href="{BASE_CSS}">'
            f"<title>{_esc(data.title)}</title>"
        ),
        name="gisgrid_head",
    )
    base = {
        "map": m.get_name(),
        "tiles": basemap.own_tiles,
        "labels": basemap.labels,
        "external": bool(basemap.url),
        "search": None if data.snapshot else basemap.search,
        "unit": data.unit,
        "bbox": data.bbox,
        "lang": data.lang,
        "strings": strings(data.lang, ("map",)),
    }
    figure.html.add_child(
        Element(
            f'<script id="gisgrid-base" type="application/json">{_json(base)}</script>'
            f'<script src="{BASE_JS}"></script>'
        ),
        name="gisgrid_base",
    )
    return m


def _render(m: folium.Map, lang: str) -> str:
    """The page's HTML, its <html lang> set to the page's language (fonts, screen readers)."""
    html = _fig(m).render()
    return html.replace("<html>", f'<html lang="{HTML_LANG.get(lang, "zh-CN")}">', 1)


def _json(value: Any) -> str:
    """JSON for a script tag: "</" is escaped so data cannot close the tag."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


class _BasemapPane(MacroElement):
    """A map pane under the overlays that gisgrid.js can shift for a GCJ-02 basemap."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.createPane('basemap');
        {{ this._parent.get_name() }}.getPane('basemap').style.zIndex = 150;
        {% endmacro %}"""
    )


def _fig(m: folium.Map) -> Figure:
    root = m.get_root()
    assert isinstance(root, Figure)
    return root


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _outline_layer(outline: dict[str, Any]) -> folium.GeoJson:
    return folium.GeoJson(
        outline,
        name="Outline",
        style_function=lambda f: {"color": "#222", "weight": 3, "fill": False},
        interactive=False,
    )


def _grids_layer(fc: dict[str, Any], name: str, fields: list[str], aliases: list[str]) -> Any:
    # Plain style here; gisgrid.js colours by the chosen measure and restyles on refresh.
    return folium.GeoJson(
        fc,
        name=name,
        style_function=lambda f: {
            "color": "#555",
            "weight": 0.6,
            "fillColor": "#eee",
            "fillOpacity": 0.75,
        },
        highlight_function=lambda f: {"weight": 2.5, "color": "#000"},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True),
        zoom_on_click=False,
    )


def _grid_tiles_layer(url: str, name: str) -> VectorGridProtobuf:
    layer = VectorGridProtobuf(
        url,
        name=name,
        options={
            "vectorTileLayerStyles": {
                "grids": {"weight": 0.6, "color": "#555", "fill": True, "fillOpacity": 0.2}
            },
            "interactive": True,
            "maxNativeZoom": 16,
        },
    )
    layer.default_js = list(VECTORGRID_JS)
    return layer


def _households_tiles_layer(url: str, show: bool) -> VectorGridProtobuf:
    layer = VectorGridProtobuf(
        url,
        name="Households (tiles, zoom 12+)",
        options={
            "vectorTileLayerStyles": {
                "households": {
                    "radius": 2,
                    "weight": 0,
                    "fill": True,
                    "fillColor": "#2b6cb0",
                    "fillOpacity": 0.6,
                }
            },
            "minZoom": 12,
            "maxNativeZoom": 16,
        },
        show=show,
    )
    layer.default_js = list(VECTORGRID_JS)
    return layer


def _config(m: folium.Map, page: str, data: PageData, basemap: Basemap, **extra: Any) -> Element:
    cfg = {
        "page": page,
        "map": m.get_name(),
        "urls": data.urls,
        "basemapDatum": basemap.datum if basemap.url else None,
        "snapshot": data.snapshot,
        **extra,
    }
    body = _json(cfg)
    return Element(
        f'<script id="gisgrid-config" type="application/json">{body}</script>'
        f'<script src="{GISGRID_JS}"></script>'
    )


def _panel(inner: str, css_class: str = "gg-panel") -> Element:
    return Element(f'<div class="{css_class}">{inner}</div>')


def center_page(data: PageData, measure: str, basemap: Basemap) -> str:
    """The center's wall: grids by measure, live cases, heat, staff, overdue list, ranking."""
    m = _base_map(data, basemap)
    if data.outline:
        _outline_layer(data.outline).add_to(m)
    use_tiles = data.force_tiles or data.grid_count > GRID_GEOJSON_MAX
    if use_tiles:
        grids_layer = _grid_tiles_layer(data.urls["grid_tiles"], "Grids (tiles)")
    else:
        assert data.grids is not None
        grids_layer = _grids_layer(
            data.grids,
            "Grids",
            ["name", "code", "households", "open_cases", "overdue_cases", "open_per_100"],
            ["Grid", "Code", "Households", "Open", "Overdue", "Open/100 hh"],
        )
    grids_layer.add_to(m)
    _households_tiles_layer(data.urls["household_tiles"], show=False).add_to(m)
    pts = [
        [f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0]]
        for f in (data.reports or {}).get("features", [])
    ]
    # Off by default: over the coloured grids it hides more than it shows; one click away.
    heat = HeatMap(pts, name="Heat (open cases)", radius=18, blur=15, min_opacity=0.3, show=False)
    heat.default_js = list(HEAT_JS)
    heat.add_to(m)
    reports_group = folium.FeatureGroup(name="Live cases").add_to(m)
    staff_group = folium.FeatureGroup(name="Staff last positions").add_to(m)
    control = folium.LayerControl(collapsed=False, position="topleft").add_to(m)
    values = [f["properties"].get(measure) or 0 for f in (data.grids or {}).get("features", [])]
    options = "".join(
        f'<option value="{k}"{" selected" if k == measure else ""}>{_esc(label)}</option>'
        for k, label in data.measures.items()
    )
    _fig(m).html.add_child(
        _panel(
            f"<h1>{_esc(data.title)}</h1>"
            '<label>Colour grids by <select id="gg-measure">' + options + "</select></label>"
            '<div id="gg-legend" class="gg-legend"></div>'
            '<div class="gg-live"><span id="gg-live-dot" class="gg-dot"></span>'
            '<span id="gg-live-status">loading…</span></div>'
            '<h2>New · last hour <span id="gg-new-count"></span></h2>'
            '<ol id="gg-new" class="gg-list gg-short"></ol>'
            '<h2>Overdue <span id="gg-overdue-count"></span> '
            '<span id="gg-due-soon" class="gg-note"></span></h2>'
            '<ol id="gg-overdue" class="gg-list"></ol>'
            "<h2>Ranking (worst first) · on time: last 30 days</h2>"
            '<table id="gg-ranking" class="gg-table"></table>'
            '<h2>Staff</h2><div id="gg-staff-note" class="gg-note"></div>'
            '<p class="gg-note">Demo data is GENERATED (grids, households, reports, staff).</p>'
        )
    )
    _fig(m).html.add_child(
        _config(
            m,
            "center",
            data,
            basemap,
            grids=grids_layer.get_name(),
            gridsAreTiles=use_tiles,
            control=control.get_name(),
            bbox=data.bbox,
            heat=heat.get_name(),
            reports=reports_group.get_name(),
            staff=staff_group.get_name(),
            measure=measure,
            measures=data.measures,
            breaks=breaks_for(values),
            colors=SEQUENTIAL,
            ranking=data.ranking,
            initialReports=data.reports,
            initialStaff=data.staff,
            pollSeconds=3,
        )
    )
    return _render(m, data.lang)


def worker_page(data: PageData, basemap: Basemap) -> str:
    """A grid worker's phone map: the grid, its open cases and households, 'where am I'."""
    m = _base_map(data, basemap, phone=True)
    assert data.grids is not None
    grid_layer = folium.GeoJson(
        data.grids,
        name="Grid",
        style_function=lambda f: {"color": "#c05621", "weight": 3, "fillOpacity": 0.05},
        interactive=False,
    ).add_to(m)
    if data.unpatrolled and data.unpatrolled.get("features"):
        folium.GeoJson(
            data.unpatrolled,
            name="Roads not patrolled (24 h)",
            style_function=lambda f: {"color": "#c53030", "weight": 3, "dashArray": "6 4"},
            tooltip=folium.GeoJsonTooltip(fields=["length_m"], aliases=["Not patrolled, m"])
            if "length_m" in data.unpatrolled["features"][0].get("properties", {})
            else None,
        ).add_to(m)
    use_tiles = data.force_tiles or data.household_count > HOUSEHOLD_GEOJSON_MAX
    if use_tiles:
        _households_tiles_layer(data.urls["household_tiles"], show=True).add_to(m)
    households_group = folium.FeatureGroup(name="Households").add_to(m)
    cases_group = folium.FeatureGroup(name="Open cases").add_to(m)
    me_group = folium.FeatureGroup(name="Me").add_to(m)
    _fig(m).html.add_child(
        _panel(
            f"<b>{_esc(data.title)}</b>"
            '<span id="gg-net" class="gg-net">…</span>'
            '<button id="gg-locate" type="button">Where am I</button>'
            # A plain form: signs out (and clears this phone's copy) even without the script.
            '<form id="gg-signout" method="post" action="/logout">'
            '<button type="submit">Sign out</button></form>'
            '<details><summary>Open cases <span id="gg-case-count"></span></summary>'
            '<ol id="gg-cases" class="gg-list"></ol>'
            '<div id="gg-step-msg" class="gg-note" role="status"></div></details>',
            "gg-bar",
        )
    )
    _fig(m).html.add_child(
        _config(
            m,
            "worker",
            data,
            basemap,
            bbox=data.bbox,
            grid=grid_layer.get_name(),
            households=households_group.get_name(),
            householdsAreTiles=use_tiles,
            cases=cases_group.get_name(),
            me=me_group.get_name(),
            initial={"households": data.households, "reports": data.reports},
            fetchedAt=data.fetched_at,
            offline=None if data.snapshot else offline.page_config(),
            pollSeconds=30,
        )
    )
    return _render(m, data.lang)


def planner_page(data: PageData, basemap: Basemap) -> str:
    """Planner's map: grids coloured by households relative to the mean, generation switcher."""
    m = _base_map(data, basemap)
    if data.outline:
        _outline_layer(data.outline).add_to(m)
    use_tiles = data.force_tiles or data.grid_count > GRID_GEOJSON_MAX
    if use_tiles:
        grids_layer = _grid_tiles_layer(data.urls["grid_tiles"], "Grids (tiles)")
    else:
        assert data.grids is not None
        grids_layer = _grids_layer(
            data.grids,
            "Grids",
            ["name", "code", "village_name", "households", "balance"],
            ["Grid", "Code", "Village", "Households", "x mean"],
        )
    grids_layer.add_to(m)
    folium.LayerControl(collapsed=True, position="topleft").add_to(m)
    gens = "".join(
        f'<option value="{g["id"]}"{" selected" if g["id"] == data.generation_id else ""}>'
        f"{_esc(g['name'])}{' (current)' if g['current'] else ''} · {g['grids']} grids</option>"
        for g in data.generations
    )
    b = data.balance or {}
    _fig(m).html.add_child(
        _panel(
            f"<h1>{_esc(data.title)}</h1>"
            f'<label>Generation <select id="gg-generation">{gens}</select></label>'
            f"<p>{b.get('grids', 0)} grids · mean {b.get('mean', 0)} households · "
            f"min {b.get('min', 0)} · max {b.get('max', 0)} · CV {b.get('cv', 0)}</p>"
            '<div id="gg-legend" class="gg-legend"></div>'
            '<p class="gg-note">Colour: households relative to the mean of this generation. '
            "Demo grids are GENERATED.</p>"
        )
    )
    _fig(m).html.add_child(
        _config(
            m,
            "planner",
            data,
            basemap,
            grids=grids_layer.get_name(),
            gridsAreTiles=use_tiles,
            bbox=data.bbox,
            measure="balance",
            measures={"balance": "Households ÷ mean"},
            breaks=BALANCE_BREAKS,
            colors=DIVERGING,
        )
    )
    return _render(m, data.lang)


def inline_assets(html: str, read_static: Any) -> str:
    """A self-contained copy of a page: every /static script and stylesheet inlined."""
    import re

    def js(mo: re.Match[str]) -> str:
        body = read_static(mo.group(1)).replace("</script", "<\\/script")
        return f"<script>{body}</script>"

    def css(mo: re.Match[str]) -> str:
        return f"<style>{read_static(mo.group(1))}</style>"

    html = re.sub(r'<script src="/static/([^"]+)"></script>', js, html)
    html = re.sub(r'<link rel="stylesheet" href="/static/([^"]+)"\s*/?>', css, html)
    return html


def _category_options(categories: Any) -> str:
    """<optgroup>s of the report categories, by family and group, Chinese name first."""
    family_label = {
        "governance": "综治事件 · community safety and order",
        "event": "城市管理事件 · street problems",
        "component": "城市部件 · public facilities",
    }
    groups: dict[str, list[str]] = {}
    for c in categories:
        label = f"{family_label.get(str(c.family), str(c.family))} · {c.group}"
        groups.setdefault(label, []).append(
            f'<option value="{_esc(c.code)}">{_esc(c.name_zh)} · {_esc(c.name)}</option>'
        )
    return "".join(
        f'<optgroup label="{_esc(label)}">{"".join(opts)}</optgroup>'
        for label, opts in groups.items()
    )


def resident_page(data: PageData, categories: Any, basemap: Basemap) -> str:
    """A resident's report form on a phone: tap the place (or use GPS), say what, send."""
    m = _base_map(data, basemap, phone=True)
    if data.outline:
        _outline_layer(data.outline).add_to(m)
    grids = None
    if data.grids:
        # Grid names (they carry the village's) tell a resident where a tap landed.
        grids = folium.GeoJson(
            data.grids,
            name="Grids",
            style_function=lambda f: {"color": "#888", "weight": 0.5, "fillOpacity": 0},
            tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=["网格"], sticky=True),
            zoom_on_click=False,
        ).add_to(m)
    pick = folium.FeatureGroup(name="Place").add_to(m)
    _fig(m).html.add_child(
        _panel(
            f'<form id="gg-report" class="gg-form"><b>我要反映 · Report a problem</b> '
            f'<span class="gg-note">{_esc(data.title)}</span>'
            '<p id="gg-where" class="gg-note">点地图选择地点，或用“我的位置” · tap the map where '
            "the problem is, or use your location</p>"
            '<button id="gg-locate" type="button">我的位置 · My location</button>'
            '<label>类别 · What kind<select name="service_code" required>'
            '<option value="">— 请选择 · choose —</option>'
            f"{_category_options(categories)}</select></label>"
            '<label>描述 · What is wrong<textarea name="description" rows="3" maxlength="4000" '
            'required placeholder="例如：路口垃圾堆放三天未清运"></textarea></label>'
            '<label>位置说明（可选）· Landmark (optional)<input name="address" maxlength="500">'
            "</label>"
            "<label>手机（可选，仅工作人员可见，用于回访）· Phone for the call-back (optional, "
            'staff only)<input name="phone" type="tel" maxlength="30" autocomplete="tel">'
            "</label>"
            '<button type="submit" id="gg-send">提交 · Send</button>'
            '<div id="gg-result" role="status" aria-live="polite"></div>'
            '<p class="gg-note"><a href="/report/track">查询办理进度 · Follow a report</a></p>'
            '<div id="gg-mine" class="gg-note"></div>'
            "</form>",
            "gg-bar gg-sheet",
        )
    )
    _fig(m).html.add_child(
        _config(
            m,
            "resident",
            data,
            basemap,
            bbox=data.bbox,
            pick=pick.get_name(),
            grids=grids.get_name() if grids else None,
        )
    )
    return _render(m, data.lang)


PLAIN_PAGE = """<!doctype html><html lang="zh"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:1.5rem
auto;padding:0 1rem;line-height:1.45}}ol{{padding-left:1.2rem}}li{{margin:.4rem 0}}
.note{{color:#555}}.said{{background:#e7f5ff;padding:.4rem}}.st{{font-size:1.2rem;font-weight:600}}.late{{color:#b00}}
input,button{{font-size:1rem;padding:.4rem}}</style></head><body>{body}
<form action="/report/track"><label>查询另一件 · Another report number
<input name="id" inputmode="numeric" size="10"></label> <button>查询 · Look up</button></form>
<p><a href="/report">我要反映 · Report a problem</a></p></body></html>"""


# Each step of the loop in a resident's words, next to its Chinese label.
STEP_WORDS = {
    "register": "registered",
    "dispatch": "sent to the grid",
    "accept": "taken up",
    "resolve": "handled; what was done",
    "close": "checked on site and closed",
    "return": "sent back for more work",
    "escalate": "passed up a level",
    "reassign": "given to another worker",
    "supervise": "chased by the center",
    "cancel": "not taken up",
    "evaluate": "verdict on the outcome",
}


def _verdict_words(s: dict[str, Any]) -> str:
    who = "reporter" if s.get("by_reporter") else "call-back"
    said = s.get("satisfied")
    verdict = "" if said is None else ("满意 satisfied" if said else "不满意 not satisfied")
    return f"({who}: {verdict}) " if verdict else ""


def _when(t: Any) -> str:
    """A time in China time, as a reporter reads it."""
    if t is None:
        return "—"
    return str(t.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M"))


def _verdict_form(p: dict[str, Any]) -> str:
    """满意/不满意 for the reporter once the report is closed: hidden until the page's script
    finds the receipt in the link's fragment (#k=), which only the filing phone has."""
    if p["status"] != "closed" or p.get("rated_by_reporter"):
        return ""
    return (
        f'<form method="post" action="/report/{p["id"]}/verdict" id="verdict" hidden>'
        "<h2>您对办理结果满意吗？· Are you satisfied with the outcome?</h2>"
        '<input type="hidden" name="k" value="">'
        '<p><textarea name="note" rows="2" maxlength="2000" style="width:100%" '
        'placeholder="想说的话（可选）· anything to add (optional)"></textarea></p>'
        '<button name="satisfied" value="yes">满意 · Yes</button> '
        '<button name="satisfied" value="no">不满意 · No</button></form>'
        # On load and when only the fragment changes (same page, no reload).
        "<script>(function(){function take(){var m=/[#&]k=([^&]+)/.exec(location.hash),"
        'f=document.getElementById("verdict");if(m&&f){f.k.value=decodeURIComponent('
        'm[1].replace(/\\+/g," "));f.hidden=false;}}take();'
        'window.addEventListener("hashchange",take);})();</script>'
    )


def progress_page(p: dict[str, Any] | None, problem: str | None = None) -> str:
    """A report's progress for whoever filed it (plain HTML: readable on any phone without
    script; only the reporter's rating form needs it)."""
    if p is None:
        body = f'<h1>查询办理进度 · Follow a report</h1><p class="late">{_esc(problem or "")}</p>'
        return PLAIN_PAGE.format(title="Follow a report", body=body)
    where = " · ".join(
        _esc(x["name"]) for x in (p.get("village"), p.get("grid")) if x and x.get("name")
    )
    level = {
        "full_time": "专职网格员 · the grid's worker",
        "grid_chief": "网格长 · the grid chief",
        "village": "村（社区）· the village",
        "town": "乡镇（街道）· the town",
        "county": "县级部门 · county departments",
    }.get(p.get("handler_level") or "", p.get("handler_level") or "—")
    steps = "".join(
        f"<li><b>{_esc(s['label'])}</b> · {STEP_WORDS.get(s['action'], s['action'])} "
        + (_verdict_words(s) if s["action"] == "evaluate" else "")
        + f"<span class='note'>{_when(s['at'])}</span>"
        + (f"<br>{_esc(s['note'])}" if s.get("note") else "")
        + "</li>"
        for s in p["steps"]
    )
    dup = (
        f'<p class="note">与 <a href="/report/{p["duplicate_of"]}">#{p["duplicate_of"]}</a> '
        "是同一问题，一并办理 · the same problem as an earlier report, handled with it</p>"
        if p.get("duplicate_of")
        else ""
    )
    supporters = (
        f'<p class="note">另有 {p["supporters"]} 人反映了同一问题 · {p["supporters"]} more '
        "people reported the same</p>"
        if p.get("supporters")
        else ""
    )
    body = (
        f"<h1>#{p['id']}</h1><p class='st' id='status'>{_esc(p['status_label'])}</p>"
        f"<p>{where}<br>办理 · handled by: {_esc(level)}<br>"
        f"时限 · due by: {_when(p.get('due_at'))}"
        + (f"<br>办结 · closed: {_when(p['closed_at'])}" if p.get("closed_at") else "")
        + f"</p>{dup}{supporters}"
        + (f"<p class='said' id='said'>{_esc(problem)}</p>" if problem else "")
        + f"<h2>办理过程 · Steps</h2><ol id='steps'>{steps}</ol>"
        + _verdict_form(p)
    )
    return PLAIN_PAGE.format(title=f"#{p['id']} · {p['status_label']}", body=body)
