"""The grid worker's phone map (网格员): cases to act on, households to visit, what to report.

Built for a phone outdoors: one bottom sheet with thumb-sized controls (at least 44x44 px),
body text 16 px and more, every word from the catalogue (areas `worker` and `queue`). The live
behaviour is in static/gisgrid/worker.js (cases, case card, visits, patrol reports, push) and
static/gisgrid/queue.js (actions kept in IndexedDB and sent in order when the network is back);
gisgrid.js still builds the shared map (fit, basemap) and hands the page to worker.js.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import folium

from maps import offline
from maps.i18n import HTML_LANG, strings, t
from maps.pages import (
    HOUSEHOLD_GEOJSON_MAX,
    STATIC,
    Basemap,
    PageData,
    SafeTooltip,
    _base_map,
    _category_options,
    _config,
    _esc,
    _fig,
    _households_tiles_layer,
    _panel,
)

WORKER_JS = f"{STATIC}/gisgrid/worker.js"
QUEUE_JS = f"{STATIC}/gisgrid/queue.js"
WORKER_CSS = f"{STATIC}/gisgrid/worker.css"
AREAS = ("worker", "queue")
VISIT_KINDS = ("routine", "care", "dispute", "info_update")
# Photos are shrunk on the phone to this longest side before they are queued (server: 1600).
PHOTO_SIDE = 1600


def _file(lang: str, name: str, label: str) -> str:
    """A photo input as a thumb-sized button in the page's words (the browser's own file
    control speaks the browser's language): the input itself is hidden inside its label."""
    return (
        f'<div class="wk-field">{_esc(t(lang, f"worker.{label}"))}'
        f'<label class="wk-file"><input type="file" name="{name}" accept="image/*" '
        f'capture="environment"><span data-empty="{_esc(t(lang, "worker.take_photo"))}">'
        f"{_esc(t(lang, 'worker.take_photo'))}</span></label></div>"
    )


def _sheet(lang: str, title: str, categories: Iterable[Any]) -> str:
    def w(key: str, **kw: Any) -> str:
        return _esc(t(lang, f"worker.{key}", **kw))

    kinds = "".join(f'<option value="{k}">{w("visit_" + k)}</option>' for k in VISIT_KINDS)
    return (
        '<div class="wk-head">'
        f'<b class="wk-title">{_esc(title)}</b>'
        '<span id="gg-net" class="gg-net" data-net="">…</span>'
        f'<button type="button" id="gg-queue" class="wk-chip" hidden>{w("waiting")} '
        '<b id="gg-queue-n">0</b></button>'
        "</div>"
        '<div id="gg-banner" class="wk-banner" role="status" aria-live="polite" hidden></div>'
        '<nav class="wk-tabs">'
        f'<button type="button" data-tab="cases" aria-pressed="true">{w("tab_cases")} '
        '<span id="gg-case-count"></span></button>'
        f'<button type="button" data-tab="visits">{w("tab_visits")} '
        '<span id="gg-visit-due"></span></button>'
        f'<button type="button" data-tab="report">{w("tab_report")}</button>'
        f'<button type="button" id="gg-locate">{w("locate")}</button>'
        # A plain form: signs out (and clears this phone's copy) even without the script.
        f'<form id="gg-signout" method="post" action="/logout"><button type="submit">'
        f"{w('sign_out')}</button></form>"
        "</nav>"
        '<section id="wk-cases" class="wk-pane">'
        '<ol id="gg-cases" class="wk-list"></ol>'
        '<div id="gg-card" class="wk-card" hidden></div>'
        "</section>"
        '<section id="wk-visits" class="wk-pane" hidden>'
        f'<p class="wk-hint">{w("visits_hint")}</p>'
        '<ol id="gg-households" class="wk-list"></ol>'
        '<div id="gg-household" class="wk-card" hidden></div>'
        "</section>"
        '<section id="wk-report" class="wk-pane" hidden>'
        '<form id="gg-patrol" class="wk-form">'
        f'<label>{w("report_category")}<select name="service_code" required>'
        f'<option value="">{w("choose")}</option>'
        f"{_category_options(lang, categories, 'worker', True)}</select></label>"
        f'<label>{w("report_description")}<textarea name="description" rows="2" '
        f'maxlength="4000" required placeholder="{w("report_description_hint")}"></textarea>'
        "</label>"
        f'<label>{w("report_address")}<input name="address" maxlength="500"></label>'
        f'<p id="gg-patrol-where" class="wk-hint">{w("report_where_hint")}</p>'
        + _file(lang, "photo", "photo")
        + f'<label class="wk-check"><input type="checkbox" name="fixed"> {w("fixed_on_spot")}'
        "</label>"
        '<div id="gg-fixed" hidden>'
        f'<label>{w("fixed_note")}<textarea name="fixed_note" rows="2" maxlength="2000">'
        "</textarea></label>" + _file(lang, "after_photo", "after_photo") + "</div>"
        f'<button type="submit" class="wk-primary">{w("report_send")}</button>'
        "</form></section>"
        '<section id="wk-queue" class="wk-pane" hidden>'
        f'<p class="wk-hint">{w("queue_hint")}</p>'
        '<ol id="gg-queue-list" class="wk-list"></ol></section>'
        '<div id="gg-step-msg" class="wk-msg" role="status"></div>'
        # The visit form, cloned into a household's panel by worker.js.
        '<template id="gg-visit-form"><form class="wk-form gg-visit">'
        f'<label>{w("visit_kind")}<select name="kind">{kinds}</select></label>'
        f'<label>{w("visit_note")}<textarea name="note" rows="2" maxlength="2000"></textarea>'
        "</label>"
        '<div class="gg-update" hidden>'
        f'<label>{w("visit_size")}<input name="size" type="number" min="1" max="30" '
        'inputmode="numeric"></label>'
        f'<label>{w("visit_phone")}<input name="phone" type="tel" maxlength="20"></label></div>'
        + _file(lang, "photo", "photo")
        + f'<button type="submit" class="wk-primary">{w("visit_send")}</button></form></template>'
    )


