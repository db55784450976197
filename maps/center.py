"""The center's wall (一图统管), built to be read across a room on a 1920x1080 screen.

Headline figures and charts on the left (ECharts, served locally), the map in the middle
(grids coloured by a measure, live cases, alarms, staff), lists, ranking and legends on the
right, filters by town, category and period on top, and a drawer to open a case and take the
center's steps on it (督办, 改派, 核查结案 ...). A large-type mode scales everything up. Live
behaviour is in static/gisgrid/wall.js; every word comes from the catalogue (center.json).
"""

from __future__ import annotations

import html
from typing import Any

import folium
from branca.element import Element
from folium.plugins import HeatMap

from maps.i18n import t
from maps.pages import (
    HEAT_JS,
    SEQUENTIAL,
    STATIC,
    Basemap,
    PageData,
    _base_map,
    _config,
    _fig,
    _outline_and_grids,
    _render,
    breaks_for,
)

ECHARTS_JS = f"{STATIC}/vendor/echarts-6.1.0/echarts.common.min.js"
WALL_JS = f"{STATIC}/gisgrid/wall.js"
WALL_CSS = f"{STATIC}/gisgrid/wall.css"
PERIODS = (1, 7, 30, 90)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _options(pairs: list[tuple[str, str]], selected: str) -> str:
    return "".join(
        f'<option value="{_esc(v)}"{" selected" if v == selected else ""}>{_esc(label)}</option>'
        for v, label in pairs
    )


