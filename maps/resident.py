"""The residents' pages (群众): report a problem on the map, and follow it afterwards.

One language per page (Chinese unless the visitor chose English), every word from the catalogue
(maps/locales/*/resident.json, progress.json). Made for phones: text 16 px or larger, controls
at least 44 px; on a desktop the form sits beside the map instead of under it.
"""

from __future__ import annotations

import html
from typing import Any
from zoneinfo import ZoneInfo

import folium
from folium.plugins import VectorGridProtobuf

from maps import site
from maps.i18n import t
from maps.pages import (
    STATIC,
    VECTORGRID_JS,
    Basemap,
    PageData,
    _base_map,
    _category_options,
    _config,
    _fig,
    _outline_layer,
    _render,
)

CN = ZoneInfo("Asia/Shanghai")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def resident_page(
    data: PageData, categories: Any, basemap: Basemap, *, switch_url: str | None = None
) -> str:
    """A resident's report form: find the place (search, tap, or GPS), say what, send."""
    lang = data.lang
    m = _base_map(data, basemap, phone=True)
    if data.outline:
        _outline_layer(data.outline).add_to(m)
    # Grid outlines from zoom 13, faint: where a tap lands, without weighing on the page.
    grids = VectorGridProtobuf(
        data.urls["grid_tiles"],
        name="grids",
        options={
            "vectorTileLayerStyles": {
                "grids": {"weight": 0.8, "color": "#8a7f72", "fill": False, "opacity": 0.8}
            },
            "interactive": False,
            "minZoom": 13,
            "maxNativeZoom": 16,
        },
    )
    grids.default_js = list(VECTORGRID_JS)
    grids.add_to(m)
    pick = folium.FeatureGroup(name="place").add_to(m)
    switch = (
        f'<a class="gg-lang" href="{_esc(switch_url)}">{_esc(t(lang, "common.lang_switch"))}</a>'
        if switch_url
        else ""
    )
    _fig(m).html.add_child(
        folium.Element(
            '<div class="gg-bar gg-sheet"><form id="gg-report" class="gg-form" novalidate>'
            f'<div class="gg-head"><h1>{_esc(t(lang, "resident.title"))}</h1>{switch}</div>'
            f'<p class="gg-note">{_esc(t(lang, "resident.intro", county=data.title))}</p>'
            f"<h2>{_esc(t(lang, 'resident.step_place'))}</h2>"
            f'<p id="gg-where" class="gg-where" aria-live="polite">'
            f"{_esc(t(lang, 'resident.hint_place'))}</p>"
            f'<button id="gg-locate" type="button">{_esc(t(lang, "resident.locate"))}</button>'
            f"<h2>{_esc(t(lang, 'resident.step_what'))}</h2>"
            f'<label>{_esc(t(lang, "resident.kind"))}<select name="service_code" required>'
            f'<option value="">{_esc(t(lang, "resident.choose"))}</option>'
            f"{_category_options(lang, categories, 'resident', lang == 'zh')}</select></label>"
            f"<label>{_esc(t(lang, 'resident.what'))}"
            '<textarea name="description" rows="3" maxlength="4000" required '
            f'placeholder="{_esc(t(lang, "resident.what_example"))}"></textarea></label>'
            f"<label>{_esc(t(lang, 'resident.landmark'))}"
            '<input name="address" maxlength="500"></label>'
            f"<label>{_esc(t(lang, 'resident.phone'))}"
            '<input name="phone" type="tel" maxlength="30" autocomplete="tel"></label>'
            # Photos go up after the report is filed, with its receipt (at most three).
            f'<div class="gg-photo">{_esc(t(lang, "resident.photo"))}'
            '<label class="gg-file"><input type="file" name="photo" accept="image/*" multiple>'
            f'<span id="gg-photo-n">{_esc(t(lang, "resident.photo_pick"))}</span></label></div>'
            f'<button type="submit" id="gg-send">{_esc(t(lang, "resident.send"))}</button>'
            '<div id="gg-result" role="status" aria-live="polite"></div>'
            f'<p><a class="gg-link" href="/report/track">{_esc(t(lang, "resident.follow"))}</a></p>'
            '<div id="gg-mine" class="gg-mine"></div>'
            "</form></div>"
        )
    )
    _fig(m).html.add_child(_config(m, "resident", data, basemap, pick=pick.get_name()))
    _fig(m).header.add_child(
        folium.Element(f'<link rel="stylesheet" href="{STATIC}/gisgrid/resident.css">'),
        name="resident_css",
    )
    _fig(m).html.add_child(folium.Element(f'<script src="{STATIC}/gisgrid/resident.js"></script>'))
    return _render(m, lang)