def worker_page(
    data: PageData,
    basemap: Basemap,
    *,
    lang: str = "zh",
    categories: Iterable[Any] = (),
    username: str = "",
    grid: str = "",
    visits: dict[str, Any] | None = None,
    handlers: dict[str, Any] | None = None,
) -> str:
    """A grid worker's phone map: the grid, its open cases and households, 'where am I'."""
    m = _base_map(data, basemap, phone=True)
    assert data.grids is not None
    grid_layer = folium.GeoJson(
        data.grids,
        name=t(lang, "worker.layer_grid"),
        style_function=lambda f: {"color": "#c05621", "weight": 3, "fillOpacity": 0.03},
        interactive=False,
    ).add_to(m)
    if data.unpatrolled and data.unpatrolled.get("features"):
        folium.GeoJson(
            data.unpatrolled,
            name=t(lang, "worker.layer_unpatrolled"),
            style_function=lambda f: {"color": "#c53030", "weight": 4, "dashArray": "6 4"},
            tooltip=SafeTooltip(fields=["length_m"], aliases=[t(lang, "worker.unpatrolled_m")])
            if "length_m" in data.unpatrolled["features"][0].get("properties", {})
            else None,
        ).add_to(m)
    use_tiles = data.force_tiles or data.household_count > HOUSEHOLD_GEOJSON_MAX
    if use_tiles:
        _households_tiles_layer(data.urls["household_tiles"], show=True).add_to(m)
    households_group = folium.FeatureGroup(name="households").add_to(m)
    cases_group = folium.FeatureGroup(name="cases").add_to(m)
    way_group = folium.FeatureGroup(name="way").add_to(m)
    me_group = folium.FeatureGroup(name="me").add_to(m)
    fig = _fig(m)
    fig.header.add_child(
        folium.Element(f'<link rel="stylesheet" href="{WORKER_CSS}">'), name="gisgrid_worker_css"
    )
    fig.html.add_child(_panel(_sheet(lang, data.title, categories), "gg-bar gg-wk"))
    fig.html.add_child(
        _config(
            m,
            "worker",
            data,
            basemap,
            grid=grid_layer.get_name(),
            gridCode=grid,
            username=username,
            households=households_group.get_name(),
            householdsAreTiles=use_tiles,
            cases=cases_group.get_name(),
            way=way_group.get_name(),
            me=me_group.get_name(),
            initial={
                "households": data.households,
                "reports": data.reports,
                "visits": visits,
                "handlers": handlers or {},
                "fetched_at": data.fetched_at,
            },
            fetchedAt=data.fetched_at,
            offline=None if data.snapshot else offline.page_config(),
            pollSeconds=30,
            photoSide=PHOTO_SIDE,
            # The language as the page's <html lang> has it (zh-CN), and the queue's words too.
            lang=HTML_LANG.get(lang, lang),
            strings=strings(lang, AREAS),
        )
    )
    # The page's own scripts after gisgrid.js (which calls worker.js's init when ready).
    fig.html.add_child(
        folium.Element(f'<script src="{QUEUE_JS}"></script><script src="{WORKER_JS}"></script>')
    )
    html = fig.render()
    return html.replace("<html>", f'<html lang="{HTML_LANG.get(lang, lang)}">', 1)
