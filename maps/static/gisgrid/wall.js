/* The center's wall (一图统管): live cases with alarms, headline figures, charts, filters, a case
 * drawer, large type. Registered with gisgrid.js (window.gisgridPages.center).
 *
 * Cases arrive once with the page; after that the wall asks only for what changed
 * (/maps/data/wall?since=<version>), every few seconds, or at once when the server's event
 * stream (/api/v1/events, push) says something happened. Counts on the map, in the lists and
 * in the ranking are computed here from that one set of cases, so they always agree; rates,
 * trends and mixes come from /maps/data/dashboard when the filters change and every 5 minutes. */
(function () {
  "use strict";
  var pages = (window.gisgridPages = window.gisgridPages || {});
  var base = window.gisgridBase, T = base.T, esc = base.esc;
  var OPEN = { submitted: 1, registered: 1, dispatched: 1, in_progress: 1 };
  var ON_WALL = { submitted: 1, registered: 1, dispatched: 1, in_progress: 1, resolved: 1 };
  var NEW_MS = 3600 * 1000;
  var DASHBOARD_MS = 5 * 60 * 1000, FULL_MS = 10 * 60 * 1000, STAFF_MS = 60 * 1000;
  var STAFF_LABELS_MAX = 40;

  function $(id) { return document.getElementById(id); }
  /* A key built from a prefix and a value (a status, a step): Tk("center.step_", "close"). */
  function Tk(prefix, value) { return T(prefix + value); }
  function getJSON(url) {
    return fetch(url, { cache: "no-store", credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { var e = new Error(url + " -> " + r.status); e.status = r.status; throw e; }
      return r.json();
    });
  }
  function pct(x) { return x === null || x === undefined ? "–" : (100 * x).toFixed(1) + "%"; }
  /* Times as people here read them, in China time whatever the screen's own zone:
   * "14:05", with the date "11月28日 14:05" (English "28 Nov 14:05"). */
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function clock(ms, withDate) {
    var d = new Date(ms + 8 * 3600 * 1000);
    var hm = ("0" + d.getUTCHours()).slice(-2) + ":" + ("0" + d.getUTCMinutes()).slice(-2);
    if (!withDate) return hm;
    if (document.documentElement.lang === "en") return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + hm;
    return (d.getUTCMonth() + 1) + "月" + d.getUTCDate() + "日 " + hm;
  }
  function chinaDayStart(ms) {
    var d = new Date(ms + 8 * 3600 * 1000);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - 8 * 3600 * 1000;
  }
  function hoursText(h) {
    if (h < 1) return T("center.minutes", { n: Math.max(1, Math.round(h * 60)) });
    if (h < 48) return T("center.hours", { n: h < 10 ? h.toFixed(1) : Math.round(h) });
    return T("center.days_n", { n: (h / 24).toFixed(1) });
  }

  pages.center = function (gg) {
    var cfg = gg.cfg, W = cfg.wall, map = window[cfg.map];
    var cases = {}, version = null, offset = 0, seen = null, lastOk = null, failing = false;
    var arrivedSinceDash = {};
    var cats = {}, grids = {}, filters = W.filters, dash = W.dashboard, charts = {};
    W.categories.forEach(function (c) { cats[c.code] = c; });
    var steps = W.steps || {}, outcomes = W.outcomes || {}, cancelReasons = W.cancel_reasons || [];

    /* Grid names and households, by code: from the grid layer (or, with grid tiles, the
     * measures the page fetched). Counts per grid are recomputed from the cases. */
    var gridLayer = window[cfg.grids];
    if (!cfg.gridsAreTiles && gridLayer) gridLayer.eachLayer(function (l) { grids[l.feature.properties.code] = l.feature.properties; });

    function now() { return Date.now() + offset; }
    function dueState(k) {
      if (!OPEN[k.s] || !k.d) return "";
      var t = now() / 1000;
      if (k.d < t) return "late";
      if (k.dsp && k.d - t < (k.d - k.dsp) / 4) return "soon";
      return "";
    }
    function inFilter(k) {
      if (filters.unit && k.g.indexOf(filters.unit.replace(/0+$/, "")) !== 0 && k.g.indexOf(unitPrefix(filters.unit)) !== 0) return false;
      if (filters.category) {
        var c = cats[k.c];
        if (filters.category !== k.c && (!c || c.family !== filters.category)) return false;
      }
      return true;
    }
    function unitPrefix(code) {
      if (code.length === 12 && code.slice(6) === "000000") return code.slice(0, 6);
      if (code.length === 12 && code.slice(9) === "000") return code.slice(0, 9);
      return code;
    }
    function catName(code) { return (cats[code] || {}).name || code; }
    function gridName(code) { return (grids[code] || {}).name || code; }

    /* ---- The map: one marker per case; alarms (emergencies, safety) as pulsing DOM markers. */
    var group = window[cfg.reports], heat = window[cfg.heat];
    var markerById = {};
    function marker(k) {
      var st = dueState(k), ll = [k.y, k.x];
      var large = document.body.classList.contains("gg-large");
      var mk;
      if (k.a && OPEN[k.s]) {
        mk = L.marker(ll, { icon: L.divIcon({ className: "gg-alarm-mark", html: "<i></i>", iconSize: large ? [34, 34] : [26, 26] }), keyboard: false, zIndexOffset: 1000 });
      } else if (k.s === "resolved") {
        mk = L.circleMarker(ll, { radius: large ? 8 : 6, weight: 3, color: "#2b8a3e", fillColor: "#fff", fillOpacity: 1 });
      } else {
        mk = L.circleMarker(ll, {
          radius: (st === "late" ? 7 : 6) * (large ? 1.35 : 1), weight: 1.5,
          color: st ? "#fff" : "#7a5900", fillColor: st === "late" ? "#c92a2a" : st === "soon" ? "#f76707" : "#fcc419", fillOpacity: 0.95,
        });
      }
      mk.on("click", function () { openCase(k.id); });
      mk.bindTooltip("#" + k.id + " " + esc(catName(k.c)) + " · " + esc(gridName(k.g)), { direction: "top" });
      return mk;
    }
    function drawMap(list) {
      group.clearLayers();
      markerById = {};
      list.forEach(function (k) { var mk = marker(k); markerById[k.id] = mk; group.addLayer(mk); });
      if (heat) heat.setLatLngs(list.filter(function (k) { return OPEN[k.s]; }).map(function (k) { return [k.y, k.x]; }));
    }

    /* ---- Counts by grid for the choropleth, from the cases on the wall (all of them: the
     * colours show the unit's load; the filters pick what is listed and marked). */
    function recolour() {
      var byGrid = {};
      for (var id in cases) {
        var k = cases[id];
        if (!OPEN[k.s]) continue;
        var b = byGrid[k.g] || (byGrid[k.g] = { open_cases: 0, overdue_cases: 0 });
        b.open_cases++;
        if (dueState(k) === "late") b.overdue_cases++;
      }
      var byCode = {};
      Object.keys(grids).forEach(function (code) {
        var p = grids[code], b = byGrid[code] || { open_cases: 0, overdue_cases: 0 };
        p.open_cases = b.open_cases;
        p.overdue_cases = b.overdue_cases;
        p.open_per_100 = p.households ? Math.round(10000 * b.open_cases / p.households) / 100 : 0;
        byCode[code] = p;
      });
      if (cfg.gridsAreTiles) gg.setMeasures(byCode);
      gg.styleGrids();
    }

    /* ---- Lists: alarms, new in the last hour, overdue (latest due first), to verify. */
    function item(k, extra, cls) {
      return '<li class="' + (cls || "") + '"><button type="button" data-id="' + k.id + '">' +
        '<b>' + esc(catName(k.c)) + "</b> · " + esc(gridName(k.g)) + (extra ? " · " + extra : "") +
        (k.sv ? ' <span class="gg-badge">' + esc(T("center.supervised_n", { n: k.sv })) + "</span>" : "") + "</button></li>";
    }
    function showLists(list) {
      var t = now();
      var alarms = list.filter(function (k) { return k.a && OPEN[k.s]; }).sort(function (a, b) { return b.t - a.t; });
      var fresh = list.filter(function (k) { return t - k.t * 1000 < NEW_MS; }).sort(function (a, b) { return b.t - a.t; });
      var late = list.filter(function (k) { return dueState(k) === "late"; }).sort(function (a, b) { return a.d - b.d; });
      var soon = list.filter(function (k) { return dueState(k) === "soon"; }).length;
      var verify = list.filter(function (k) { return k.s === "resolved"; }).sort(function (a, b) { return a.d - b.d; });
      $("gg-alarm-count").textContent = "(" + alarms.length + ")";
      $("gg-alarms").innerHTML = alarms.slice(0, 10).map(function (k) { return item(k, clock(k.t * 1000), "alarm"); }).join("");
      $("gg-new-count").textContent = "(" + fresh.length + ")";
      $("gg-new").innerHTML = fresh.slice(0, 10).map(function (k) {
        return item(k, clock(k.t * 1000), seen && !seen[k.id] ? "gg-arrived" : "");
      }).join("");
      $("gg-overdue-count").textContent = "(" + late.length + ")";
      $("gg-due-soon").textContent = soon ? T("center.due_soon_n", { n: soon }) : "";
      $("gg-overdue").innerHTML = late.slice(0, 40).map(function (k) {
        return item(k, T("center.late_by", { t: hoursText((t / 1000 - k.d) / 3600) }), "late");
      }).join("");
      $("gg-verify-count").textContent = "(" + verify.length + ")";
      $("gg-verify").innerHTML = verify.slice(0, 20).map(function (k) { return item(k, "", "verify"); }).join("");
      document.body.setAttribute("data-new-cases", String(fresh.length));
      document.body.setAttribute("data-due-soon", String(soon));
      document.body.setAttribute("data-alarm", String(alarms.length));
      alarmBanner(alarms);
    }

    /* ---- Figures: live counts from the cases; rates from the dashboard. */
    function setFig(key, value, state) {
      var el = $("gg-fig-" + key);
      if (!el) return;
      el.querySelector("b").textContent = value;
      el.className = "gg-fig" + (state ? " " + state : "");
    }
    function showFigures(list) {
      var t = now(), day = chinaDayStart(t);
      var open = list.filter(function (k) { return OPEN[k.s]; });
      var late = open.filter(function (k) { return dueState(k) === "late"; }).length;
      setFig("open", open.length);
      // Reported today: the server's count when the figures were read (closed ones included),
      // plus the cases that arrived on the wall since then.
      var arrivedToday = Object.keys(arrivedSinceDash).filter(function (id) {
        return cases[id] && cases[id].t * 1000 >= day && inFilter(cases[id]);
      }).length;
      setFig("new_today", (dash ? dash.figures.new_today : 0) + arrivedToday);
      setFig("overdue", late, late ? "bad" : "");
      setFig("to_verify", list.filter(function (k) { return k.s === "resolved"; }).length);
      var f = dash ? dash.figures : {};
      setFig("on_time", pct(f.on_time_rate), f.on_time_rate !== null && f.on_time_rate < 0.85 ? "warn" : "");
      setFig("satisfaction", pct(f.satisfaction));
      document.body.setAttribute("data-open-cases", String(open.length));
    }

    /* ---- Ranking of the units under this one: live load from the cases, on-time closure of
     * the period from the dashboard. Worst first: overdue, then open per 100 households. */
    function showRanking(list) {
      var rows = (cfg.ranking || []).map(function (r) {
        var prefix = unitPrefix(r.code), open = 0, late = 0;
        list.forEach(function (k) {
          if (OPEN[k.s] && k.g.indexOf(prefix) === 0) { open++; if (dueState(k) === "late") late++; }
        });
        var score = ((dash && dash.units) || []).filter(function (u) { return u.code === r.code; })[0] || {};
        return { code: r.code, name: r.name, open: open, late: late, per100: r.households ? 100 * open / r.households : 0,
          onTime: score.on_time_rate !== undefined ? score.on_time_rate : r.on_time_rate_30d };
      }).sort(function (a, b) { return b.late - a.late || b.per100 - a.per100 || (a.code < b.code ? -1 : 1); });
      $("gg-ranking").innerHTML = "<tr><th>#</th><th>" + esc(T("center.rank_unit")) + "</th><th>" + esc(T("center.rank_overdue")) +
        "</th><th>" + esc(T("center.rank_open")) + "</th><th>" + esc(T("center.rank_per100")) + "</th><th>" + esc(T("center.rank_on_time")) + "</th></tr>" +
        rows.map(function (r, i) {
          return '<tr data-code="' + esc(r.code) + '"><td>' + (i + 1) + "</td><td>" + esc(r.name) + "</td><td>" + r.late + "</td><td>" + r.open +
            "</td><td>" + r.per100.toFixed(1) + "</td><td>" + pct(r.onTime) + "</td></tr>";
        }).join("");
    }

    /* ---- Charts (ECharts, served by gisgrid): trend, category mix, 三事分流. */
    function fontSize() { return parseFloat(getComputedStyle(document.body).fontSize) || 17; }
    function chart(id) {
      if (!window.echarts || !$(id)) return null;
      if (!charts[id]) charts[id] = echarts.init($(id), null, { renderer: "canvas" });
      return charts[id];
    }
    function showCharts() {
      if (!dash) return;
      var fs = fontSize(), text = { color: "#1f2328", fontSize: fs * 0.85 };
      var trend = chart("gg-chart-trend");
      if (trend) trend.setOption({
        animation: false, grid: { left: fs * 2.6, right: fs * 0.8, top: fs * 2, bottom: fs * 1.8 },
        legend: { top: 0, textStyle: text, itemWidth: fs, itemHeight: fs * 0.6 },
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: dash.trend.map(function (d) { return d.day.slice(5).replace("-", "/"); }), axisLabel: text },
        yAxis: { type: "value", minInterval: 1, axisLabel: text, splitLine: { lineStyle: { color: "#e5e5e5" } } },
        series: [
          { name: T("center.trend_received"), type: "line", smooth: true, symbol: "none", lineStyle: { width: 3 }, color: "#1c7ed6", data: dash.trend.map(function (d) { return d.received; }) },
          { name: T("center.trend_closed"), type: "line", smooth: true, symbol: "none", lineStyle: { width: 3 }, color: "#2b8a3e", data: dash.trend.map(function (d) { return d.closed; }) },
        ],
      }, true);
      var top = dash.by_category.slice(0, 7).reverse();
      var bar = chart("gg-chart-category");
      if (bar) bar.setOption({
        animation: false, grid: { left: fs * 7.5, right: fs * 2.2, top: fs * 0.4, bottom: fs * 0.4 },
        tooltip: {}, xAxis: { type: "value", show: false },
        yAxis: { type: "category", data: top.map(function (r) { return catName(r.code); }), axisLabel: text, axisTick: { show: false } },
        series: [{ type: "bar", data: top.map(function (r) { return r.n; }), color: "#e8590c", barMaxWidth: fs * 1.2,
          label: { show: true, position: "right", color: "#1f2328", fontSize: fs * 0.85 } }],
      }, true);
      var pie = chart("gg-chart-triage");
      if (pie) pie.setOption({
        animation: false, tooltip: { trigger: "item" },
        legend: { orient: "vertical", right: 0, top: "middle", textStyle: text, itemWidth: fs, itemHeight: fs * 0.7 },
        series: [{ type: "pie", radius: ["42%", "72%"], center: ["32%", "50%"],
          // Whole percents: "26.47%" beside the ring was cut to "26.5..." on the wall.
          percentPrecision: 0, label: { show: true, formatter: "{d}%", fontSize: fs * 0.8, color: "#1f2328" },
          data: dash.by_triage.map(function (r) { return { name: Tk("center.triage_", r.class), value: r.n }; }),
          color: ["#1c7ed6", "#f59f00", "#37b24d"] }],
      }, true);
      document.body.setAttribute("data-charts", "1");
    }

    /* ---- Everything that depends on the cases and filters. */
    function render() {
      var list = [];
      for (var id in cases) if (inFilter(cases[id])) list.push(cases[id]);
      gg.reportIds = {};
      for (var id2 in cases) if (OPEN[cases[id2].s]) gg.reportIds[id2] = true;
      gg.reportCount = list.length;
      drawMap(list);
      recolour();
      showLists(list);
      showFigures(list);
      showRanking(list);
      if (drawerId && cases[drawerId]) refreshDrawerHead(cases[drawerId]);
      seen = seen || {};
      for (var id3 in cases) seen[id3] = true;
    }

    /* ---- Live: the delta, and whether the wall is live. */
    function liveStatus(ok) {
      var dot = $("gg-live-dot"), st = $("gg-live-status");
      dot.className = "gg-dot " + (ok ? "ok" : "bad");
      st.textContent = ok ? T("center.live", { time: clock(lastOk || now()) }) :
        T("center.offline", { time: lastOk ? clock(lastOk) : "—" });
      document.body.setAttribute("data-live", ok ? "1" : "0");
    }
    function apply(body) {
      offset = new Date(body.now).getTime() - Date.now();
      if (body.full) cases = {};
      var arrived = [];
      body.cases.forEach(function (k) {
        if (ON_WALL[k.s]) {
          if (!cases[k.id] && !body.full) { arrived.push(k); arrivedSinceDash[k.id] = true; }
          cases[k.id] = k;
        } else delete cases[k.id];
      });
      version = body.version;
      gg.version = version;
      gg.bytesIn = (gg.bytesIn || 0);
      if (body.cases.length || body.full) render();
      arrived.forEach(function (k) { if (k.a && OPEN[k.s]) sound(); });
    }
    /* One request at a time; asked again meanwhile (a push during a poll: the change may have
     * committed after the running request read), it runs once more right after. */
    var running = null, again = false;
    function delta() {
      if (running) { again = true; return running; }
      gg.polls = (gg.polls || 0) + 1;
      running = getJSON(cfg.urls.wall + "&since=" + encodeURIComponent(version)).then(function (body) {
        apply(body);
        lastOk = now();
        failing = false;
        liveStatus(true);
      }, function () {
        gg.errors = (gg.errors || 0) + 1;
        failing = true;
        liveStatus(false);
      }).then(function () {
        running = null;
        if (again) { again = false; return delta(); }
      });
      return running;
    }
    function full() { return getJSON(cfg.urls.wall).then(apply); }
    gg.refresh = delta;

    /* ---- Staff: positions every minute, only those who moved. */
    var staffById = {};
    function showStaff(fc, replace) {
      if (replace) staffById = {};
      fc.features.forEach(function (f) { staffById[f.properties.staff_id] = f; });
      var group = window[cfg.staff], list = Object.keys(staffById).map(function (k) { return staffById[k]; });
      group.clearLayers();
      var permanent = list.length <= STAFF_LABELS_MAX, t = now();
      list.forEach(function (f) {
        var p = f.properties, c = f.geometry.coordinates, age = (t - new Date(p.fixed_at).getTime()) / 1000;
        L.circleMarker([c[1], c[0]], { radius: permanent ? 6 : 3.5, color: "#1c3d8f", weight: permanent ? 2 : 1, fillColor: age > 3600 ? "#adb5bd" : "#4dabf7", fillOpacity: 1 })
          .bindTooltip(esc(p.name) + " · " + esc(T("center.staff_ago", { t: hoursText(age / 3600) })), { permanent: permanent, direction: "right", className: "gg-staff-label" })
          .addTo(group);
      });
      $("gg-staff-note").textContent = list.length ? T("center.staff_n", { n: list.length }) : T("center.staff_none");
    }
    var staffSince = null;
    function pollStaff() {
      if (!cfg.urls.staff) return;
      var after = new Date(staffSince - 5 * 60 * 1000).toISOString();
      var asked = now();
      getJSON(cfg.urls.staff + "&after=" + encodeURIComponent(after)).then(function (fc) {
        staffSince = asked;
        if (fc.features.length) showStaff(fc, false);
      }, function () { /* next minute */ });
    }

    /* ---- Dashboard: figures, charts, the ranking's rates; on filter change and every 5 min. */
    function dashboardUrl() {
      var u = cfg.urls.dashboard.replace(/unit=[^&]*/, "unit=" + encodeURIComponent(filters.unit || W.unit || cfg.urls.dashboard.match(/unit=([^&]*)/)[1]));
      return u + "&days=" + filters.days + (filters.category ? "&category=" + encodeURIComponent(filters.category) : "");
    }
    function loadDashboard() {
      return getJSON(dashboardUrl()).then(function (d) {
        dash = d;
        arrivedSinceDash = {};
        showCharts();
        render();
      }, function () { /* keep the last one */ });
    }

    /* ---- Filters (town, category, period): the URL remembers them. */
    function remember() {
      var u = new URL(location.href);
      [["area", filters.unit], ["category", filters.category], ["days", String(filters.days)]].forEach(function (p) {
        if (p[1] && !(p[0] === "days" && p[1] === "30")) u.searchParams.set(p[0], p[1]); else u.searchParams.delete(p[0]);
      });
      history.replaceState(null, "", u.toString());
    }
    function flyToUnit(jump) {
      var kid = W.children.filter(function (c) { return c.code === filters.unit; })[0];
      var b = kid ? kid.bbox : cfg.bbox, to = [[b[1], b[0]], [b[3], b[2]]];
      if (jump) map.fitBounds(to, { padding: [20, 20], animate: false });
      else map.flyToBounds(to, { duration: 0.5, padding: [20, 20] });
    }
    $("gg-f-unit").onchange = function () { filters.unit = this.value; remember(); flyToUnit(); render(); loadDashboard(); };
    $("gg-f-cat").onchange = function () { filters.category = this.value; remember(); render(); loadDashboard(); };
    $("gg-f-days").onchange = function () { filters.days = +this.value; remember(); loadDashboard(); };
    var measureSel = $("gg-measure");
    measureSel.onchange = function () {
      cfg.measure = measureSel.value;
      // Patrol coverage is not in the page (it takes the server seconds): ask for it once.
      if (cfg.measure === "coverage" && !gg.coverageLoaded) {
        gg.coverageLoaded = true;
        gg.refreshGridMeasures().then(function (byCode) { if (cfg.gridsAreTiles) indexMeasures(byCode); else render(); });
      }
      var u = new URL(location.href);
      u.searchParams.set("measure", measureSel.value);
      history.replaceState(null, "", u.toString());
      var exp = $("gg-export");
      if (exp) exp.href = exp.href.replace(/measure=[^&]*/, "measure=" + measureSel.value);
      gg.styleGrids();
    };
    document.querySelector(".gg-right").addEventListener("click", function (e) {
      var b = e.target.closest("button[data-id]");
      if (b) openCase(+b.getAttribute("data-id"));
      var tr = e.target.closest("tr[data-code]");
      if (tr) { filters.unit = tr.getAttribute("data-code"); $("gg-f-unit").value = filters.unit; remember(); flyToUnit(); render(); loadDashboard(); }
    });

    /* ---- Alarm: emergencies and safety cases run on a 24-hour clock; the wall shows them
     * in red and sounds (once the operator has switched sound on: browsers allow sound only
     * after a click). */
    var audio = null, soundOn = false;
    function sound() {
      gg.alarms = (gg.alarms || 0) + 1;
      document.body.setAttribute("data-alarm-sounded", String(gg.alarms));
      if (!soundOn || !audio) return;
      var t0 = audio.currentTime;
      [0, 0.35, 0.7].forEach(function (dt) {
        var o = audio.createOscillator(), g = audio.createGain();
        o.type = "square"; o.frequency.value = 880;
        g.gain.setValueAtTime(0.0001, t0 + dt);
        g.gain.exponentialRampToValueAtTime(0.25, t0 + dt + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t0 + dt + 0.25);
        o.connect(g); g.connect(audio.destination);
        o.start(t0 + dt); o.stop(t0 + dt + 0.3);
      });
    }
    $("gg-sound").onclick = function () {
      soundOn = !soundOn;
      if (soundOn && !audio && (window.AudioContext || window.webkitAudioContext)) audio = new (window.AudioContext || window.webkitAudioContext)();
      if (audio && audio.state === "suspended") audio.resume();
      this.textContent = T(soundOn ? "center.sound_on" : "center.sound_off");
      this.setAttribute("aria-pressed", String(soundOn));
      if (soundOn) sound();
    };
    function alarmBanner(alarms) {
      var el = $("gg-alarm");
      if (!alarms.length) { el.hidden = true; return; }
      var k = alarms[0];
      el.hidden = false;
      el.innerHTML = '<button type="button" data-id="' + k.id + '">' + esc(T("center.alarm_banner", { n: alarms.length })) +
        "<br><b>" + esc(catName(k.c)) + " · " + esc(gridName(k.g)) + " · " + esc(clock(k.t * 1000)) + "</b></button>";
    }
    $("gg-alarm").addEventListener("click", function (e) {
      var b = e.target.closest("button[data-id]");
      if (b) openCase(+b.getAttribute("data-id"));
    });

    /* ---- Large type for reading at three metres; remembered on this screen. */
    function setLarge(on) {
      document.body.classList.toggle("gg-large", on);
      $("gg-large").setAttribute("aria-pressed", String(on));
      try { localStorage.setItem("gisgrid:wall-large", on ? "1" : "0"); } catch (e) { /* private mode */ }
      setTimeout(function () {
        map.invalidateSize();
        flyToUnit(true);
        Object.keys(charts).forEach(function (id) { charts[id].resize(); });
        showCharts();
        render();
        if (base.labels) base.labels._update();
      }, 50);
    }
    $("gg-large").onclick = function () { setLarge(!document.body.classList.contains("gg-large")); };
    $("gg-large").setAttribute("aria-pressed", String(document.body.classList.contains("gg-large")));

    /* ---- The case drawer: what the case is, its history, and the center's steps on it. */
    var drawerId = null, ring = null;
    var drawer = $("gg-drawer");
    /* Only what the loop allows a case at its status (and, for 立案, at its stage: found true
     * on site first): cases.STEPS on the server, sent with the page. */
    function allowed(a, k) {
      var s = steps[a];
      return s.from.indexOf(k.s) >= 0 && (!s.stages || s.stages.indexOf(k.st) >= 0);
    }
    function stepButtons(k) {
      return Object.keys(steps).filter(function (a) { return allowed(a, k); }).map(function (a) {
        return '<button type="button" class="gg-btn gg-step-' + a + '" data-step="' + a + '">' + esc(Tk("center.step_", a)) + "</button>";
      }).join("");
    }
    function refreshDrawerHead(k) {
      var head = drawer.querySelector(".gg-drawer-status");
      if (head) head.innerHTML = statusLine(k);
      var acts = drawer.querySelector(".gg-drawer-steps");
      if (acts && !drawer.querySelector("form")) acts.innerHTML = stepButtons(k);
    }
    /* A report not yet registered waits for its on-site check (核查) or, found true, to be
     * registered (立案): the stage says which, and the check has a time limit of its own. */
    function statusText(k) {
      if (k.s === "submitted" && (k.st === "collected" || k.st === "checked")) return Tk("center.stage_", k.st);
      return Tk("center.status_", k.s);
    }
    function statusLine(k) {
      var st = dueState(k), t = now() / 1000;
      var checkBy = !k.d && k.sd && k.s === "submitted";
      return '<span class="gg-status gg-status-' + esc(k.s) + '">' + esc(statusText(k)) + "</span> " +
        (k.d ? esc(T("center.due_at", { t: clock(k.d * 1000, true) })) : "") +
        (checkBy ? esc(T("center.stage_due_at", { t: clock(k.sd * 1000, true) })) : "") +
        (checkBy && k.sd < t ? ' <b class="late">' + esc(T("center.late_by", { t: hoursText((t - k.sd) / 3600) })) + "</b>" : "") +
        (st === "late" ? ' <b class="late">' + esc(T("center.late_by", { t: hoursText((t - k.d) / 3600) })) + "</b>" : "") +
        (st === "soon" ? ' <b class="soon">' + esc(T("center.due_soon")) + "</b>" : "") +
        (k.a ? ' <b class="late">' + esc(T("center.alarm_case")) + "</b>" : "");
    }
    function openCase(id) {
      var k = cases[id];
      drawerId = id;
      drawer.hidden = false;
      document.body.classList.add("gg-drawer-open");
      document.body.setAttribute("data-drawer", String(id));
      drawer.innerHTML = '<header><h2>#' + id + " " + esc(k ? catName(k.c) : "") + '</h2><button type="button" class="gg-btn gg-close" aria-label="' +
        esc(T("center.close_drawer")) + '">×</button></header><p class="gg-drawer-status">' + (k ? statusLine(k) : "") + "</p><div class=\"gg-drawer-body\">" + esc(T("center.loading")) + "</div>";
      if (k) {
        map.flyTo([k.y, k.x], Math.max(map.getZoom(), 15), { duration: 0.5 });
        // A ring round the case on the map: which dot the drawer is about.
        if (ring) map.removeLayer(ring);
        ring = L.circleMarker([k.y, k.x], { radius: 18, color: "#1c7ed6", weight: 4, fill: false, interactive: false }).addTo(map);
      }
      return getJSON(cfg.urls.case + id).then(function (file) {
        if (drawerId !== id) return;
        showFile(id, file);
      }, function (e) {
        if (drawerId !== id) return;
        drawer.querySelector(".gg-drawer-body").textContent = T(e.status === 403 ? "center.case_forbidden" : "center.case_failed");
      });
    }
    function showFile(id, file) {
      var k = cases[id] || { id: id, s: file.status, st: file.stage && file.stage.name, c: file.service_code };
      var handler = file.handler || {};
      var dept = file.department, outcome = file.outcome, tri = file.triage || {};
      var hist = (file.history || []).map(function (h) {
        return "<li><b>" + esc(Tk("center.step_", h.action)) + "</b> · " + esc(clock(new Date(h.at).getTime(), true)) +
          (h.username && h.username !== "intake" ? " · " + esc(h.username) : "") + (h.note ? "<br>" + esc(h.note) : "") + "</li>";
      }).join("");
      drawer.querySelector(".gg-drawer-body").innerHTML =
        "<dl>" +
        "<dt>" + esc(T("center.case_where")) + "</dt><dd>" + esc(file.grid ? file.grid.name : "—") + (file.village ? " · " + esc(file.village.name) : "") + (file.address ? "<br>" + esc(file.address) : "") + "</dd>" +
        "<dt>" + esc(T("center.case_what")) + "</dt><dd>" + esc(file.description || "—") + "</dd>" +
        "<dt>" + esc(T("center.case_reported")) + "</dt><dd>" + esc(clock(new Date(file.reported_at).getTime(), true)) + " · " + esc(Tk("center.source_", (file.source || "other"))) + "</dd>" +
        "<dt>" + esc(T("center.case_handler")) + "</dt><dd>" + (handler.level || !handler.staff ? esc(Tk("center.level_", (handler.level || "none"))) : "") +
        (handler.staff ? (handler.level ? " · " : "") + esc(handler.staff.name) : "") + (dept ? " · " + esc(dept.name) : "") + "</dd>" +
        (tri.class ? "<dt>" + esc(T("center.case_triage")) + "</dt><dd>" + esc(Tk("center.triage_", tri.class)) + "</dd>" : "") +
        (outcome ? "<dt>" + esc(T("center.case_outcome")) + "</dt><dd>" + esc(Tk("center.outcome_", outcome.code)) +
          (outcome.reason ? " · " + esc(Tk("center.outcome_reason_", outcome.reason)) : "") + "</dd>" : "") +
        "</dl><h3>" + esc(T("center.case_history")) + "</h3><ol class=\"gg-history\">" + hist + "</ol>" +
        '<div class="gg-drawer-steps">' + (file.duplicate_of ? "" : stepButtons(k)) + '</div><div class="gg-step-msg" role="status"></div>';
      document.body.setAttribute("data-drawer-loaded", String(id));
    }
    function closeDrawer() {
      drawerId = null;
      if (ring) { map.removeLayer(ring); ring = null; }
      drawer.hidden = true;
      document.body.classList.remove("gg-drawer-open");
      document.body.removeAttribute("data-drawer");
    }
    drawer.addEventListener("click", function (e) {
      if (e.target.closest(".gg-close")) { closeDrawer(); return; }
      var b = e.target.closest("button[data-step]");
      if (!b || drawerId === null) return;
      var action = b.getAttribute("data-step"), id = drawerId;
      var box = drawer.querySelector(".gg-drawer-steps");
      if (action === "reassign") {
        box.innerHTML = esc(T("center.loading"));
        getJSON(cfg.urls.reassign + "?report=" + id).then(function (people) {
          box.innerHTML = '<form class="gg-step-form" data-step="reassign"><label>' + esc(T("center.reassign_to")) + '<select name="staff" required>' +
            people.map(function (p) {
              return '<option value="' + p.id + '">' + esc(p.name) + " · " + esc(p.grid_name) + " · " + esc(T("center.open_n", { n: p.open_cases })) + "</option>";
            }).join("") + "</select></label>" + formButtons("reassign") + "</form>";
          if (!people.length) box.querySelector("form").innerHTML = "<p>" + esc(T("center.nobody_on_duty")) + "</p>" + formButtons(null);
        }, function () { box.textContent = T("center.case_failed"); });
        return;
      }
      if (action === "close") {
        // 核查结案 with a closing code (结案类型); 无法解决 says why.
        box.innerHTML = '<form class="gg-step-form" data-step="close"><label>' + esc(T("center.outcome")) + '<select name="outcome" required>' +
          Object.keys(outcomes).map(function (o) { return '<option value="' + esc(o) + '">' + esc(Tk("center.outcome_", o)) + "</option>"; }).join("") +
          '</select></label><label class="gg-why">' + esc(T("center.outcome_reason")) + '<select name="outcome_reason"></select></label>' +
          formButtons("close") + "</form>";
        var form = box.querySelector("form"), why = form.querySelector(".gg-why");
        var pickWhy = function () {
          var reasons = outcomes[form.outcome.value] || [];
          why.style.display = reasons.length ? "" : "none";  // (a label's CSS display beats [hidden])
          form.outcome_reason.innerHTML = reasons.map(function (r) { return '<option value="' + esc(r) + '">' + esc(Tk("center.outcome_reason_", r)) + "</option>"; }).join("");
        };
        form.outcome.onchange = pickWhy;
        pickWhy();
        form.outcome.focus();
        return;
      }
      if (steps[action] && steps[action].note) {
        var reasons = action === "cancel" ? '<label>' + esc(T("center.cancel_reason")) + '<select name="reason">' +
          cancelReasons.map(function (r) { return '<option value="' + esc(r) + '"' + (r === "other" ? " selected" : "") + ">" + esc(Tk("center.cancel_reason_", r)) + "</option>"; }).join("") +
          "</select></label>" : "";
        box.innerHTML = '<form class="gg-step-form" data-step="' + action + '">' + reasons + "<label>" + esc(Tk("center.note_", action)) +
          '<textarea name="note" rows="3" maxlength="2000" required></textarea></label>' + formButtons(action) + "</form>";
        box.querySelector("textarea").focus();
        return;
      }
      take(id, action, {});
    });
    function formButtons(action) {
      return '<p class="gg-form-buttons">' + (action ? '<button type="submit" class="gg-btn gg-primary">' + esc(Tk("center.step_", action)) + "</button>" : "") +
        '<button type="button" class="gg-btn gg-cancel">' + esc(T("center.cancel")) + "</button></p>";
    }
    drawer.addEventListener("submit", function (e) {
      e.preventDefault();
      var form = e.target, action = form.getAttribute("data-step"), body = {};
      if (form.note) body.note = form.note.value.trim();
      if (form.staff) body.staff_id = +form.staff.value;
      if (form.outcome) body.outcome = form.outcome.value;
      if (form.outcome_reason && (outcomes[body.outcome] || []).length) body.outcome_reason = form.outcome_reason.value;
      if (form.reason) body.reason = form.reason.value;
      take(drawerId, action, body);
    });
    drawer.addEventListener("click", function (e) {
      if (e.target.closest(".gg-cancel") && drawerId !== null) refreshDrawerHead(cases[drawerId] || { s: "" });
    });
    function take(id, action, body) {
      var msg = drawer.querySelector(".gg-step-msg");
      msg.className = "gg-step-msg";
      msg.textContent = T("center.sending");
      body.action = action;
      return fetch("/api/v1/reports/" + id + "/steps", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (b) {
          if (!r.ok) {
            msg.className = "gg-step-msg bad";
            msg.textContent = T(r.status === 409 ? "center.step_conflict" : r.status === 403 ? "center.step_forbidden" : "center.step_failed");
            return;
          }
          gg.steps = (gg.steps || 0) + 1;
          document.body.setAttribute("data-step-done", action + ":" + id);
          // The answer is the case as it now stands: show it, then the delta brings the wall.
          if (cases[id]) { cases[id].s = b.status; cases[id].st = b.stage && b.stage.name; }
          if (drawerId === id) {
            showFile(id, b);
            var m2 = drawer.querySelector(".gg-step-msg");
            m2.className = "gg-step-msg ok";
            m2.textContent = T("center.step_done", { step: Tk("center.step_", action) });
          }
          return delta().then(function () {
            if (drawerId === id) refreshDrawerHead(cases[id] || { id: id, s: b.status, st: b.stage && b.stage.name, c: b.service_code });
          });
        });
      }, function () {
        msg.className = "gg-step-msg bad";
        msg.textContent = T("center.step_offline");
      });
    }
    document.addEventListener("keydown", function (e) { if (e.key === "Escape" && drawerId !== null) closeDrawer(); });
    document.addEventListener("gisgrid:found", function (e) {
      if (e.detail.kind === "case" && cases[e.detail.id]) openCase(e.detail.id);
    });

    /* ---- Start. */
    function tick() {
      $("gg-clock").textContent = new Date().toLocaleString(document.documentElement.lang === "en" ? "en-GB" : "zh-CN", {
        timeZone: "Asia/Shanghai", year: "numeric", month: "numeric", day: "numeric", weekday: "short", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
    }
    tick();
    setInterval(tick, 1000);
    apply(W.cases);
    lastOk = now();
    if (cfg.initialStaff) showStaff(cfg.initialStaff, true);
    else if (cfg.urls.staff && !cfg.snapshot) getJSON(cfg.urls.staff).then(function (fc) { showStaff(fc, true); }, function () {});
    staffSince = now();
    showCharts();
    render();
    liveStatus(true);
    if (filters.unit) flyToUnit(true);
    // With grid tiles the page has no grid properties: names and households come with the
    // measures.
    function indexMeasures(byCode) { if (byCode) for (var c in byCode) grids[c] = byCode[c]; render(); }
    if (cfg.gridsAreTiles) gg.refreshGridMeasures().then(indexMeasures);
    window.addEventListener("resize", function () { Object.keys(charts).forEach(function (id) { charts[id].resize(); }); });
    if (cfg.snapshot) { $("gg-live-status").textContent = T("center.snapshot", { time: clock(now(), true) }); return; }
    // Push (GET /api/v1/events): a case in the wall's scope changed ("case"), many did
    // ("cases", "resync"), or the stream (re)opened ("hello": catch up on what it missed) —
    // each asks for the delta at once, and the poll only backs it up. Without the stream
    // (EventSource reconnects by itself), the poll is the wall's heartbeat again.
    var poll = cfg.pollSeconds * 1000;
    if (cfg.urls.events && window.EventSource) {
      var es = (gg.events = new EventSource(cfg.urls.events)), soon = null;
      var pushed = function () {
        if (soon) return;
        soon = setTimeout(function () {
          soon = null;
          delta().then(function () { gg.pushed = (gg.pushed || 0) + 1; });
        }, 30);
      };
      ["case", "cases", "resync", "hello"].forEach(function (t) { es.addEventListener(t, pushed); });
      es.onopen = function () { poll = 30000; document.body.setAttribute("data-push", "live"); };
      es.onerror = function () { poll = cfg.pollSeconds * 1000; document.body.setAttribute("data-push", "off"); };
    }
    (function loop() { setTimeout(function () { delta().then(loop); }, poll); })();
    setInterval(function () { if (!failing) render(); }, 60 * 1000);  // "late by" and overdue move with the clock
    setInterval(pollStaff, STAFF_MS);
    setInterval(loadDashboard, DASHBOARD_MS);
    setInterval(function () { full().catch(function () {}); }, FULL_MS);
  };
})();