def center_page(
    data: PageData,
    measure: str,
    basemap: Basemap,
    *,
    wall: dict[str, Any],
    switch_url: str | None = None,
) -> str:
    """The wall page. `wall` carries what the script needs beyond PageData: the first cases,
    the first dashboard, the child units, categories, the steps this account may take,
    the filters asked for in the URL."""
    lang = data.lang
    m = _base_map(data, basemap)
    # Tooltip words: the page's language (the fields are names and numbers).
    grids = _outline_and_grids(
        m,
        data,
        "center",
        ["name", "households", "open_cases", "overdue_cases"],
        [t(lang, f"center.tip_{k}") for k in ("grid", "households", "open", "overdue")],
    )
    heat = HeatMap([], name=t(lang, "center.layer_heat"), radius=18, blur=15, show=False)
    heat.default_js = list(HEAT_JS)
    heat.add_to(m)
    reports_group = folium.FeatureGroup(name=t(lang, "center.layer_cases")).add_to(m)
    staff_group = folium.FeatureGroup(name=t(lang, "center.layer_staff")).add_to(m)
    control = folium.LayerControl(collapsed=True, position="topright").add_to(m)
    values = [f["properties"].get(measure) or 0 for f in (data.grids or {}).get("features", [])]
    filters = wall["filters"]
    units = [("", t(lang, "center.all_units", name=data.title))] + [
        (c["code"], c["name"]) for c in wall["children"]
    ]
    cats = [("", t(lang, "center.all_categories"))] + [
        (f, t(lang, f"center.family_{f}")) for f in ("governance", "event", "component")
    ]
    cats += [(c["code"], "· " + c["name"]) for c in wall["categories"]]
    days = [(str(d), t(lang, f"center.days_{d}")) for d in PERIODS]
    measures = [(k, t(lang, f"center.measure_{k}")) for k in data.measures]
    switch = (
        f'<a class="gg-btn gg-lang" href="{_esc(switch_url)}">'
        f"{_esc(t(lang, 'common.lang_switch'))}</a>"
        if switch_url
        else ""
    )
    export = (
        f'<a class="gg-btn" id="gg-export" href="{_esc(data.urls["export_png"])}" download>'
        f"{_esc(t(lang, 'center.export_png'))}</a>"
        if not data.snapshot
        else ""
    )

    def fig(key: str) -> str:
        return (
            f'<div class="gg-fig" id="gg-fig-{key}"><b>–</b>'
            f"<span>{_esc(t(lang, f'center.fig_{key}'))}</span></div>"
        )

    def chart(key: str) -> str:
        return (
            f'<section class="gg-card"><h2>{_esc(t(lang, f"center.chart_{key}"))}</h2>'
            f'<div class="gg-chart" id="gg-chart-{key}" role="img" '
            f'aria-label="{_esc(t(lang, f"center.chart_{key}"))}"></div></section>'
        )

    keys = "".join(
        f'<li><i class="gg-key gg-key-{k}"></i>{_esc(t(lang, f"center.key_{k}"))}</li>'
        for k in ("alarm", "overdue", "soon", "open", "verify", "staff", "staff_old", "county")
    )
    page = (
        # Before the map is made: the wall's layout sizes the map (Leaflet measures it once).
        '<script>document.body.classList.add("gg-center");'
        'try{if(localStorage.getItem("gisgrid:wall-large")==="1"||/[?&]large=1/.test('
        'location.search))document.body.classList.add("gg-large")}catch(e){}</script>'
        '<header class="gg-top">'
        f"<h1>{_esc(data.title)}<small>{_esc(t(lang, 'center.subtitle'))}</small></h1>"
        '<div class="gg-filters">'
        f'<label>{_esc(t(lang, "center.filter_unit"))}<select id="gg-f-unit">'
        f"{_options(units, filters['unit'])}</select></label>"
        f'<label>{_esc(t(lang, "center.filter_category"))}<select id="gg-f-cat">'
        f"{_options(cats, filters['category'])}</select></label>"
        f'<label>{_esc(t(lang, "center.filter_days"))}<select id="gg-f-days">'
        f"{_options(days, str(filters['days']))}</select></label></div>"
        '<div class="gg-live"><span id="gg-live-dot" class="gg-dot"></span>'
        f'<span id="gg-live-status">{_esc(t(lang, "center.loading"))}</span></div>'
        '<time id="gg-clock"></time>'
        f'<button type="button" class="gg-btn" id="gg-sound" aria-pressed="false">'
        f"{_esc(t(lang, 'center.sound_off'))}</button>"
        f'<button type="button" class="gg-btn" id="gg-large" aria-pressed="false">'
        f"{_esc(t(lang, 'center.large_type'))}</button>"
        f"{export}{switch}</header>"
        '<aside class="gg-left">'
        f'<section class="gg-figs">{"".join(fig(k) for k in ("open", "new_today", "overdue"))}'
        f"{''.join(fig(k) for k in ('on_time', 'satisfaction', 'to_verify'))}</section>"
        f"{chart('trend')}{chart('category')}{chart('triage')}</aside>"
        '<div id="gg-alarm" class="gg-alarm" role="alert" hidden></div>'
        '<aside class="gg-right">'
        f'<label class="gg-measure">{_esc(t(lang, "center.colour_by"))}'
        f'<select id="gg-measure">{_options(measures, measure)}</select></label>'
        '<div id="gg-legend" class="gg-legend"></div>'
        f'<h2>{_esc(t(lang, "center.list_alarm"))} <span id="gg-alarm-count"></span></h2>'
        '<ol id="gg-alarms" class="gg-list gg-short"></ol>'
        f'<h2>{_esc(t(lang, "center.list_new"))} <span id="gg-new-count"></span></h2>'
        '<ol id="gg-new" class="gg-list gg-short"></ol>'
        f'<h2>{_esc(t(lang, "center.list_overdue"))} <span id="gg-overdue-count"></span> '
        '<span id="gg-due-soon" class="gg-note"></span></h2>'
        '<ol id="gg-overdue" class="gg-list"></ol>'
        f'<h2>{_esc(t(lang, "center.list_verify"))} <span id="gg-verify-count"></span></h2>'
        '<ol id="gg-verify" class="gg-list gg-short"></ol>'
        f"<h2>{_esc(t(lang, 'center.ranking'))}</h2>"
        '<table id="gg-ranking" class="gg-table"></table>'
        f'<h2>{_esc(t(lang, "center.legend"))}</h2><ul class="gg-keys">{keys}</ul>'
        '<div id="gg-staff-note" class="gg-note"></div>'
        f'<p class="gg-note">{_esc(t(lang, "common.generated_note"))}</p></aside>'
        '<section id="gg-drawer" class="gg-drawer" aria-live="polite" hidden></section>'
    )
    _fig(m).html.add_child(Element(page))
    _fig(m).header.add_child(Element(f'<link rel="stylesheet" href="{WALL_CSS}">'), name="wall_css")
    _fig(m).html.add_child(
        _config(
            m,
            "center",
            data,
            basemap,
            **grids,
            control=control.get_name(),
            heat=heat.get_name(),
            reports=reports_group.get_name(),
            staff=staff_group.get_name(),
            measure=measure,
            measures={k: label for k, label in measures},
            breaks=breaks_for(values),
            colors=SEQUENTIAL,
            ranking=data.ranking,
            initialStaff=data.staff,
            pollSeconds=3,
            wall=wall,
        )
    )
    _fig(m).html.add_child(
        Element(f'<script src="{ECHARTS_JS}"></script><script src="{WALL_JS}"></script>')
    )
    return _render(m, lang)
