/* gisgrid's shared map base: the service's own basemap, place names thinned by zoom, a metric
 * scale bar and the search box, on every map page (wall, worker, planner, residents).
 * Reads <script id="gisgrid-base">; runs before the page's own script (gisgrid.js), which can
 * use window.gisgridBase (T, the layers, search events). Plain ES2017, Leaflet + VectorGrid. */
(function () {
  "use strict";
  var base = JSON.parse(document.getElementById("gisgrid-base").textContent);
  var pageStrings = null;
  /* Words come from the catalogue (maps/locales): the base's own area and the page's areas. */
  function T(key, params) {
    if (pageStrings === null) {
      var el = document.getElementById("gisgrid-config");
      pageStrings = el ? (JSON.parse(el.textContent).strings || {}) : {};
    }
    var s = base.strings[key] || pageStrings[key] || key;
    if (params) for (var k in params) s = s.split("{" + k + "}").join(String(params[k]));
    return s;
  }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  var api = (window.gisgridBase = { cfg: base, T: T, esc: esc, labelsShown: 0 });

  /* A vector tile that cannot be fetched (a worker's phone out of coverage) is an empty tile,
   * not an unhandled rejection: VectorGrid's createTile has no catch of its own. */
  if (L.VectorGrid && L.VectorGrid.Protobuf && !L.VectorGrid.Protobuf.prototype._gisgridQuiet) {
    var tilePromise = L.VectorGrid.Protobuf.prototype._getVectorTilePromise;
    L.VectorGrid.Protobuf.prototype._getVectorTilePromise = function () {
      return tilePromise.apply(this, arguments).catch(function () { return { layers: {} }; });
    };
    L.VectorGrid.Protobuf.prototype._gisgridQuiet = true;
  }

  /* ---- The basemap: one vector tile per z/x/y (gisgrid.mapdata.basemap), drawn on canvas. */
  var ROAD = [
    // rank: [colour, width at z<=12, casing colour]
    ["#f3a64a", 3.5, "#c77f2a"],
    ["#f9d27c", 2.6, "#d2a95a"],
    ["#ffffff", 2.0, "#cfc8bb"],
    ["#ffffff", 1.1, "#d8d2c6"],
  ];
  function roadStyle(p, z) {
    var r = ROAD[p.rank] || ROAD[3];
    var w = r[1] * (z >= 16 ? 2.6 : z >= 15 ? 2 : z >= 13 ? 1.5 : 1);
    return { stroke: true, color: r[0], weight: w, opacity: 1, lineCap: "round", lineJoin: "round", fill: false };
  }
  var STYLES = {
    water: function () { return { fill: true, fillColor: "#a8cfe0", fillOpacity: 1, stroke: false }; },
    green: function (p) {
      return { fill: true, fillColor: p.class === "forest" ? "#c9e0bd" : "#dcebd0", fillOpacity: 1, stroke: false };
    },
    waterway: function (p, z) {
      var w = { river: 3, canal: 2.2, stream: 1.3 }[p.class] || 1;
      return { stroke: true, color: "#8fc0d8", weight: w * (z >= 14 ? 1.6 : 1), fill: false };
    },
    buildings: function () {
      return { fill: true, fillColor: "#ddd3c8", fillOpacity: 1, stroke: true, color: "#c4b5a6", weight: 0.6 };
    },
    roads: roadStyle,
    boundaries: function (p, z) {
      if (p.level === "county") return { stroke: true, color: "#7b5a8c", weight: 2.6, dashArray: "10 5", fill: false, opacity: 0.9 };
      if (p.level === "town") return { stroke: true, color: "#9d83ab", weight: 1.6, dashArray: "7 5", fill: false, opacity: 0.9 };
      return { stroke: true, color: "#b7a6c1", weight: z >= 14 ? 1.4 : 1, dashArray: "3 4", fill: false, opacity: 0.9 };
    },
  };

  /* ---- Place names: fetched once per area, drawn as text, the less important ones left out
   * where they would overlap (bigger places first), and only from the zoom each one belongs. */
  var SIZE = { county: 20, city: 19, town: 17, village: 15, suburb: 15, water: 14, grid: 13 };
  var WEIGHT = { county: 700, city: 700, town: 700 };
  function textWidth(s, px) {
    var w = 0;
    for (var i = 0; i < s.length; i++) w += s.charCodeAt(i) > 0x2e80 ? px : px * 0.6;
    return w;
  }
  var Labels = L.Layer.extend({
    initialize: function (url) { this._url = url; this._items = []; this._box = null; },
    onAdd: function (map) {
      this._el = L.DomUtil.create("div", "gg-labels leaflet-zoom-hide", map.getPane("gglabels"));
      map.on("moveend", this._update, this);
      this._update();
    },
    onRemove: function (map) {
      map.off("moveend", this._update, this);
      L.DomUtil.remove(this._el);
    },
    _load: function () {
      // Names of the page's area and a margin around it; again only when the view leaves it.
      var map = this._map, b = map.getBounds().pad(0.5), self = this;
      if (base.bbox) {
        var own = L.latLngBounds([base.bbox[1], base.bbox[0]], [base.bbox[3], base.bbox[2]]).pad(0.1);
        if (own.contains(map.getBounds())) b = own.extend(map.getBounds());
      }
      var box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(4); });
      this._box = b;
      this._loading = true;
      return fetch(this._url + "&bbox=" + box.join(","), { credentials: "same-origin" }).then(function (r) {
        return r.ok ? r.json() : { labels: [], sources: {} };
      }).then(function (body) {
        self._items = body.labels || [];
        self._loading = false;
        attribution(body.sources || {});
        self._update();
      }, function () { self._loading = false; });
    },
    _update: function () {
      var map = this._map;
      if (!map) return;
      if (!this._loading && (!this._box || !this._box.contains(map.getBounds()))) { this._load(); return; }
      var z = map.getZoom(), size = map.getSize(), placed = [], html = [];
      var scale = document.body.classList.contains("gg-large") ? 1.35 : 1;
      for (var i = 0; i < this._items.length; i++) {
        var l = this._items[i];
        if (l.z > z) continue;
        var ll = L.latLng(l.y, l.x), c = map.latLngToContainerPoint(ll);
        if (c.x < -50 || c.y < -20 || c.x > size.x + 50 || c.y > size.y + 20) continue;
        var px = Math.round((SIZE[l.k] || 14) * scale), w = textWidth(l.n, px) + 8, h = px + 6;
        var box = [c.x - w / 2, c.y - h / 2, c.x + w / 2, c.y + h / 2], clash = false;
        for (var j = 0; j < placed.length && !clash; j++) {
          var o = placed[j];
          clash = box[0] < o[2] && box[2] > o[0] && box[1] < o[3] && box[3] > o[1];
        }
        if (clash) continue;
        placed.push(box);
        var p = map.latLngToLayerPoint(ll);
        html.push('<div class="gg-label gg-label-' + esc(l.k) + '" style="left:' + Math.round(p.x) + "px;top:" +
          Math.round(p.y) + "px;font-size:" + px + "px;font-weight:" + (WEIGHT[l.k] || 400) + '">' + esc(l.n) + "</div>");
      }
      this._el.innerHTML = html.join("");
      api.labelsShown = placed.length;
      document.body.setAttribute("data-labels", String(placed.length));
    },
  });

  function attribution(sources) {
    var map = api.map, parts = [T("map.attr_units")];
    if (!map || !map.attributionControl) return;
    if (sources.osm) parts.push(T("map.attr_osm"));
    if (sources.generated_roads) parts.push(T("map.attr_generated_roads"));
    var text = parts.join("；");
    if (api._attr) map.attributionControl.removeAttribution(api._attr);
    map.attributionControl.addAttribution(esc(text));
    api._attr = esc(text);
  }

  /* ---- Search: places, cases by number, and (for staff in scope) households. One box on
   * every map; choosing a result flies there and tells the page (event "gisgrid:found"). */
  var KIND = {
    county: "map.kind_county", town: "map.kind_town", village: "map.kind_village", grid: "map.kind_grid",
    address: "map.kind_address", place: "map.kind_place", case: "map.kind_case", household: "map.kind_household",
  };
  var Search = L.Control.extend({
    options: { position: "topleft" },
    onAdd: function (map) {
      var div = L.DomUtil.create("div", "gg-search leaflet-bar");
      div.innerHTML = '<form role="search" autocomplete="off"><input type="search" name="q" enterkeyhint="search" ' +
        'aria-label="' + esc(T("map.search_label")) + '" placeholder="' + esc(T("map.search_placeholder")) + '">' +
        '<button type="submit">' + esc(T("map.search_button")) + "</button></form>" +
        '<ul class="gg-search-results" role="listbox" hidden></ul><p class="gg-search-note" role="status" hidden></p>';
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      var form = div.querySelector("form"), input = form.q, list = div.querySelector("ul"),
        note = div.querySelector("p"), timer = null, seq = 0, results = [];
      function say(text) { note.hidden = !text; note.textContent = text || ""; }
      function show(items) {
        results = items;
        list.hidden = !items.length;
        list.innerHTML = items.map(function (r, i) {
          return '<li><button type="button" data-i="' + i + '"><b>' + esc(r.name) + "</b><span>" +
            esc(T(KIND[r.kind] || "map.kind_place")) + (r.sub ? " · " + esc(r.sub) : "") +
            (r.phone_tail ? " · " + esc(T("map.phone_tail", { tail: r.phone_tail })) : "") + "</span></button></li>";
        }).join("");
      }
      function run(now) {
        var q = input.value.trim(), mine = ++seq;
        if (q.length < (now ? 1 : 2)) { show([]); say(""); return; }
        var url = base.search + (base.search.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(q) +
          (base.unit ? "&unit=" + encodeURIComponent(base.unit) : "");
        fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : { results: [] }; })
          .then(function (body) {
            if (mine !== seq) return;  // an older answer after a newer question
            show(body.results || []);
            say(body.results && body.results.length ? "" : T("map.search_none", { q: q }));
            if (now && body.results && body.results.length === 1) choose(body.results[0]);
          }, function () { if (mine === seq) say(T("map.search_offline")); });
      }
      function choose(r) {
        show([]);
        say("");
        input.value = r.name;
        input.blur();
        api.found = r;
        var pad = freeArea(map), to = r.bbox ? [[r.bbox[1], r.bbox[0]], [r.bbox[3], r.bbox[2]]] :
          [[r.lat - 0.0008, r.lon - 0.0008], [r.lat + 0.0008, r.lon + 0.0008]];
        map.flyToBounds(to, { maxZoom: 17, duration: 0.6, paddingTopLeft: pad[0], paddingBottomRight: pad[1] });
        highlight(r);
        document.body.setAttribute("data-found", r.kind + ":" + (r.id || r.code || r.name));
        document.dispatchEvent(new CustomEvent("gisgrid:found", { detail: r }));
      }
      input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(function () { run(false); }, 250); });
      form.addEventListener("submit", function (e) { e.preventDefault(); clearTimeout(timer); run(true); });
      list.addEventListener("click", function (e) {
        var b = e.target.closest("button[data-i]");
        if (!b) return;
        // Emptying the list detaches the button: Leaflet would then take this click for the
        // map's (it looks for the control among the target's parents). Stop it here first.
        L.DomEvent.stop(e);
        var r = results[+b.getAttribute("data-i")];
        setTimeout(function () { choose(r); }, 0);
      });
      input.addEventListener("keydown", function (e) { if (e.key === "Escape") { show([]); say(""); } });
      api.search = { run: run, choose: choose, input: input };
      return div;
    },
  });
  /* The part of the map no panel covers, as Leaflet paddings [topLeft, bottomRight]: a
   * bottom sheet on a phone, a side panel on a desktop (the same rule as the pages' first fit). */
  function freeArea(map) {
    var tl = [20, 20], br = [20, 20], size = map.getSize();
    var panel = document.querySelector(".gg-sheet, .gg-bar, .gg-panel");
    if (panel && panel.offsetParent !== null) {
      var r = panel.getBoundingClientRect(), m = map.getContainer().getBoundingClientRect();
      var overlapX = Math.min(r.right, m.right) - Math.max(r.left, m.left);
      var overlapY = Math.min(r.bottom, m.bottom) - Math.max(r.top, m.top);
      if (overlapX > 0 && overlapY > 0) {
        if (r.width >= m.width * 0.8) {
          if (r.top + r.height / 2 > m.top + m.height / 2) br[1] += m.bottom - r.top;
          else tl[1] += r.bottom - m.top;
        } else if (r.left + r.width / 2 < m.left + m.width / 2) tl[0] += r.right - m.left;
        else br[0] += m.right - r.left;
      }
      if (size.x - tl[0] - br[0] < 120 || size.y - tl[1] - br[1] < 120) return [[20, 20], [20, 20]];
    }
    return [tl, br];
  }
  api.freeArea = freeArea;
  var marks = null;
  function highlight(r) {
    if (!marks) marks = L.layerGroup().addTo(api.map);
    marks.clearLayers();
    var ll = [r.lat, r.lon];
    if (r.bbox) L.rectangle([[r.bbox[1], r.bbox[0]], [r.bbox[3], r.bbox[2]]], { color: "#e8590c", weight: 3, fill: false, dashArray: "8 6", interactive: false }).addTo(marks);
    L.circleMarker(ll, { radius: 14, color: "#e8590c", weight: 4, fill: false, className: "gg-found", interactive: false }).addTo(marks);
    setTimeout(function () { if (marks) marks.clearLayers(); }, 8000);
  }

  function init() {
    var map = window[base.map];
    api.map = map;
    map.createPane("ggbase").style.zIndex = 150;  // under the overlays, never shifted
    var lp = map.createPane("gglabels");
    lp.style.zIndex = 450;  // over the grids, under markers and pop-ups
    lp.style.pointerEvents = "none";
    L.control.scale({ metric: true, imperial: false }).addTo(map);
    if (map.attributionControl) map.attributionControl.setPrefix(false);
    if (base.tiles && L.vectorGrid) {
      api.basemap = L.vectorGrid.protobuf(base.tiles, {
        pane: "ggbase",
        vectorTileLayerStyles: STYLES,
        interactive: false,
        maxNativeZoom: 16,
        maxZoom: 19,
        minZoom: 5,
        keepBuffer: 2,
      });
      api.labels = new Labels(base.labels);
      if (!base.external) { api.basemap.addTo(map); api.labels.addTo(map); }
      // The wall's layer list (when the page has one) offers it beside an external basemap.
      var cfgEl = document.getElementById("gisgrid-config");
      var ctrlName = cfgEl ? JSON.parse(cfgEl.textContent).control : null;
      var ctrl = ctrlName && window[ctrlName];
      if (ctrl) ctrl.addBaseLayer(api.basemap, T("map.own_basemap"));
      map.on("baselayerchange", function (e) {
        if (e.layer === api.basemap) api.labels.addTo(map); else map.removeLayer(api.labels);
      });
    }
    if (base.search) new Search().addTo(map);
  }
  document.addEventListener("DOMContentLoaded", init);
})();
