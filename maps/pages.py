"""Map pages built with folium: the shared base every map page draws on, and the planner's map.

The center's wall is maps/center.py, the grid worker's phone map maps/worker.py and the
residents' pages maps/resident.py; they build on the helpers here. Data comes in as plain dicts
(from gisgrid.mapdata via the API); nothing here runs SQL. Every script and stylesheet points at
gisgrid's own /static, never a CDN, so pages work on networks cut off from the internet. Live
behaviour (polling, push, offline fallback) is in static/gisgrid/*.js.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement
from folium.features import GeoJsonDetail
from folium.plugins import VectorGridProtobuf
from folium.template import Template as FoliumTemplate
from jinja2 import Template

from maps.i18n import DEFAULT_LANG, HTML_LANG, strings, t

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
    # The planner's redraw table (issue 15): units to draw, default band; None: not allowed.
    redraw: dict[str, Any] | None = None
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
    # Map options, not tile-layer ones (folium's min_zoom/max_zoom go to its tile layer): with
    # none set, Leaflet takes the zoom range from the layers and jumps to a layer's minZoom.
    m.options["minZoom"] = 5
    m.options["maxZoom"] = 19
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
            name=t(data.lang, "map.external_basemap"),
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
    # Quotes too: some of these land in attribute values (option value=, optgroup label=).
    return html.escape(s, quote=True)


# The report categories' families, in the order a form lists them.
FAMILIES = ("governance", "event", "component")


def _category_options(lang: str, categories: Any, section: str, chinese_names: bool) -> str:
    """The report categories as <option>s in an <optgroup> per family, the families named from
    the catalogue's `section` in the page's language."""
    groups: dict[str, list[str]] = {f: [] for f in FAMILIES}
    for c in categories:
        name = c.name_zh if chinese_names else c.name
        groups.setdefault(str(c.family), []).append(
            f'<option value="{_esc(c.code)}">{_esc(name)}</option>'
        )
    return "".join(
        f'<optgroup label="{_esc(t(lang, f"{section}.family_{family}"))}">{"".join(opts)}'
        "</optgroup>"
        for family, opts in groups.items()
        if opts
    )


# folium's GeoJsonTooltip puts each property into innerHTML as it is: a grid named
# <img src=x onerror=...> ran script on hover (issue 13). The same template, every value and
# label escaped first.
_ESC_JS = (
    "let esc = s => String(s).replace(/[&<>\"']/g, c => "
    "({'&': '&amp;', '<': '&lt;', '>': '&gt;', '\"': '&quot;', \"'\": '&#39;'})[c]);"
)
_SAFE_DETAIL = (
    GeoJsonDetail.base_template.replace(
        "let handleObject = feature => {", _ESC_JS + "\n    let handleObject = feature => {"
    )
    .replace("return JSON.stringify(feature);", "return esc(JSON.stringify(feature));")
    .replace("return feature;", "return esc(feature);")
    .replace("${aliases[i]", "${esc(aliases[i])")
)
assert _SAFE_DETAIL.count("esc(") == 3 and "let esc" in _SAFE_DETAIL, (
    "folium's tooltip template changed: re-check escaping"
)


class SafeTooltip(folium.GeoJsonTooltip):
    """A GeoJSON tooltip that shows stored names as text, never as markup."""

    _template = FoliumTemplate(
        """
    {% macro script(this, kwargs) %}
    {{ this._parent.get_name() }}.bindTooltip("""
        + _SAFE_DETAIL
        + """,{{ this.tooltip_options | tojavascript }});
    {% endmacro %}
    """
    )


def _outline_layer(outline: dict[str, Any], name: str = "Outline") -> folium.GeoJson:
    return folium.GeoJson(
        outline,
        name=name,
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
        tooltip=SafeTooltip(fields=fields, aliases=aliases, sticky=True),
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
    """The page's configuration for its scripts: what every page has (its view, language and
    the words of its catalogue section), then what it adds (`extra`, which may replace those)."""
    cfg = {
        "page": page,
        "map": m.get_name(),
        "urls": data.urls,
        "basemapDatum": basemap.datum if basemap.url else None,
        "snapshot": data.snapshot,
        "bbox": data.bbox,
        "lang": data.lang,
        "strings": strings(data.lang, (page,)),
        **extra,
    }
    body = _json(cfg)
    return Element(
        f'<script id="gisgrid-config" type="application/json">{body}</script>'
        f'<script src="{GISGRID_JS}"></script>'
    )


def _panel(inner: str, css_class: str = "gg-panel") -> Element:
    return Element(f'<div class="{css_class}">{inner}</div>')


def _outline_and_grids(
    m: folium.Map, data: PageData, page: str, fields: list[str], aliases: list[str]
) -> dict[str, Any]:
    """The unit's outline and its grids (vector tiles when many) on a page's map, layer names
    from the page's catalogue section (`page`), tooltips from fields and aliases; how the
    page's scripts find the grids (the layer's name, whether it is tiles)."""
    if data.outline:
        _outline_layer(data.outline, t(data.lang, f"{page}.layer_outline")).add_to(m)
    name = t(data.lang, f"{page}.layer_grids")
    use_tiles = data.force_tiles or data.grid_count > GRID_GEOJSON_MAX
    if use_tiles:
        layer = _grid_tiles_layer(data.urls["grid_tiles"], name)
    else:
        assert data.grids is not None
        layer = _grids_layer(data.grids, name, fields, aliases)
    layer.add_to(m)
    return {"grids": layer.get_name(), "gridsAreTiles": use_tiles}


def planner_page(data: PageData, basemap: Basemap, *, switch_url: str | None = None) -> str:
    """Planner's map: grids coloured by households relative to the mean, generation switcher,
    and for those who may draw, the redraw table. Every word from the catalogue (`planner`)."""
    lang = data.lang

    def w(key: str, **kw: Any) -> str:
        return _esc(t(lang, f"planner.{key}", **kw))

    m = _base_map(data, basemap)
    grids = _outline_and_grids(
        m,
        data,
        "planner",
        ["name", "code", "village_name", "households", "balance"],
        [t(lang, f"planner.tip_{k}") for k in ("grid", "code", "village", "households", "balance")],
    )
    folium.LayerControl(collapsed=True, position="topleft").add_to(m)
    gens = "".join(
        f'<option value="{g["id"]}"{" selected" if g["id"] == data.generation_id else ""}>'
        + w(
            "generation_current" if g["current"] else "generation_option",
            name=g["name"],
            grids=g["grids"],
        )
        + "</option>"
        for g in data.generations
    )
    b = data.balance or {}
    figures = {k: b.get(k, 0) for k in ("grids", "mean", "min", "max", "cv")}
    switch = (
        f'<a class="gg-lang" href="{_esc(switch_url)}">{_esc(t(lang, "common.lang_switch"))}</a>'
        if switch_url
        else ""
    )
    _fig(m).html.add_child(
        _panel(
            f'<header class="gg-head"><h1>{_esc(data.title)}</h1>{switch}'
            '<form class="gg-signout" method="post" action="/logout">'
            f'<button type="submit">{_esc(t(lang, "common.sign_out"))}</button></form></header>'
            f'<label class="gg-gen">{w("generation")}'
            f'<select id="gg-generation">{gens}</select></label>'
            f'<p class="gg-figures">{w("figures", **figures)}</p>'
            '<div id="gg-legend" class="gg-legend"></div>'
            f'<p id="gg-colour-note" class="gg-note">{w("colour_note")} '
            f"{_esc(t(lang, 'common.generated_note'))}</p>" + _redraw_panel(lang, data.redraw)
        )
    )
    _fig(m).html.add_child(
        _config(
            m,
            "planner",
            data,
            basemap,
            **grids,
            measure="balance",
            measures={"balance": t(lang, "planner.measure_balance")},
            breaks=BALANCE_BREAKS,
            colors=DIVERGING,
            redraw=data.redraw,
        )
    )
    return _render(m, lang)


def _redraw_panel(lang: str, redraw: dict[str, Any] | None) -> str:
    """The drafting table: unit, band, mode, run; then the draft's grids, edits, impact, publish."""
    if not redraw:
        return ""

    def w(key: str) -> str:
        return _esc(t(lang, f"planner.{key}"))

    units = "".join(
        f'<option value="{_esc(u["code"])}">{_esc(u["name"])} · {_esc(u["code"])}</option>'
        for u in redraw["units"]
    )
    lo, hi = redraw["band"]
    legend = "".join(
        f'<div><i style="background:{colour}"></i>{w(key)}</div>'
        for key, colour in (("in_band", "#2f9e44"), ("below", "#1c7ed6"), ("above", "#c92a2a"))
    )
    heads = "".join(
        f"<th>{w('th_' + k)}</th>" for k in ("grid", "village", "households", "band", "compactness")
    )
    return (
        '<section id="gg-redraw" class="gg-redraw">'
        f"<h2>{w('redraw')}</h2>"
        f'<label>{w("unit")} <select id="gg-plan-unit">{units}</select></label>'
        '<div class="gg-row">'
        f'<label>{w("band_min")} <input id="gg-band-min" type="number" min="1" value="{lo}">'
        "</label>"
        f'<label>{w("band_max")} <input id="gg-band-max" type="number" min="1" value="{hi}">'
        "</label>"
        f'<label>{w("mode")} <select id="gg-plan-mode">'
        f'<option value="balance">{w("mode_balance")}</option>'
        f'<option value="minimal_change">{w("mode_minimal_change")}</option></select></label>'
        "</div>"
        f'<button id="gg-plan-run" type="button" class="gg-primary">{w("run")}</button>'
        '<div id="gg-plan-status" class="gg-note" role="status"></div>'
        f'<progress id="gg-plan-progress" max="1" value="0" aria-label="{w("progress")}" hidden>'
        "</progress>"
        '<div id="gg-plan-draft" hidden>'
        '<div id="gg-plan-totals"></div>'
        f'<div class="gg-legend">{legend}<div><i class="gg-dash"></i>{w("current_grids")}</div>'
        f'<div><i style="background:#7048e8"></i>{w("diff_layer")}</div></div>'
        f'<p class="gg-note">{w("select_hint")}</p>'
        '<div class="gg-row gg-tools">'
        f'<button id="gg-edit-split" type="button">{w("split")}</button>'
        '<input id="gg-split-parts" type="number" min="2" max="20" value="2" '
        f'aria-label="{w("split_parts")}" title="{w("split_parts")}">'
        f'<button id="gg-edit-merge" type="button">{w("merge")}</button>'
        f'<button id="gg-edit-move" type="button">{w("move")}</button>'
        "</div>"
        '<div id="gg-plan-msg" class="gg-note" role="alert"></div>'
        '<div class="gg-table-wrap"><table id="gg-plan-table" class="gg-table">'
        f"<caption>{w('table_caption')}</caption>"
        f"<thead><tr>{heads}</tr></thead><tbody></tbody></table></div>"
        f'<button id="gg-plan-impact" type="button">{w("impact")}</button>'
        '<div id="gg-plan-impact-out" class="gg-note"></div>'
        '<div class="gg-row">'
        f'<label>{w("valid_from")} <input id="gg-plan-from" type="datetime-local"></label>'
        f'<button id="gg-plan-publish" type="button" class="gg-primary">{w("publish")}</button>'
        "</div>"
        '<div id="gg-plan-published" class="gg-note"></div>'
        "</div></section>"
    )


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
