/* gisgrid map pages: colouring, live cases, staff, offline worker map, GCJ-02 basemap shift.
 * Reads its settings from <script id="gisgrid-config">; folium creates the map and layers,
 * this file only fills and restyles them. Plain ES2017, no dependencies beyond Leaflet. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("gisgrid-config").textContent);
  var gg = (window.gisgrid = { cfg: cfg, reportIds: {}, polls: 0, errors: 0, pages: {} });

  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
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
    });
  }

  /* Center: live cases (poll), heat, overdue list, ranking, staff. */
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
  /* New cases (last hour), newest first: what just came in, before it can be late. A case
   * seen for the first time since the page opened is marked, so a new arrival stands out. */
  var NEW_MS = 3600 * 1000;
  function showNew(features) {
    var ol = $("gg-new");
    if (!ol) return;
    var now = Date.now(), seen = gg.seenIds || null, fresh = {};
    var recent = features.filter(function (f) {
      return now - new Date(f.properties.reported_at).getTime() < NEW_MS;
    }).sort(function (a, b) { return new Date(b.properties.reported_at) - new Date(a.properties.reported_at); });
    $("gg-new-count").textContent = "(" + recent.length + ")";
    ol.innerHTML = recent.slice(0, 10).map(function (f, i) {
      var p = f.properties, arrived = seen && !seen[p.id];
      if (arrived) fresh[p.id] = true;
      return '<li data-i="' + i + '" class="' + (arrived ? "gg-arrived" : "") + '">' + esc(p.category_zh) + " · " +
        esc(p.grid_name) + " · " + hhmm(new Date(p.reported_at)).slice(0, 5) + "</li>";
    }).join("");
    ol.onclick = function (e) {
      var i = e.target.getAttribute("data-i");
      if (i == null) return;
      var c = recent[+i].geometry.coordinates;
      window[cfg.map].setView([c[1], c[0]], 15);
    };
    gg.seenIds = {};
    features.forEach(function (f) { gg.seenIds[f.properties.id] = true; });
    document.body.setAttribute("data-new-cases", String(recent.length));
  }
  function showReports(fc) {
    var group = window[cfg.reports], heat = window[cfg.heat];
    var ids = {};
    group.clearLayers();
    fc.features.forEach(function (f) { ids[f.properties.id] = true; group.addLayer(caseMarker(f)); });
    gg.reportIds = ids;
    gg.reportCount = fc.features.length;
    if (heat) heat.setLatLngs(fc.features.map(function (f) { return [f.geometry.coordinates[1], f.geometry.coordinates[0]]; }));
    var late = fc.features.filter(function (f) { return f.properties.overdue; })
      .sort(function (a, b) { return b.properties.hours_overdue - a.properties.hours_overdue; });
    if ($("gg-overdue-count")) $("gg-overdue-count").textContent = "(" + late.length + ")";
    var ol = $("gg-overdue");
    showNew(fc.features);
    var soon = fc.features.filter(function (f) { return f.properties.due_soon; }).length;
    document.body.setAttribute("data-due-soon", String(soon));
    if ($("gg-due-soon")) $("gg-due-soon").textContent = soon ? "· " + soon + " due soon (临期)" : "";
    // A 督办 note being typed must survive the 3 s poll: the list waits until it is sent.
    if (ol && !ol.querySelector("form")) {
      ol.innerHTML = late.slice(0, 30).map(function (f, i) {
        var p = f.properties;
        return '<li class="late" data-i="' + i + '" data-id="' + p.id + '">' + esc(p.category_zh) + " · " +
          esc(p.grid_name) + " · " + p.hours_overdue + " h" +
          (p.supervised ? ' <span class="gg-badge">督办×' + p.supervised + "</span>" : "") +
          (cfg.snapshot ? "" : ' <button type="button" class="gg-mini" data-step="supervise">督办</button>') + "</li>";
      }).join("");
      ol.onclick = function (e) {
        if (e.target.closest("button, form")) return;  // the step UI, not a zoom
        var i = e.target.getAttribute("data-i");
        if (i == null) return;
        var c = late[+i].geometry.coordinates;
        window[cfg.map].setView([c[1], c[0]], 15);
      };
    }
    document.body.setAttribute("data-open-cases", String(fc.features.length));
  }
  function showRanking(rows) {
    var t = $("gg-ranking");
    if (!t || !rows) return;
    // Live load first (overdue, open), then the last 30 days' on-time closure rate (按期结案率).
    var pct = function (x) { return x === null || x === undefined ? "–" : (100 * x).toFixed(1) + "%"; };
    t.innerHTML = "<tr><th>#</th><th>Unit</th><th>Overdue</th><th>Open</th><th>/100 hh</th>" +
      "<th title=\"closed by the time limit / due, last 30 days\">On time</th></tr>" +
      rows.map(function (r) {
        return "<tr><td>" + r.rank + "</td><td>" + esc(r.name) + "</td><td>" + r.overdue_cases +
          "</td><td>" + r.open_cases + "</td><td>" + r.open_per_100 + "</td><td title=\"" +
          r.due_30d + " due, closure " + pct(r.closure_rate_30d) + "\">" + pct(r.on_time_rate_30d) + "</td></tr>";
      }).join("");
  }
  var STAFF_LABELS_MAX = 40;
  function showStaff(fc) {
    var group = window[cfg.staff];
    group.clearLayers();
    // Names stay on the map for a village's few workers; a county's hundreds would bury it,
    // so there they show on hover.
    var permanent = fc.features.length <= STAFF_LABELS_MAX;
    fc.features.forEach(function (f) {
      var p = f.properties, c = f.geometry.coordinates;
      var stale = p.age_s > 3600;
      L.circleMarker([c[1], c[0]], { radius: permanent ? 6 : 3.5, color: "#1c3d8f", weight: permanent ? 2 : 1, fillColor: stale ? "#adb5bd" : "#4dabf7", fillOpacity: 1 })
        .bindTooltip(esc(p.name) + " · " + age(p.age_s) + " ago", { permanent: permanent, direction: "right", className: "gg-staff-label" })
        .addTo(group);
    });
    var note = $("gg-staff-note");
    if (note) note.textContent = fc.note || fc.features.length + " staff with a position in the last 24 h";
  }
  function liveStatus(ok, text) {
    var dot = $("gg-live-dot"), st = $("gg-live-status");
    if (dot) dot.className = "gg-dot " + (ok ? "ok" : "bad");
    if (st) st.textContent = text;
  }
  function pollCenter() {
    gg.polls++;
    var jobs = [getJSON(cfg.urls.reports).then(showReports)];
    if (gg.polls % 5 === 1 && cfg.urls.staff) jobs.push(getJSON(cfg.urls.staff).then(showStaff));
    if (gg.polls % 10 === 0) {
      jobs.push(refreshGridMeasures());
      if (cfg.urls.ranking) jobs.push(getJSON(cfg.urls.ranking).then(showRanking));
    }
    return Promise.all(jobs).then(function () {
      gg.lastOk = new Date();
      liveStatus(true, "live · " + gg.reportCount + " open · updated " + hhmm(gg.lastOk));
    }, function () {
      gg.errors++;
      liveStatus(false, "no connection · showing data from " + (gg.lastOk ? hhmm(gg.lastOk) : "page load"));
    }).then(function () {
      setTimeout(pollCenter, cfg.pollSeconds * 1000);
    });
  }
  function initCenter() {
    var sel = $("gg-measure");
    if (sel) sel.onchange = function () {
      cfg.measure = sel.value;
      styleGrids();
      var u = new URL(window.location.href);
      u.searchParams.set("measure", sel.value);
      history.replaceState(null, "", u.toString());
    };
    if (cfg.initialReports) showReports(cfg.initialReports);
    gg.refresh = function () { return getJSON(cfg.urls.reports).then(showReports); };
    initSteps($("gg-overdue"));
    liveStatus(true, "live · " + (gg.reportCount || 0) + " open · loaded " + hhmm(new Date()));
    if (cfg.initialStaff) showStaff(cfg.initialStaff);
    showRanking(cfg.ranking);
    var first = cfg.gridsAreTiles ? refreshGridMeasures() : Promise.resolve(styleGrids());
    if (cfg.snapshot) { liveStatus(true, "snapshot · " + new Date().toLocaleString()); return; }
    first.then(function () { setTimeout(pollCenter, cfg.pollSeconds * 1000); });
    // Push (issue 16): a case event in this unit runs the poll at once; polling stays the
    // fallback when the stream is down (EventSource reconnects by itself).
    if (window.EventSource && cfg.urls.events) {
      var es = (gg.events = new EventSource(cfg.urls.events)), soon = null;
      var now = function () {
        if (soon) return;
        soon = setTimeout(function () { soon = null; gg.refresh().then(function () { gg.pushed = (gg.pushed || 0) + 1; }, function () {}); }, 30);
      };
      ["case", "cases", "resync"].forEach(function (t) { es.addEventListener(t, now); });
    }
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
  /* Planner: balance colouring and the generation switcher. */
  gg.keepAboveBar = keepAboveBar;
  gg.esc = esc;

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

  /* Residents: tap the map (or use GPS) to place the problem, choose what, send. The report
   * carries an Idempotency-Key made once per report, so pressing Send again after a dropped
   * connection can never file it twice; the answer is the number to follow it by. */
  function newKey() {
    if (window.crypto && crypto.randomUUID) return "web-" + crypto.randomUUID();
    return "web-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }
  /* A random name for this phone, kept on it: the server limits reports per phone (and, much
   * more loosely, per address), so a village behind one NAT address is not silenced. */
  var DEVICE = "gisgrid:device";
  function device() {
    var d = null;
    try { d = localStorage.getItem(DEVICE); } catch (e) { /* private mode: one per page load */ }
    if (!d || !/^[A-Za-z0-9_-]{16,64}$/.test(d)) {
      d = newKey().replace(/[^A-Za-z0-9_-]/g, "").slice(0, 64);
      try { localStorage.setItem(DEVICE, d); } catch (e) { /* kept for this page only */ }
    }
    return d;
  }
  /* This phone's own reports, kept on the phone only (the follow-up links carry the receipt
   * that lets the reporter rate the outcome): nothing about them is stored server-side. */
  var MINE = "gisgrid:my-reports";
  function mine() { try { return JSON.parse(localStorage.getItem(MINE) || "[]"); } catch (e) { return []; } }
  function remember(r) {
    var list = mine().filter(function (x) { return x.id !== r.id; });
    list.unshift(r);
    try { localStorage.setItem(MINE, JSON.stringify(list.slice(0, 20))); } catch (e) { /* full: keep the page's link */ }
    showMine();
  }
  function showMine() {
    var el = $("gg-mine"), list = mine();
    if (!el) return;
    el.innerHTML = list.length ? "我提交的 · my reports: " + list.map(function (r) {
      return '<a href="' + esc(r.url) + '">#' + r.id + "</a> " + esc((r.what || "").split(" · ")[0]);
    }).join(" · ") : "";
  }
  function initResident() {
    showMine();
    var map = window[cfg.map], pick = window[cfg.pick], form = $("gg-report");
    var where = $("gg-where"), result = $("gg-result"), send = $("gg-send");
    var point = null, key = null;
    keepAboveBar();
    function place(lat, lon, accuracy) {
      point = { lon: lon, lat: lat };
      pick.clearLayers();
      if (accuracy) L.circle([lat, lon], { radius: accuracy, weight: 1, fillOpacity: 0.1 }).addTo(pick);
      L.marker([lat, lon]).addTo(pick);
      where.textContent = "已选地点 · place: " + lat.toFixed(5) + ", " + lon.toFixed(5);
      where.className = "gg-note ok";
      key = null;  // another place is another report
      document.body.setAttribute("data-picked", "1");
    }
    map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng); });
    // The grid layer sits on top: a tap on a grid must place the point too.
    if (cfg.grids && window[cfg.grids]) window[cfg.grids].on("click", function (e) { place(e.latlng.lat, e.latlng.lng); });
    $("gg-locate").onclick = function () {
      if (!navigator.geolocation) { where.textContent = "这台设备没有定位 · no GPS here: tap the map"; return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        place(pos.coords.latitude, pos.coords.longitude, pos.coords.accuracy);
        map.setView([pos.coords.latitude, pos.coords.longitude], Math.max(map.getZoom(), 16));
      }, function (err) { where.textContent = "定位失败 · location: " + err.message + " (tap the map)"; },
      { enableHighAccuracy: true, timeout: 15000 });
    };
    function say(ok, html) {
      result.className = ok ? "ok" : "bad";
      result.innerHTML = html;
      if (result.scrollIntoView) result.scrollIntoView({ block: "nearest" });
    }
    form.addEventListener("input", function () { key = null; });  // changed text: a new report
    form.onsubmit = function (e) {
      e.preventDefault();
      if (!point) { say(false, "请先在地图上点选地点 · tap the map where the problem is first"); return; }
      if (!form.service_code.value) { say(false, "请选择类别 · choose what kind of problem"); return; }
      if (!form.description.value.trim()) { say(false, "请描述问题 · say what is wrong"); return; }
      key = key || newKey();
      send.disabled = true;
      say(true, "正在提交… · sending…");
      fetch(cfg.urls.file, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": key, "X-Device-Token": device() },
        body: JSON.stringify({
          service_code: form.service_code.value, lon: point.lon, lat: point.lat, crs: "wgs84",
          description: form.description.value.trim(), address: form.address.value.trim() || null,
          phone: form.phone.value.trim() || null,
        }),
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (b) {
          if (!r.ok) { say(false, esc(b.detail || "HTTP " + r.status)); return; }
          var grid = b.grid ? esc(b.grid.name) : "—";
          var due = b.due_at ? new Date(b.due_at).toLocaleString() : "—";
          remember({ id: b.id, url: b.follow_url || b.track_url, what: form.service_code.selectedOptions[0].text, at: new Date().toISOString() });
          say(true, "已提交，编号 · filed as <a id=\"gg-track\" href=\"" + esc(b.follow_url || b.track_url) + "\">#" + b.id + "</a><br>" +
            "交给 · sent to: " + grid + "<br>时限 · due by: " + esc(due) +
            (b.duplicate_of ? "<br>已有人反映同一问题（#" + b.duplicate_of + "），一并办理 · already reported, handled together" : "") +
            "<br>记下编号可查询进度 · keep the number to follow it");
          gg.filed = b.id;
          document.body.setAttribute("data-filed", String(b.id));
          form.description.value = "";
          key = null;
        });
      }, function () {
        // Nothing heard back: it may or may not have arrived. The same key makes a retry safe.
        say(false, "网络不稳，未确认提交 · no answer from the server: press Send again (it will not be filed twice)");
      }).then(function () { send.disabled = false; });
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

  /* Fit the unit beside (desktop) or above (phone) the panel rather than under it. */
  function fitBesidePanel(map) {
    var panel = document.querySelector(".gg-panel, .gg-bar");
    if (!panel || !cfg.bbox) return;
    var b = cfg.bbox, r = panel.getBoundingClientRect();
    var narrow = window.innerWidth < 600 || panel.classList.contains("gg-bar");
    // A panel as wide (or tall) as the map would leave no room: Leaflet then computes NaN.
    var size = map.getSize(), room = 80;
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]], {
      paddingTopLeft: [10, 10],
      paddingBottomRight: narrow
        ? [10, Math.min(r.height + 10, Math.max(0, size.y - room))]
        : [Math.min(r.width + 20, Math.max(0, size.x - room)), 10],
      animate: false,
    });
    var ctrl = cfg.control && window[cfg.control];
    if (ctrl && narrow) ctrl.collapse();
  }

  function init() {
    var map = window[cfg.map];
    gg.map = map;
    document.body.classList.add("gg-" + cfg.page);
    fitBesidePanel(map);
    initBasemapShift(map);
    if (cfg.page === "center") initCenter();
    else if (gg.pages[cfg.page]) gg.pages[cfg.page](gg);  // a page with its own script
    else if (cfg.page === "planner") initPlanner();
    else if (cfg.page === "resident") initResident();
    gg.ready = true;
    document.body.setAttribute("data-gisgrid-ready", "1");
  }
  // folium's map script runs at the end of <body>, after this file: wait for it.
  document.addEventListener("DOMContentLoaded", init);
})();
