/* gisgrid map pages: the shared part. Grid colouring, the first fit beside the panel, the
 * GCJ-02 basemap shift, the planner; the pages with their own script (wall.js for the center,
 * worker.js for the grid worker's phone, resident.js for residents) register in gg.pages and
 * are started from here once the map is up.
 * Reads its settings from <script id="gisgrid-config">; folium creates the map and layers,
 * this file only fills and restyles them. Plain ES2017, no dependencies beyond Leaflet. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("gisgrid-config").textContent);
  // One registry of pages, whichever loads first: this file or the page's own script.
  var pages = (window.gisgridPages = window.gisgridPages || {});
  var gg = (window.gisgrid = { cfg: cfg, reportIds: {}, polls: 0, errors: 0, pages: pages });

  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function getJSON(url) {
    // "no-cache": kept, but asked again each time with its ETag (304 when unchanged: issue 13).
    return fetch(url, { cache: "no-cache" }).then(function (r) {
      if (!r.ok) throw new Error(url + " -> " + r.status);
      return r.json();
    });
  }

  /* Colour classes: value 0 (or missing) is the lightest; breaks split the rest. */
  function colour(v, breaks, colors) {
    if (v == null || v === 0) return colors[0];
    // Sequential: 0 has its own class, so the breaks index from the second colour.
    var shift = cfg.measure === "balance" ? 0 : 1;
    for (var i = 0; i < breaks.length; i++) if (v <= breaks[i]) return colors[i + shift];
    return colors[colors.length - 1];
  }
  function quantileBreaks(values, k) {
    var nz = values.filter(function (v) { return v > 0; }).sort(function (a, b) { return a - b; });
    var out = [];
    if (!nz.length) return [1, 2, 3, 4].slice(0, k - 1);
    for (var i = 1; i < k; i++) out.push(nz[Math.min(nz.length - 1, Math.floor(nz.length * i / k))]);
    for (var j = 1; j < out.length; j++) if (out[j] <= out[j - 1]) out[j] = out[j - 1] + (out[j - 1] >= 1 ? 1 : 0.01);
    return out.map(function (b) { return Math.round(b * 100) / 100; });
  }
  function legend(breaks, colors, label) {
    var el = $("gg-legend");
    if (!el) return;
    var rows = [];
    if (cfg.measure === "balance") {
      rows.push([colors[0], "< " + breaks[0]]);
      for (var i = 1; i < breaks.length; i++) rows.push([colors[i], breaks[i - 1] + " – " + breaks[i]]);
      rows.push([colors[colors.length - 1], "> " + breaks[breaks.length - 1]]);
    } else {
      rows.push([colors[0], "0"]);
      var lo = 0;
      for (var j = 0; j < breaks.length; j++) { rows.push([colors[j + 1], "> " + lo + " – " + breaks[j]]); lo = breaks[j]; }
      rows.push([colors[colors.length - 1], "> " + lo]);
    }
    el.innerHTML = "<b>" + esc(label) + "</b>" + rows.map(function (r) {
      return '<div><i style="background:' + r[0] + '"></i>' + esc(r[1]) + "</div>";
    }).join("");
  }

  /* Grids: GeoJSON layers are restyled per feature; tile layers get a style function keyed by
   * grid code, fed by the measures-only JSON (tiles carry geometry, JSON carries numbers). */
  var measureByCode = {};
  function styleGrids() {
    var layer = window[cfg.grids];
    if (!layer) return;
    var m = cfg.measure;
    var values = [];
    if (cfg.gridsAreTiles) {
      for (var c in measureByCode) values.push(measureByCode[c][m] || 0);
    } else {
      layer.eachLayer(function (l) { values.push(l.feature.properties[m] || 0); });
    }
    var breaks = m === "balance" ? cfg.breaks : quantileBreaks(values, cfg.colors.length - 1);
    gg.breaks = breaks;
    legend(breaks, cfg.colors, (cfg.measures || {})[m] || m);
    if (cfg.gridsAreTiles) {
      layer.options.vectorTileLayerStyles.grids = function (p) {
        var v = (measureByCode[p.code] || {})[m];
        return { weight: 0.6, color: "#555", fill: true, fillColor: colour(v, breaks, cfg.colors), fillOpacity: 0.75 };
      };
      layer.redraw();
    } else {
      layer.eachLayer(function (l) {
        l.setStyle({ fillColor: colour(l.feature.properties[m], breaks, cfg.colors), fillOpacity: 0.75, color: "#555", weight: 0.6 });
      });
    }
  }
  function refreshGridMeasures() {
    if (!cfg.urls.grid_measures) return Promise.resolve();
    return getJSON(cfg.urls.grid_measures).then(function (fc) {
      var byCode = {};
      fc.features.forEach(function (f) { byCode[f.properties.code] = f.properties; });
      measureByCode = byCode;
      var layer = window[cfg.grids];
      if (layer && !cfg.gridsAreTiles) {
        layer.eachLayer(function (l) {
          var p = byCode[l.feature.properties.code];
          if (p) Object.assign(l.feature.properties, p);
        });
      }
      styleGrids();
      return byCode;
    });
  }

  /* The wall (center page) lives in wall.js; these are shared with it. */
  gg.styleGrids = styleGrids;
  gg.setMeasures = function (byCode) { measureByCode = byCode; };
  gg.refreshGridMeasures = refreshGridMeasures;

  /* The phone bar wraps to two or three rows depending on the screen and the status text:
   * keep Leaflet's scale and attribution just above it, whatever its height. */
  function keepAboveBar() {
    var bar = document.querySelector(".gg-bar");
    if (!bar) return;
    var place = function () {
      document.querySelectorAll(".leaflet-bottom").forEach(function (el) { el.style.bottom = bar.offsetHeight + "px"; });
    };
    place();
    // The status text, the open-cases list and rotating the phone all change its height.
    if (window.ResizeObserver) new ResizeObserver(place).observe(bar);
    else window.addEventListener("resize", place);
  }
  gg.keepAboveBar = keepAboveBar;
  gg.esc = esc;

  /* Planner: balance colouring and the generation switcher. */
  function initPlanner() {
    styleGrids();
    if (cfg.gridsAreTiles) refreshGridMeasures();
    if (cfg.redraw) initRedraw();
    var sel = $("gg-generation");
    if (sel) sel.onchange = function () {
      var u = new URL(window.location.href);
      u.searchParams.set("generation", sel.value);
      window.location.href = u.toString();
    };
  }

  /* Redraw (issue 15): run a plan in the background, show the draft against the band beside
   * the current grids, edit it (split, merge, move a block), read the impact, publish. Every
   * rule is checked by the server; its refusals (401, 403, 409, 422) are shown as the server
   * words them (in Chinese: api/errors.py), after a sentence in the page's language. Every other word
   * comes from the catalogue (area `planner`) through T(). */
  function initRedraw() {
    var map = window[cfg.map], base = cfg.redraw.plans;
    var T = window.gisgridBase.T;
    var st = { plan: null, selected: [], layer: null, diff: null, blocks: null, block: null, moving: false, current: null, fitted: null };
    gg.redraw = st;
    /* The catalogue's text escaped, each value escaped and in bold. */
    function Tb(key, params) {
      var s = esc(T(key));
      for (var k in params) s = s.split("{" + k + "}").join("<b>" + esc(params[k]) + "</b>");
      return s;
    }
    function api(method, url, body) {
      return fetch(url, {
        method: method, credentials: "same-origin", cache: "no-store",
        headers: body ? { "Content-Type": "application/json" } : {},
        body: body ? JSON.stringify(body) : undefined,
      }).catch(function () { throw new Error(T("planner.network_error")); }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (b) {
          if (!r.ok) throw new Error(typeof b.detail === "string" ? b.detail : T("planner.http_error", { status: r.status }));
          return b;
        });
      });
    }
    function say(el, text, bad) { $(el).textContent = text; $(el).className = "gg-note" + (bad ? " bad" : ""); }
    function band() { return st.plan ? st.plan.band : [+$("gg-band-min").value, +$("gg-band-max").value]; }
    function fill(p) {
      var b = band();
      if (p.in_band) return "#2f9e44";
      return p.households < b[0] ? "#1c7ed6" : "#c92a2a";
    }
    function style(f) {
      var sel = st.selected.indexOf(f.properties.code) >= 0;
      return { color: sel ? "#000" : "#333", weight: sel ? 4 : 1.5, fillColor: fill(f.properties), fillOpacity: sel ? 0.75 : 0.55 };
    }
    function select(code) {
      var i = st.selected.indexOf(code);
      if (st.moving && st.block != null) { moveTo(code); return; }
      if (i >= 0) st.selected.splice(i, 1);
      else { st.selected.push(code); if (st.selected.length > 2) st.selected.shift(); }
      if (st.layer) st.layer.setStyle(style);
      document.querySelectorAll("#gg-plan-table tbody tr").forEach(function (tr) {
        tr.classList.toggle("gg-sel", st.selected.indexOf(tr.getAttribute("data-code")) >= 0);
      });
      say("gg-plan-msg", st.selected.length ? T("planner.selected", { codes: st.selected.join(T("planner.list_sep")) }) : "");
    }
    gg.selectGrid = select;
    function pp(v) { return v == null ? "–" : (+v).toFixed(2); }
    function show(plan) {
      st.plan = plan;
      var feats = plan.grids.features;
      if (st.layer) map.removeLayer(st.layer);
      st.layer = L.geoJSON(plan.grids, {
        style: style,
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindTooltip(esc(T("planner.grid_tip", { code: p.code, households: p.households, pp: pp(p.polsby_popper) })), { sticky: true });
          l.on("click", function (e) { L.DomEvent.stopPropagation(e); select(p.code); });
        },
      }).addTo(map);
      // The current grids stay on the map as dashed outlines over the draft (not clickable),
      // so each draft grid is read against the lines people know today.
      var cur = window[cfg.grids];
      if (cur && cur.setStyle) cur.setStyle({ fillOpacity: 0, opacity: 0 });
      // Their colours are gone from the map, so is the legend that explained them.
      $("gg-legend").hidden = $("gg-colour-note").hidden = true;
      if (cur && cur.toGeoJSON && !st.current) {
        st.current = L.geoJSON(cur.toGeoJSON(), {
          interactive: false,
          style: { fill: false, color: "#222", weight: 1.2, opacity: 0.8, dashArray: "5 4" },
        });
      }
      if (st.current) { map.removeLayer(st.current); st.current.addTo(map); }
      // A new draft (a village of a town, say) is brought into view beside the panel once;
      // edits and reloads of the same plan leave the view where the planner put it.
      if (st.fitted !== plan.id && st.layer.getBounds().isValid()) {
        st.fitted = plan.id;
        fitBesidePanel(map, st.layer.getBounds());
      }
      var t = plan.summary.totals || {};
      $("gg-plan-totals").innerHTML = Tb("planner.totals", {
        grids: t.grids, in_band: t.grids_in_band, worst: t.worst_deviation, pp: pp(t.mean_polsby_popper), moved: t.households_moved,
      }) + (t.edits ? Tb("planner.totals_edits", { edits: t.edits }) : "");
      var rows = feats.slice().sort(function (a, b) { return a.properties.code < b.properties.code ? -1 : 1; });
      $("gg-plan-table").querySelector("tbody").innerHTML = rows.map(function (f) {
        var p = f.properties, word = T(p.in_band ? "planner.in_band_yes" : "planner.in_band_no");
        return '<tr data-code="' + esc(p.code) + '" title="' + esc(p.code) + '"><td>' + esc(p.code.slice(-6)) + "</td><td>" + esc(p.village_name || p.village) +
          "</td><td>" + esc(p.households) + '</td><td><i class="gg-chip" style="background:' + fill(p) + '"></i>' +
          '<span title="' + esc(word) + '" aria-label="' + esc(word) + '">' + (p.in_band ? "✓" : "✗") + "</span></td><td>" + pp(p.polsby_popper) + "</td></tr>";
      }).join("");
      $("gg-plan-table").querySelectorAll("tbody tr").forEach(function (tr) {
        tr.onclick = function () { select(tr.getAttribute("data-code")); };
      });
      st.selected = st.selected.filter(function (c) { return feats.some(function (f) { return f.properties.code === c; }); });
      $("gg-plan-draft").hidden = false;
      document.body.setAttribute("data-plan-ready", String(plan.id));
    }
    function load(id) {
      return api("GET", base + "/" + id).then(function (p) {
        var bar = $("gg-plan-progress");
        if (p.status === "ready" || p.status === "published") {
          bar.hidden = true;
          say("gg-plan-status", T(p.status === "ready" ? "planner.ready" : "planner.published_plan", { id: p.id }));
          show(p);
          return p;
        }
        if (p.status === "failed") {
          bar.hidden = true;
          // The API says why in `error` (a silent worker too); the catalogue's words if not.
          say("gg-plan-status", p.error ? T("planner.failed", { detail: p.error }) : T("planner.stalled"), true);
          return p;
        }
        bar.hidden = false; bar.value = p.progress;
        // The page says the share in its own language (the plan's message is Chinese only).
        say("gg-plan-status", p.status === "queued" ? T("planner.queued") : T("planner.running", { pct: Math.round(p.progress * 100) }));
        return new Promise(function (res) { setTimeout(res, 600); }).then(function () { return load(id); });
      });
    }
    $("gg-plan-run").onclick = function () {
      var body = { unit: $("gg-plan-unit").value, band: [+$("gg-band-min").value, +$("gg-band-max").value], mode: $("gg-plan-mode").value };
      st.plan = null;
      $("gg-plan-run").disabled = true;
      say("gg-plan-status", T("planner.queued"));
      api("POST", base, body).then(function (r) { return load(r.id); })
        .catch(function (e) { say("gg-plan-status", T("planner.refused", { detail: e.message }), true); })
        .then(function () { $("gg-plan-run").disabled = false; });
    };
    function describe(e) {
      if (e.op === "split") return T("planner.did_split", { grid: e.grid, parts: e.parts });
      if (e.op === "merge") return T("planner.did_merge", { grids: e.grids.join(" + "), kept: e.kept });
      return T("planner.did_move", { block: e.block, from: e.from, to: e.to });
    }
    function edit(body) {
      if (!st.plan) return;
      say("gg-plan-msg", T("planner.editing"));
      api("POST", base + "/" + st.plan.id + "/edits", body).then(function (r) {
        var n = +(document.body.getAttribute("data-plan-edits") || 0) + 1;
        return load(st.plan.id).then(function () {
          say("gg-plan-msg", T("planner.done", { what: describe(r.edit) }));
          document.body.setAttribute("data-plan-edits", String(n));
        });
      }).catch(function (e) { say("gg-plan-msg", T("planner.refused", { detail: e.message }), true); });
    }
    $("gg-edit-split").onclick = function () {
      if (st.selected.length !== 1) { say("gg-plan-msg", T("planner.need_one"), true); return; }
      edit({ op: "split", grid: st.selected[0], parts: +$("gg-split-parts").value || 2 });
    };
    $("gg-edit-merge").onclick = function () {
      if (st.selected.length !== 2) { say("gg-plan-msg", T("planner.need_two"), true); return; }
      edit({ op: "merge", grids: st.selected.slice() });
    };
    function moveTo(code) {
      var block = st.block;
      st.moving = false; st.block = null;
      if (st.blocks) { map.removeLayer(st.blocks); st.blocks = null; }
      edit({ op: "move", block: block, to: code });
    }
    $("gg-edit-move").onclick = function () {
      if (st.selected.length !== 1 || !st.plan) { say("gg-plan-msg", T("planner.need_one_move"), true); return; }
      var code = st.selected[0];
      api("GET", base + "/" + st.plan.id + "/blocks?village=" + code.slice(0, 12)).then(function (fc) {
        if (st.blocks) map.removeLayer(st.blocks);
        st.moving = true;
        st.blocks = L.geoJSON(fc, {
          filter: function (f) { return f.properties.grid === code; },
          style: { color: "#f08c00", weight: 1, fillOpacity: 0.1, dashArray: "3" },
          onEachFeature: function (f, l) {
            l.bindTooltip(esc(T("planner.block_tip", { block: f.properties.block, households: f.properties.households })));
            l.on("click", function (e) {
              L.DomEvent.stopPropagation(e);
              st.block = f.properties.block;
              st.blocks.setStyle(function (g) { return g.properties.block === st.block ? { color: "#f08c00", weight: 3, fillOpacity: 0.5 } : { color: "#f08c00", weight: 1, fillOpacity: 0.1, dashArray: "3" }; });
              say("gg-plan-msg", T("planner.block_chosen", { block: st.block }));
            });
          },
        }).addTo(map);
        say("gg-plan-msg", T("planner.pick_block"));
      }).catch(function (e) { say("gg-plan-msg", T("planner.refused", { detail: e.message }), true); });
    };
    $("gg-plan-impact").onclick = function () {
      if (!st.plan) return;
      api("GET", base + "/" + st.plan.id + "/impact").then(function (r) {
        if (st.diff) map.removeLayer(st.diff);
        st.diff = L.geoJSON(r.diff, { interactive: false, style: { color: "#7048e8", weight: 2, fillColor: "#7048e8", fillOpacity: 0.35 } }).addTo(map);
        var lin = Object.keys(r.lineage_counts).map(function (k) {
          var key = "planner.lineage_" + k, word = T(key);
          return (word === key ? k : word) + " " + r.lineage_counts[k];
        }).join(" · ");
        $("gg-plan-impact-out").innerHTML =
          Tb("planner.impact_households", { n: r.households_changing_grid, total: r.households }) + "<br>" +
          Tb("planner.impact_cases", { n: r.open_cases_changing_grid, total: r.open_cases }) + "<br>" +
          esc(T("planner.impact_lineage", { list: lin })) +
          (r.grids_without_staff.length ? "<br>" + esc(T("planner.impact_no_staff", { grids: r.grids_without_staff.join(T("planner.list_sep")) })) : "");
        $("gg-plan-impact-out").className = "gg-note";
        document.body.setAttribute("data-plan-impact", "1");
      }).catch(function (e) { say("gg-plan-impact-out", T("planner.refused", { detail: e.message }), true); });
    };
    $("gg-plan-publish").onclick = function () {
      if (!st.plan) return;
      var when = $("gg-plan-from").value;
      var body = when ? { valid_from: when } : {};
      $("gg-plan-publish").disabled = true;
      say("gg-plan-published", T("planner.publishing"));
      api("POST", base + "/" + st.plan.id + "/publish", body).then(function (r) {
        say("gg-plan-published", T("planner.published", { name: r.generation.name, grids: r.commit.grids_created }));
        document.body.setAttribute("data-published", r.generation.name);
      }).catch(function (e) { say("gg-plan-published", T("planner.not_published", { detail: e.message }), true); })
        .then(function () { $("gg-plan-publish").disabled = false; });
    };
  }

  /* A GCJ-02 basemap is offset from WGS84 by up to ~600 m in China. Overlays stay WGS84 (so
   * GPS and the database agree) and the basemap pane is shifted by the offset at the view
   * centre, recomputed on every move: within one screen the offset varies by well under a
   * pixel at street zooms. */
  var PI = Math.PI, A = 6378245.0, EE = 0.00669342162296594323;
  function tLat(x, y) {
    var r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
    r += (20 * Math.sin(y * PI) + 40 * Math.sin(y / 3 * PI)) * 2 / 3;
    r += (160 * Math.sin(y / 12 * PI) + 320 * Math.sin(y * PI / 30)) * 2 / 3;
    return r;
  }
  function tLon(x, y) {
    var r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
    r += (20 * Math.sin(x * PI) + 40 * Math.sin(x / 3 * PI)) * 2 / 3;
    r += (150 * Math.sin(x / 12 * PI) + 300 * Math.sin(x / 30 * PI)) * 2 / 3;
    return r;
  }
  function wgs2gcj(lat, lon) {
    if (lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271) return [lat, lon];
    var dLat = tLat(lon - 105, lat - 35), dLon = tLon(lon - 105, lat - 35);
    var rad = lat / 180 * PI, magic = Math.sin(rad);
    magic = 1 - EE * magic * magic;
    var s = Math.sqrt(magic);
    dLat = (dLat * 180) / ((A * (1 - EE)) / (magic * s) * PI);
    dLon = (dLon * 180) / (A / s * Math.cos(rad) * PI);
    return [lat + dLat, lon + dLon];
  }
  gg.wgs2gcj = wgs2gcj;
  function initBasemapShift(map) {
    var pane = map.getPane("basemap");
    if (!pane || cfg.basemapDatum !== "gcj02") return;
    function shift() {
      var c = map.getCenter(), g = wgs2gcj(c.lat, c.lng);
      var p1 = map.latLngToLayerPoint(c), p2 = map.latLngToLayerPoint(L.latLng(g[0], g[1]));
      pane.style.marginLeft = (p1.x - p2.x) + "px";
      pane.style.marginTop = (p1.y - p2.y) + "px";
      gg.basemapShift = [p1.x - p2.x, p1.y - p2.y];
    }
    map.on("moveend zoomend viewreset", shift);
    shift();
  }

  /* Fit the unit beside the panel rather than under it, on whichever side of the map the
   * panel lies (a bottom sheet on a phone, a side panel on a desktop). A panel that would
   * leave less than 120 px of map is ignored rather than asking Leaflet for a negative view
   * (that gave "Invalid LatLng (NaN, NaN)" on a 1280x720 desktop). */
  function fitBesidePanel(map, bounds) {
    if (!cfg.bbox && !bounds) return;
    var panel = document.querySelector(".gg-panel, .gg-bar");
    var b = cfg.bbox, tl = [10, 10], br = [10, 10], size = map.getSize();
    if (panel && panel.offsetParent !== null) {
      var r = panel.getBoundingClientRect(), m = map.getContainer().getBoundingClientRect();
      var overlapX = Math.min(r.right, m.right) - Math.max(r.left, m.left);
      var overlapY = Math.min(r.bottom, m.bottom) - Math.max(r.top, m.top);
      if (overlapX > 0 && overlapY > 0) {
        if (r.width >= m.width * 0.8) {  // across the map: above or below it
          if (r.top + r.height / 2 > m.top + m.height / 2) br[1] += m.bottom - r.top;
          else tl[1] += r.bottom - m.top;
        } else if (r.left + r.width / 2 < m.left + m.width / 2) tl[0] += r.right - m.left;
        else br[0] += m.right - r.left;
      }
      if (size.x - tl[0] - br[0] < 120 || size.y - tl[1] - br[1] < 120) { tl = [10, 10]; br = [10, 10]; }
    }
    map.fitBounds(bounds || [[b[1], b[0]], [b[3], b[2]]], { paddingTopLeft: tl, paddingBottomRight: br, animate: false });
    if (bounds) return;
    var ctrl = cfg.control && window[cfg.control];
    if (ctrl && window.innerWidth < 600) ctrl.collapse();
  }

  function init() {
    var map = window[cfg.map];
    gg.map = map;
    document.body.classList.add("gg-" + cfg.page);
    fitBesidePanel(map);
    initBasemapShift(map);
    // A page with its own script (worker.js, wall.js, resident.js) registered itself in
    // gg.pages (= window.gisgridPages), before or after this file loaded.
    if (gg.pages[cfg.page]) gg.pages[cfg.page](gg);
    else if (cfg.page === "planner") initPlanner();
    gg.ready = true;
    document.body.setAttribute("data-gisgrid-ready", "1");
  }
  // folium's map script runs at the end of <body>, after this file: wait for it.
  document.addEventListener("DOMContentLoaded", init);
})();