def _when(lang: str, moment: Any) -> str:
    """A time as people here write it: 2026年11月24日 14:30 (China time)."""
    if moment is None:
        return "—"
    local = moment.astimezone(CN)
    if lang == "zh":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    return f"{local:%d %b %Y %H:%M}"


def _lookup_form(lang: str) -> str:
    return (
        '<form action="/report/track" class="track">'
        f"<label>{_esc(t(lang, 'progress.number'))}"
        '<input name="id" inputmode="numeric" autocomplete="off"></label>'
        f"<button>{_esc(t(lang, 'progress.look_up'))}</button></form>"
        f'<p><a class="btn plain" href="/report">{_esc(t(lang, "common.report_problem"))}</a></p>'
    )


PROGRESS_STYLE = (
    "<style>.st{font-size:1.3rem;font-weight:700}.said{background:#e7f5ff;padding:.6rem;"
    "border-radius:6px}ol.steps{padding-left:1.4rem}ol.steps li{margin:.6rem 0}"
    ".late{color:#a61e1e}textarea{font:inherit;width:100%;box-sizing:border-box;padding:.5rem}"
    "form.verdict button{margin:.3rem .4rem .3rem 0}form.track{margin-top:2rem}</style>"
)


def track_page(lang: str, problem: str | None = None, *, switch_url: str | None = None) -> str:
    """Looking up a report by its number: the form, and what was wrong with the last try."""
    said = f'<p class="err" role="alert">{_esc(problem)}</p>' if problem else ""
    body = (
        f"<h1>{_esc(t(lang, 'progress.title'))}</h1>{said}"
        f'<p class="note">{_esc(t(lang, "progress.lookup_hint"))}</p>{_lookup_form(lang)}'
    )
    return site.page(lang, t(lang, "progress.title"), body, switch_url=switch_url)


def _step_label(lang: str, action: str) -> str:
    return t(lang, f"progress.step_{action}")


def _verdict_words(lang: str, s: dict[str, Any]) -> str:
    if s.get("satisfied") is None:
        return ""
    who = t(lang, "progress.by_reporter" if s.get("by_reporter") else "progress.by_callback")
    verdict = t(lang, "progress.satisfied" if s["satisfied"] else "progress.not_satisfied")
    return f" ({_esc(who)}: {_esc(verdict)})"


def _verdict_form(lang: str, p: dict[str, Any]) -> str:
    """满意/不满意 for the reporter once the report is closed: hidden until the page's script
    finds the receipt in the link's fragment (#k=), which only the filing phone has."""
    if p["status"] != "closed" or p.get("rated_by_reporter"):
        return ""
    return (
        f'<form method="post" action="/report/{p["id"]}/verdict" id="verdict" class="verdict" '
        f"hidden><h2>{_esc(t(lang, 'progress.rate_question'))}</h2>"
        '<input type="hidden" name="k" value="">'
        '<p><textarea name="note" rows="2" maxlength="2000" '
        f'placeholder="{_esc(t(lang, "progress.rate_note"))}"></textarea></p>'
        f'<button name="satisfied" value="yes">{_esc(t(lang, "progress.satisfied"))}</button>'
        f'<button name="satisfied" value="no">{_esc(t(lang, "progress.not_satisfied"))}</button>'
        "</form>"
        # On load and when only the fragment changes (same page, no reload).
        "<script>(function(){function take(){var m=/[#&]k=([^&]+)/.exec(location.hash),"
        'f=document.getElementById("verdict");if(m&&f){f.k.value=decodeURIComponent('
        'm[1].replace(/\\+/g," "));f.hidden=false;}}take();'
        'window.addEventListener("hashchange",take);})();</script>'
    )


