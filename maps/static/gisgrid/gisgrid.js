/* gisgrid map pages: colouring, live cases, staff, offline worker map, GCJ-02 basemap shift.
 * Reads its settings from <script id="gisgrid-config">; folium creates the map and layers,
 * this file only fills and restyles them. Plain ES2017, no dependencies beyond Leaflet. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("gisgrid-config").textContent);
  var gg = (window.gisgrid = { cfg: cfg, reportIds: {}, polls: 0, errors: 0 });

  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }
  function hhmm(d) { return d.toTimeString().slice(0, 8); }
  function age(s) {
    if (s < 90) return Math.round(s) + " s";
    if (s < 5400) return Math.round(s / 60) + " min";
    return (s / 3600).toFixed(1) + " h";
  }
  function getJSON(url) {
    return fetch(url, { cache: "no-store" }).then(function (r) {
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

  /* A case on the worker's map. */
  function caseMarker(f) {
    var p = f.properties, c = f.geometry.coordinates;
    // Late red, due soon (临期) orange, on track yellow: the wall shows what to chase next.
    var mk = L.circleMarker([c[1], c[0]], {
      radius: p.overdue ? 6 : 5, weight: 1.5, color: p.overdue || p.due_soon ? "#fff" : "#7a5900",
      fillColor: p.overdue ? "#c92a2a" : p.due_soon ? "#f76707" : "#fcc419", fillOpacity: 0.95,
    });
    mk.feature = f;
    mk.bindPopup("<b>#" + p.id + " " + esc(p.category_zh) + "</b> " + esc(p.category_name) +
      "<br>" + esc(p.status) + " · " + esc(p.grid_name) +
      "<br>due " + esc(p.due_at ? new Date(p.due_at).toLocaleString() : "—") +
      (p.overdue ? ' <b style="color:#c92a2a">' + p.hours_overdue + " h late</b>" : "") +
      (p.due_soon ? ' <b style="color:#f76707">临期 due soon</b>' : "") +
      (p.supervised ? "<br>督办 ×" + p.supervised + " · chased by the center" : "") +
      (p.generated ? "<br><i>GENERATED demo report</i>" : ""));
    return mk;
  }
  /* Worker: render from the page's data, refresh every pollSeconds. Offline, a service worker
   * (/maps/sw.js) answers the page and its data from the last good copy; the status line says
   * whether the map is live and when the data on screen was fetched. */
  function showWorker(data, when) {
    var hh = window[cfg.households], cases = window[cfg.cases];
    if (!cfg.householdsAreTiles && data.households) {
      hh.clearLayers();
      data.households.features.forEach(function (f) {
        var p = f.properties, c = f.geometry.coordinates;
        L.circleMarker([c[1], c[0]], { radius: 4, weight: 1, color: "#fff", fillColor: p.c && p.c.length ? "#7048e8" : "#1971c2", fillOpacity: 0.9 })
          .bindPopup(esc(p.a) + "<br>" + p.n + " people" + (p.c && p.c.length ? "<br>care: " + esc(p.c.join(", ")) : ""))
          .addTo(hh);
      });
    }
    cases.clearLayers();
    var list = [];
    data.reports.features.forEach(function (f) {
      cases.addLayer(caseMarker(f));
      list.push(caseItem(f.properties));
    });
    // A note being typed must survive the next poll: the list waits until it is sent.
    if (!$("gg-cases").querySelector("form")) $("gg-cases").innerHTML = list.join("");
    $("gg-case-count").textContent = "(" + data.reports.features.length + ")";
    gg.shownAt = when;
    document.body.setAttribute("data-households", String(data.households ? data.households.features.length : 0));
    document.body.setAttribute("data-open-cases", String(data.reports.features.length));
  }
  /* The worker's own steps on a case, from the phone: accept (受理), feed back what was done
   * (处置反馈, the reporter sees the note) and escalate (上报). Verification and closing are the
   * center's (cases.STEPS); the server decides, this only offers what the status allows. */
  var STEP_LABEL = { accept: "受理", resolve: "反馈", escalate: "上报", supervise: "督办" };
  var NOTE_HINT = {
    resolve: "处置情况（反映人可见）· what was done; the reporter sees this",
    escalate: "上报原因 · why this needs the next level",
    supervise: "督办要求 · what the center expects, by when",
  };
  function stepsFor(status) {
    if (status === "dispatched") return ["accept", "resolve", "escalate"];
    if (status === "in_progress") return ["resolve", "escalate"];
    return [];
  }
  function caseItem(p) {
    var acts = cfg.snapshot ? [] : stepsFor(p.status);
    return '<li data-id="' + p.id + '" class="' + (p.overdue ? "late" : "") + '">' + esc(p.category_zh) +
      " · " + esc(p.status) + " · due " + esc(p.due_at ? new Date(p.due_at).toLocaleString() : "—") +
      (p.due_soon ? ' <span class="gg-badge soon">临期</span>' : "") +
      (p.supervised ? ' <span class="gg-badge">督办×' + p.supervised + "</span>" : "") +
      (acts.length ? '<span class="gg-steps"><br>' + acts.map(function (a) {
        return '<button type="button" data-step="' + a + '">' + STEP_LABEL[a] + "</button>";
      }).join("") + "</span>" : "") + "</li>";
  }
  function postStep(id, action, note) {
    return fetch("/api/v1/reports/" + id + "/steps", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ action: action, note: note }),
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) { var e = new Error(body.detail || "HTTP " + r.status); e.status = r.status; throw e; }
        return body;
      });
    });
  }
  function sendStep(li, action, note) {
    var id = li.getAttribute("data-id"), err = li.querySelector(".gg-step-err");
    if (!err) { li.insertAdjacentHTML("beforeend", '<span class="gg-step-err"></span>'); err = li.querySelector(".gg-step-err"); }
    var buttons = li.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    err.textContent = "…";
    return postStep(id, action, note).then(function () {
      gg.steps = (gg.steps || 0) + 1;
      if ($("gg-step-msg")) $("gg-step-msg").textContent = "#" + id + " " + STEP_LABEL[action] + " ✓ " + hhmm(new Date());
      li.setAttribute("data-done", action);
      var form = li.querySelector("form");
      if (form) form.remove();
      return gg.refresh();
    }, function (e) {
      // The typed note stays in its box: offline it is sent again by the same button later.
      err.textContent = e.status ? e.message : "离线，未提交：联网后再点一次 · offline, not sent: press again when connected";
      buttons.forEach(function (b) { b.disabled = false; });
    });
  }
  function initSteps(list) {
    if (!list || cfg.snapshot) return;
    list.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-step]");
      if (!b) return;
      var li = b.closest("li"), action = b.getAttribute("data-step");
      if (!NOTE_HINT[action]) { sendStep(li, action, null); return; }
      var open = li.querySelector("form");
      if (open) { var same = open.getAttribute("data-step") === action; open.remove(); if (same) return; }
      li.insertAdjacentHTML("beforeend", '<form class="gg-step-form" data-step="' + action + '">' +
        '<textarea name="note" rows="3" maxlength="2000" required placeholder="' + esc(NOTE_HINT[action]) + '"></textarea>' +
        '<button type="submit">提交' + STEP_LABEL[action] + "</button></form>");
      var form = li.querySelector("form");
      form.onsubmit = function (ev) { ev.preventDefault(); sendStep(li, action, form.note.value.trim()); };
      form.note.focus();
    });
  }
  /* "14:05", or "6月3日 14:05" when the data is not from today: old data must look old. */
  function whenText(d) {
    var t = ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
    return d.toDateString() === new Date().toDateString() ? t : (d.getMonth() + 1) + "月" + d.getDate() + "日 " + t;
  }
  function net(state, when) {
    var el = $("gg-net"), t = whenText(when);
    var text = {
      online: ["在线 · " + t + " 更新", "online: data fetched at " + t],
      offline: ["离线 · 显示 " + t + " 的数据", "offline: showing data fetched at " + t],
      signin: ["请重新登录 · 显示 " + t + " 的数据", "signed out: sign in again; showing data fetched at " + t],
    }[state];
    el.className = "gg-net " + (state === "online" ? "ok" : "bad");
    el.textContent = text[0];
    el.title = text[1];
    el.setAttribute("data-net", state);
  }
  function pollWorker() {
    gg.polls++;
    return fetch(cfg.urls.worker_data, { cache: "no-store" }).then(function (r) {
      if (r.status === 401 || r.status === 403) { net("signin", gg.shownAt); return; }
      if (!r.ok) throw new Error(cfg.urls.worker_data + " -> " + r.status);
      // Only copies kept by the service worker carry this header: no header, fresh from the server.
      var kept = cfg.offline && r.headers.get(cfg.offline.fetchedHeader);
      var when = new Date(kept || r.headers.get("Date") || Date.now());
      return r.json().then(function (data) {
        // A kept copy older than what is on screen (the page itself was newer) is not shown.
        if (!kept || when >= gg.shownAt) showWorker(data, when);
        net(kept ? "offline" : "online", kept ? gg.shownAt : when);
      });
    }).catch(function () {
      gg.errors++;
      net("offline", gg.shownAt);
    });
  }
  function initOffline() {
    var sw = navigator.serviceWorker;
    if (!cfg.offline || cfg.snapshot || !sw) return;
    // Copies older versions of this page left in localStorage (never read back): not kept.
    try { localStorage.removeItem("gisgrid:worker:" + cfg.urls.worker_data); } catch (e) { /* none */ }
    sw.register(cfg.offline.serviceWorker, { scope: cfg.offline.scope }).catch(function (e) { gg.offlineError = String(e); });
    sw.ready.then(function (reg) {
      // This page may have loaded before the service worker existed: ask it to keep a copy.
      var channel = new MessageChannel();
      channel.port1.onmessage = function (e) {
        gg.offlineReady = e.data.type === "kept";
        document.body.setAttribute("data-offline-ready", gg.offlineReady ? "1" : "0");
      };
      reg.active.postMessage({ type: "keep", urls: [location.href.split("#")[0]] }, [channel.port2]);
    });
    var form = $("gg-signout"), off = cfg.offline;
    form.addEventListener("submit", function (e) {
      // Clear this phone's copy first: sign-out must clear it even when the network is down
      // (the server's Clear-Site-Data answer cannot arrive then).
      e.preventDefault();
      var forget = window.caches ? caches.delete(off.personalCache) : Promise.resolve();
      forget.catch(function () {}).then(function () {
        return fetch(form.action, { method: "POST", credentials: "same-origin", redirect: "manual" });
      }).then(function () { location.replace("/login"); }, function () {
        // No network: the session cannot end now. Leave a mark so the service worker (or the
        // sign-in page) ends it first thing online, then show this page's "no copy here".
        var mark = window.caches ? caches.open(off.signoutCache).then(function (c) {
          return c.put(off.signoutUrl, new Response(""));
        }) : Promise.resolve();
        mark.catch(function () {}).then(function () { location.reload(); });
      });
    });
  }
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
  function initWorker() {
    keepAboveBar();
    var fetched = cfg.fetchedAt ? new Date(cfg.fetchedAt) : new Date();
    showWorker(cfg.initial, fetched);
    // A page older than two polls came from the service worker's copy (or the network is
    // down): say so now and try for fresher data at once instead of in pollSeconds.
    var stale = !navigator.onLine || Date.now() - fetched.getTime() > 2 * cfg.pollSeconds * 1000;
    net(stale ? "offline" : "online", fetched);
    if (stale && !cfg.snapshot) pollWorker();
    initOffline();
    initSteps($("gg-cases"));
    window.addEventListener("offline", function () { net("offline", gg.shownAt); });
    window.addEventListener("online", pollWorker);
    gg.refresh = pollWorker;
    $("gg-locate").onclick = function () {
      if (!navigator.geolocation) { $("gg-net").textContent = "no GPS on this device"; return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        var me = window[cfg.me], ll = [pos.coords.latitude, pos.coords.longitude];
        me.clearLayers();
        L.circle(ll, { radius: pos.coords.accuracy, weight: 1, color: "#1c7ed6", fillOpacity: 0.1 }).addTo(me);
        L.circleMarker(ll, { radius: 7, color: "#fff", weight: 2, fillColor: "#1c7ed6", fillOpacity: 1 }).addTo(me);
        window[cfg.map].setView(ll, Math.max(window[cfg.map].getZoom(), 16));
        gg.located = ll;
      }, function (err) { $("gg-net").textContent = "location: " + err.message; }, { enableHighAccuracy: true, timeout: 15000 });
    };
    if (!cfg.snapshot) setInterval(pollWorker, cfg.pollSeconds * 1000);
  }

  /* Planner: balance colouring and the generation switcher. */
  function initPlanner() {
    styleGrids();
    if (cfg.gridsAreTiles) refreshGridMeasures();
    var sel = $("gg-generation");
    if (sel) sel.onchange = function () {
      var u = new URL(window.location.href);
      u.searchParams.set("generation", sel.value);
      window.location.href = u.toString();
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
  function fitBesidePanel(map) {
    if (!cfg.bbox) return;
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
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { paddingTopLeft: tl, paddingBottomRight: br, animate: false });
    var ctrl = cfg.control && window[cfg.control];
    if (ctrl && window.innerWidth < 600) ctrl.collapse();
  }

  gg.keepAboveBar = keepAboveBar;
  function init() {
    var map = window[cfg.map];
    gg.map = map;
    document.body.classList.add("gg-" + cfg.page);
    fitBesidePanel(map);
    initBasemapShift(map);
    if (cfg.page === "worker") initWorker();
    else if (cfg.page === "planner") initPlanner();
    else if (window.gisgridPages && window.gisgridPages[cfg.page]) window.gisgridPages[cfg.page](gg);
    gg.ready = true;
    document.body.setAttribute("data-gisgrid-ready", "1");
  }
  // folium's map script runs at the end of <body>, after this file: wait for it.
  document.addEventListener("DOMContentLoaded", init);
})();