def progress_page(
    lang: str, p: dict[str, Any], said: str | None = None, *, switch_url: str | None = None
) -> str:
    """A report's progress for whoever filed it: plain HTML, readable on any phone without
    script (only the reporter's rating form needs it)."""
    where = " · ".join(
        _esc(x["name"]) for x in (p.get("village"), p.get("grid")) if x and x.get("name")
    )
    level = p.get("handler_level") or ""
    handler = t(lang, f"progress.level_{level}") if level in LEVELS else (level or "—")
    if p.get("department"):  # whistled to a department (吹哨): it is named
        handler = p["department"]["name"]
    steps = "".join(
        f"<li><b>{_esc(_step_label(lang, s['action']))}</b>"
        + (_verdict_words(lang, s) if s["action"] == "evaluate" else "")
        + f" <span class='note'>{_when(lang, s['at'])}</span>"
        + (f"<br>{_esc(s['note'])}" if s.get("note") else "")
        + "</li>"
        for s in p["steps"]
    )
    notes = ""
    if p.get("duplicate_of"):
        notes += (
            f'<p class="note"><a href="/report/{p["duplicate_of"]}">#{p["duplicate_of"]}</a> '
            f"{_esc(t(lang, 'progress.duplicate'))}</p>"
        )
    if p.get("supporters"):
        notes += f'<p class="note">{_esc(t(lang, "progress.supporters", n=p["supporters"]))}</p>'
    # Not registered yet: waiting for the grid worker's on-site check (核查), or found true and
    # waiting to be registered (立案); the check has a time limit of its own.
    stage = p.get("stage") or {}
    waiting = p["status"] == "submitted" and stage.get("name") in ("collected", "checked")
    status = (
        t(lang, f"progress.stage_{stage['name']}")
        if waiting
        else t(lang, f"progress.status_{p['status']}")
    )
    due = (
        f"{_esc(t(lang, 'progress.check_by'))}{_when(lang, stage.get('due_at'))}"
        if waiting and not p.get("due_at") and stage.get("due_at")
        else f"{_esc(t(lang, 'progress.due_by'))}{_when(lang, p.get('due_at'))}"
    )
    outcome = p.get("outcome") or {}
    ended = (
        f"<br>{_esc(t(lang, 'progress.outcome'))}{_esc(t(lang, f'progress.outcome_{code}'))}"
        if (code := outcome.get("code")) in OUTCOME_CODES
        else ""
    )
    body = (
        f"{PROGRESS_STYLE}<h1>{_esc(t(lang, 'progress.report_no', id=p['id']))}</h1>"
        f"<p class='st' id='status'>{_esc(status)}</p>"
        f"<p>{where}<br>{_esc(t(lang, 'progress.handled_by'))}{_esc(handler)}<br>{due}"
        + (
            f"<br>{_esc(t(lang, 'progress.closed_at'))}{_when(lang, p['closed_at'])}"
            if p.get("closed_at")
            else ""
        )
        + f"{ended}</p>{notes}"
        + (f"<p class='said' id='said'>{_esc(said)}</p>" if said else "")
        + f"<h2>{_esc(t(lang, 'progress.steps'))}</h2><ol class='steps' id='steps'>{steps}</ol>"
        + _verdict_form(lang, p)
        + _lookup_form(lang)
    )
    return site.page(lang, f"#{p['id']} · {status}", body, switch_url=switch_url)


LEVELS = ("full_time", "grid_chief", "part_time", "village", "town", "county", "department")
OUTCOME_CODES = ("resolved", "partly_resolved", "not_solvable", "unreachable")
