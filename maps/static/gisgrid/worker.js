/* gisgrid worker map (网格员手机地图): cases to act on, households to visit, patrol reports.
 * gisgrid.js builds the map and calls this page's init; every action goes through the offline
 * queue (queue.js) so it is the same online and offline: kept, shown as waiting, sent in order.
 * Words come from the catalogue in the page config, looked up by key. Plain ES2017 + Leaflet. */
(function () {
  "use strict";
  var gg = window.gisgrid, cfg = gg.cfg, Q = window.gisgridQueue;
  var S = cfg.strings || {};
  var state = { data: null, shownAt: null, seen: null, me: null, items: [], tab: "cases", card: null, household: null, point: null };

  function T(key, params) {
    var s = S[key] == null ? key : S[key];
    if (params) s = s.replace(/\{(\w+)\}/g, function (m, k) { return params[k] == null ? m : params[k]; });
    return s;
  }
  function Tx(prefix, name, params) { return T(prefix + name, params); }  // keys made at run time
  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function two(n) { return ("0" + n).slice(-2); }
  /* "14:05", or "6月3日 14:05" when not today: old data must look old. */
  function whenText(d) {
    d = d instanceof Date ? d : new Date(d);
    var t = two(d.getHours()) + ":" + two(d.getMinutes());
    return d.toDateString() === new Date().toDateString() ? t : T("worker.date", { m: d.getMonth() + 1, d: d.getDate() }) + " " + t;
  }
  function metres(m) {
    if (m == null || isNaN(m)) return "";
    return m < 1000 ? T("worker.metres", { n: Math.round(m) }) : T("worker.km", { n: (m / 1000).toFixed(1) });
  }
  function hours(h) {
    return h < 1 ? T("worker.minutes", { n: Math.max(1, Math.round(h * 60)) }) : h < 48 ? T("worker.hours", { n: Math.round(h) }) : T("worker.days", { n: Math.round(h / 24) });
  }
  function statusText(s) { return Tx("worker.status_", s); }
  function distanceTo(lon, lat) {
    if (!state.me) return null;
    return L.latLng(state.me.lat, state.me.lon).distanceTo(L.latLng(lat, lon));
  }
  function say(text, bad) {
    var el = $("gg-step-msg");
    el.textContent = text;
    el.className = "wk-msg" + (bad ? " bad" : text ? " ok" : "");
  }
  function careText(tags) { return (tags || []).map(function (t) { return Tx("worker.care_", t); }).join("、"); }

  /* ---- the data on screen ---------------------------------------------------------------- */
  function caseById(id) {
    var found = null;
    (state.data.reports.features || []).forEach(function (f) { if (String(f.properties.id) === String(id)) found = f; });
    return found;
  }
  function pendingFor(ref) {
    return state.items.filter(function (i) { return i.ref === ref && i.state !== "refused"; });
  }
  function dueText(p) {
    if (!p.due_at) return "";
    var left = (new Date(p.due_at) - Date.now()) / 3600000;
    if (p.overdue || left < 0) return '<span class="wk-badge late">' + esc(T("worker.overdue", { t: hours(-left) })) + "</span>";
    return (p.due_soon ? '<span class="wk-badge soon">' + esc(T("worker.due_soon")) + "</span> " : "") +
      esc(T("worker.due_in", { t: hours(left) }));
  }
  var STEPS_BY_STATUS = { dispatched: ["accept", "resolve", "escalate"], in_progress: ["resolve", "escalate"] };
  var NOTE_STEPS = { resolve: true, escalate: true };
  function levelOf(p) { return ((state.data.handlers || {})[String(p.id)] || {}); }
  /* A case that went up a level (上报) is the village's, town's or county's now: it reads so,
   * and the grid's phone offers no step on it. */
  function statusOf(p) {
    var h = levelOf(p);
    return h.escalated && p.status === "dispatched" ? Tx("worker.escalated_to_", h.level) : statusText(p.status);
  }
  function stepButtons(p) {
    if (cfg.snapshot || levelOf(p).escalated) return "";
    return (STEPS_BY_STATUS[p.status] || []).map(function (a) {
      return '<button type="button" class="wk-step" data-step="' + a + '">' + esc(Tx("worker.step_", a)) + "</button>";
    }).join("");
  }
  function caseLine(p, f) {
    var c = f.geometry.coordinates, d = distanceTo(c[0], c[1]);
    var waiting = pendingFor("case:" + p.id).map(function (i) { return i.label; });
    return '<b>' + esc(p.category_zh) + "</b> · " + esc(statusOf(p)) +
      (d != null ? " · " + esc(metres(d)) : "") + "<br>" + dueText(p) +
      (p.supervised ? ' <span class="wk-badge late">' + esc(T("worker.supervised", { n: p.supervised })) + "</span>" : "") +
      (waiting.length ? '<br><span class="wk-badge wait">' + esc(T("queue.waiting_for", { what: waiting.join("、") })) + "</span>" : "");
  }
  function caseItem(f) {
    var p = f.properties;
    return '<li data-id="' + p.id + '" class="' + (p.overdue ? "late" : "") + '">' +
      '<button type="button" class="wk-item" data-open="' + p.id + '">' + caseLine(p, f) + "</button>" +
      '<span class="gg-steps">' + stepButtons(p) + "</span></li>";
  }
  function caseMarker(f) {
    var p = f.properties, c = f.geometry.coordinates;
    // A case is a big round badge above the households (late red, due soon orange, else amber).
    var cls = "wk-case" + (p.overdue ? " late" : p.due_soon ? " soon" : "");
    var mk = L.marker([c[1], c[0]], {
      icon: L.divIcon({ className: cls, html: "<span>" + esc(T("worker.case_mark")) + "</span>", iconSize: [30, 30] }),
      zIndexOffset: 500, riseOnHover: true,
    });
    mk.bindPopup(function () {
      return '<div class="wk-pop" data-id="' + p.id + '">' + caseLine(p, f) +
        '<div class="gg-steps"><button type="button" data-open="' + p.id + '">' + esc(T("worker.details")) + "</button>" +
        stepButtons(p) + "</div></div>";
    }, { maxWidth: 300, minWidth: 220, offset: [0, -8] });
    mk.feature = f;
    return mk;
  }
  function householdMarker(f, due) {
    var p = f.properties, c = f.geometry.coordinates, care = p.c && p.c.length;
    // Small squares: a household is a door, not a person (the "me" marker is a round dot).
    // Ringed orange: care households due for a visit (the ones to go to first).
    var icon = L.divIcon({ className: "wk-hh" + (care ? " care" : "") + (care && due ? " due" : ""), iconSize: [10, 10] });
    return L.marker([c[1], c[0]], { icon: icon, keyboard: false }).on("click", function () { openHousehold(p.id); });
  }
  function render() {
    var d = state.data;
    var dueIds = {};
    ((d.visits || {}).households || []).forEach(function (h) { if (h.due) dueIds[h.id] = true; });
    if (!cfg.householdsAreTiles && d.households) {
      var hh = window[cfg.households];
      hh.clearLayers();
      d.households.features.forEach(function (f) { hh.addLayer(householdMarker(f, dueIds[f.properties.id])); });
    }
    var cases = window[cfg.cases];
    cases.clearLayers();
    d.reports.features.forEach(function (f) { cases.addLayer(caseMarker(f)); });
    // A note being typed must survive a refresh: the list waits until it is sent.
    if (!$("gg-cases").querySelector("form")) {
      $("gg-cases").innerHTML = d.reports.features.length ? d.reports.features.map(caseItem).join("")
        : '<li class="wk-empty">' + esc(T("worker.no_cases")) + "</li>";
    }
    $("gg-case-count").textContent = "(" + d.reports.features.length + ")";
    renderHouseholds();
    if (state.card && !$("gg-card").hidden && !$("gg-card").querySelector("form")) showCard(state.card, true);
    document.body.setAttribute("data-households", String(d.households ? d.households.features.length : 0));
    document.body.setAttribute("data-open-cases", String(d.reports.features.length));
  }
  function renderHouseholds() {
    var v = state.data.visits || { households: [] }, due = 0;
    var rows = v.households.map(function (h) {
      if (h.due) due++;
      return '<li data-household="' + h.id + '"><button type="button" class="wk-item" data-household="' + h.id + '">' +
        "<b>" + esc(h.address) + "</b> · " + esc(T("worker.people", { n: h.size })) +
        (h.care_tags.length ? ' <span class="wk-badge care">' + esc(careText(h.care_tags)) + "</span>" : "") + "<br>" +
        (h.due ? '<span class="wk-badge late">' + esc(T("worker.visit_due")) + "</span> " : "") +
        esc(h.last_visit ? T("worker.last_visit", { when: whenText(h.last_visit) }) : T("worker.never_visited")) +
        (pendingFor("household:" + h.id).length ? ' <span class="wk-badge wait">' + esc(T("queue.waiting")) + "</span>" : "") +
        "</button></li>";
    });
    if (!$("gg-households").querySelector("form")) $("gg-households").innerHTML = rows.slice(0, 300).join("");
    $("gg-visit-due").textContent = due ? "(" + due + ")" : "";
  }

  /* ---- network state, refresh, push -------------------------------------------------------- */
  function net(st, when) {
    var el = $("gg-net"), t = whenText(when || new Date());
    el.className = "gg-net " + (st === "online" ? "ok" : "bad");
    el.textContent = Tx("worker.net_", st, { t: t });
    el.setAttribute("data-net", st);
  }
  function pollWorker() {
    gg.polls++;
    return fetch(cfg.urls.worker_data, { cache: "no-store", credentials: "same-origin" }).then(function (r) {
      if (r.status === 401 || r.status === 403) { net("signin", state.shownAt); return; }
      if (!r.ok) throw new Error(String(r.status));
      var kept = cfg.offline && r.headers.get(cfg.offline.fetchedHeader);
      var when = new Date(kept || r.headers.get("Date") || Date.now());
      return r.json().then(function (data) {
        if (!kept || when >= state.shownAt) show(data, when, !kept);
        net(kept ? "offline" : "online", kept ? state.shownAt : when);
        if (!kept) flush();
      });
    }).catch(function () {
      gg.errors++;
      net("offline", state.shownAt);
    });
  }
  function show(data, when, fresh) {
    state.data = data;
    state.shownAt = when;
    if (fresh && data.fetched_at) state.seen = data.fetched_at;
    render();
  }
  var soon = null;
  function pollSoon() {
    if (soon) return;
    soon = setTimeout(function () { soon = null; pollWorker(); }, 30);
  }
  function banner(text) {
    var el = $("gg-banner");
    el.textContent = text;
    el.hidden = false;
    clearTimeout(banner.t);
    banner.t = setTimeout(function () { el.hidden = true; }, 15000);
    if (navigator.vibrate) try { navigator.vibrate(200); } catch (e) { /* not allowed */ }
  }
  function listen() {
    if (!window.EventSource || !cfg.urls.events || cfg.snapshot) return;
    var es = (gg.events = new EventSource(cfg.urls.events));
    document.body.setAttribute("data-push", "connecting");
    es.addEventListener("hello", function (e) {
      var h = JSON.parse(e.data);
      document.body.setAttribute("data-push", h.live ? "live" : "off");
      pollSoon();  // whatever happened while the stream was down
      flush();
    });
    es.addEventListener("case", function (e) {
      var ev = JSON.parse(e.data);
      if (ev.grid !== cfg.gridCode) return;
      gg.pushed = (gg.pushed || 0) + 1;
      document.body.setAttribute("data-pushed", String(gg.pushed));
      if (ev.op === "new" && ev.assigned) banner(T("worker.new_case", { id: ev.id }));
      pollSoon();
    });
    ["cases", "resync"].forEach(function (t) { es.addEventListener(t, pollSoon); });
    es.onerror = function () { document.body.setAttribute("data-push", "off"); };
  }

  /* ---- the queue --------------------------------------------------------------------------- */
  function queueChanged(items) {
    state.items = items.filter(function (i) { return i.owner === cfg.username; });
    var waiting = state.items.filter(function (i) { return i.state !== "refused"; }).length;
    var refused = state.items.length - waiting;
    var chip = $("gg-queue");
    chip.hidden = !state.items.length;
    chip.className = "wk-chip" + (refused ? " bad" : "");
    chip.innerHTML = refused ? esc(T("queue.refused_n", { n: refused })) + (waiting ? " · " + esc(T("queue.waiting_n", { n: waiting })) : "")
      : esc(T("queue.waiting_n", { n: waiting }));
    document.body.setAttribute("data-queue", String(waiting));
    document.body.setAttribute("data-refused", String(refused));
    renderQueue();
    if (state.data && !$("gg-cases").querySelector("form")) {
      $("gg-cases").innerHTML = state.data.reports.features.map(caseItem).join("") || '<li class="wk-empty">' + esc(T("worker.no_cases")) + "</li>";
      renderHouseholds();
    }
  }
  function refusedText(i) {
    var e = i.error || {}, d = e.detail || "";
    if (e.status === 409 && /reassign/.test(d)) return T("queue.conflict_reassigned");
    if (e.status === 409 && /changed after you saw it/.test(d)) return T("queue.conflict_changed");
    if (e.status === 409) return T("queue.conflict_status");
    if (e.status === 403) return T("queue.refused_scope");
    if (e.status === 413) return T("queue.refused_size");
    if (e.status === 415) return T("queue.refused_type");
    if (e.status === 404) return T("queue.refused_gone");
    return T("queue.refused_other", { status: e.status || "" });
  }
  function renderQueue() {
    var ol = $("gg-queue-list");
    ol.innerHTML = state.items.map(function (i) {
      var st = i.state === "refused" ? '<b class="bad">' + esc(refusedText(i)) + "</b>"
        : esc(T(i.state === "sending" ? "queue.sending" : "queue.waiting"));
      return '<li data-seq="' + i.seq + '" data-state="' + i.state + '"><span><b>' + esc(i.label) + "</b> · " + esc(whenText(i.at)) + "<br>" + st + "</span>" +
        (i.state === "refused" ? '<button type="button" data-dismiss="' + i.seq + '">' + esc(T("queue.dismiss")) + "</button>" : "") + "</li>";
    }).join("") || '<li class="wk-empty">' + esc(T("queue.empty")) + "</li>";
  }
  function flush() {
    if (!Q) return Promise.resolve();
    return Q.flush({ owner: cfg.username, onsent: sent, onrefused: refused }).then(function (s) {
      if (s.stopped === "signin") net("signin", state.shownAt);
      gg.flushed = (gg.flushed || 0) + 1;
      return s;
    });
  }
  function sent(item, body) {
    if (item.kind === "step") {
      say(T("worker.step_done", { id: item.caseId, step: Tx("worker.step_", item.step), t: whenText(new Date()) }));
      gg.steps = (gg.steps || 0) + 1;
      // The status is the server's, from its answer: never what the phone guessed.
      var f = caseById(item.caseId);
      if (f && body.status) f.properties.status = body.status;
      if (body.handler && state.data.handlers) {
        var lvl = body.handler.level;
        state.data.handlers[item.caseId] = { level: lvl, escalated: lvl === "village" || lvl === "town" || lvl === "county" };
      }
      if (state.card === item.caseId) refreshCard();
    } else if (item.kind === "visit") {
      say(T("worker.visit_done", { t: whenText(new Date()) }));
    } else if (item.kind === "report") {
      say(T("worker.report_done", { id: body.id, status: statusText(body.status) }));
    } else if (item.kind === "photo") {
      say(T("worker.photo_done", { id: item.caseId }));
      if (state.card === item.caseId) refreshCard();
    }
    pollSoon();
  }
  function refused(item) {
    say(item.label + "：" + refusedText(item), true);
    pollSoon();
  }
  function enqueue(action) {
    action.owner = cfg.username;
    return Q.add(action).then(function (item) {
      if (!navigator.onLine) say(T("queue.kept_offline", { what: action.label }));
      flush();
      return item;
    }, function () { say(T("queue.cannot_keep"), true); });
  }

  /* ---- photos: shrunk on the phone, EXIF (where, when) kept for the server to read --------- */
  function exifSegment(buf) {
    var v = new DataView(buf);
    if (v.byteLength < 4 || v.getUint16(0) !== 0xffd8) return null;
    var off = 2;
    while (off + 4 <= v.byteLength) {
      var marker = v.getUint16(off), len = v.getUint16(off + 2);
      if (marker === 0xffe1 && v.getUint32(off + 4) === 0x45786966) {  // "Exif"
        var seg = new Uint8Array(buf.slice(off, off + 2 + len));
        resetOrientation(seg);
        return seg;
      }
      if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) break;
      off += 2 + len;
    }
    return null;
  }
  /* The canvas has already turned the picture upright: the copied EXIF must not turn it again. */
  function resetOrientation(seg) {
    var v = new DataView(seg.buffer, seg.byteOffset), t = 10;  // FFE1, length, "Exif\0\0"
    var little = v.getUint16(t) === 0x4949;
    var ifd = t + v.getUint32(t + 4, little), n = v.getUint16(ifd, little);
    for (var k = 0; k < n; k++) {
      var e = ifd + 2 + k * 12;
      if (v.getUint16(e, little) === 0x0112) v.setUint16(e + 8, 1, little);
    }
  }
  function shrink(file) {
    var side = cfg.photoSide || 1600;
    if (!file || !/^image\/(jpeg|png)$/.test(file.type) || !window.createImageBitmap) return Promise.resolve(file);
    return Promise.all([createImageBitmap(file), file.arrayBuffer()]).then(function (got) {
      var bmp = got[0], scale = Math.min(1, side / Math.max(bmp.width, bmp.height));
      if (scale === 1 && file.size < 900 * 1024) return file;  // small enough as it is
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bmp.width * scale);
      canvas.height = Math.round(bmp.height * scale);
      canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.82); }).then(function (blob) {
        var exif = file.type === "image/jpeg" ? exifSegment(got[1]) : null;
        if (!exif || !blob) return blob || file;
        return blob.arrayBuffer().then(function (b) {
          var body = new Uint8Array(b);
          return new Blob([body.slice(0, 2), exif, body.slice(2)], { type: "image/jpeg" });
        });
      });
    }, function () { return file; });  // a HEIC Chromium cannot draw: the server shrinks it
  }
  function photoOf(input) {
    var f = input && input.files && input.files[0];
    if (!f) return Promise.resolve(null);
    return shrink(f).then(function (b) { gg.lastPhoto = { name: f.name, size: f.size, sent: b.size }; return b; });
  }

  /* ---- steps ------------------------------------------------------------------------------- */
  function stepAction(id, step, note) {
    var f = caseById(id), label = Tx("worker.step_", step) + " #" + id;
    return {
      kind: "step", step: step, caseId: String(id), ref: "case:" + id, label: label,
      url: "/api/v1/reports/" + id + "/steps",
      json: { action: step, note: note || null, seen: state.seen || cfg.fetchedAt },
      status: f ? f.properties.status : null,
    };
  }
  function takeStep(box, step) {
    var id = box.getAttribute("data-id");
    if (!NOTE_STEPS[step]) { enqueue(stepAction(id, step)); return; }
    var open = box.querySelector("form.wk-note");
    if (open) { var same = open.getAttribute("data-step") === step; open.remove(); if (same) return; }
    box.insertAdjacentHTML("beforeend", '<form class="wk-note wk-form gg-step-form" data-step="' + step + '">' +
      '<textarea name="note" rows="3" maxlength="2000" required placeholder="' + esc(Tx("worker.note_", step)) + '"></textarea>' +
      (step === "resolve" ? '<div class="wk-field">' + esc(T("worker.after_photo")) + '<label class="wk-file"><input type="file" name="photo" accept="image/*" capture="environment"><span>' +
        esc(T("worker.take_photo")) + "</span></label></div>" : "") +
      '<button type="submit" class="wk-primary">' + esc(T("worker.send_step", { step: Tx("worker.step_", step) })) + "</button></form>");
    var form = box.querySelector("form.wk-note");
    form.onsubmit = function (ev) {
      ev.preventDefault();
      var note = form.note.value.trim();
      if (!note) { form.note.focus(); return; }
      var button = form.querySelector("button");
      button.disabled = true;
      photoOf(form.photo).then(function (blob) {
        var jobs = [];
        if (blob) {
          jobs.push(enqueue({
            kind: "photo", caseId: String(id), ref: "case:" + id, label: T("worker.photo_of", { id: id }),
            url: "/api/v1/reports/" + id + "/photos", form: [["stage", "after"], ["photo", blob, "after.jpg"]],
          }));
        }
        return Promise.all(jobs).then(function () { return enqueue(stepAction(id, step, note)); });
      }).then(function () { form.remove(); });
    };
    form.note.focus();
  }

  /* ---- the case card ----------------------------------------------------------------------- */
  function showTab(tab) {
    state.tab = tab;
    ["cases", "visits", "report", "queue"].forEach(function (t) { $("wk-" + t).hidden = t !== tab; });
    document.querySelectorAll(".wk-tabs [data-tab]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-tab") === tab ? "true" : "false");
    });
    document.body.setAttribute("data-tab", tab);
  }
  function refreshCard() {
    var id = state.card;
    if (!id) return;
    return fetch("/api/v1/reports/" + id, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (file) {
      if (!file || state.card !== String(id)) return;
      state.cardFile = file;
      // A note being typed in the card must survive: it is redrawn once the note is sent.
      if (!$("gg-card").querySelector("form")) showCard(String(id), true);
      // The card just grew (description, history): bring the case above the sheet again.
      var f = caseById(id);
      if (state.cardFocus && f) focus(f.geometry.coordinates[0], f.geometry.coordinates[1]);
      state.cardFocus = false;
    }, function () { /* offline: the summary from the map data stays */ });
  }
  function openCase(id) {
    showTab("cases");
    state.card = String(id);
    state.cardFile = null;
    window[cfg.map].closePopup();
    var f = caseById(id);
    showCard(String(id));
    if (f) focus(f.geometry.coordinates[0], f.geometry.coordinates[1]);
    state.cardFocus = true;
    refreshCard();
  }
  function historyHtml(h) {
    return "<ol class=\"wk-history\">" + h.map(function (s) {
      return "<li" + (s.action === "supervise" ? ' class="sup"' : "") + "><b>" + esc(s.label) + "</b> " + esc(whenText(s.at)) +
        (s.username && s.username !== "intake" ? " · " + esc(s.username) : "") + (s.note ? "<br>" + esc(s.note) : "") + "</li>";
    }).join("") + "</ol>";
  }
  function showCard(id, quiet) {
    var card = $("gg-card"), f = caseById(id), file = state.cardFile && String(state.cardFile.id) === id ? state.cardFile : null;
    if (!f && !file) { closeCard(); return; }
    var p = f ? f.properties : {}, c = f ? f.geometry.coordinates : [file.point.lon, file.point.lat];
    var status = file ? file.status : p.status;
    var d = distanceTo(c[0], c[1]);
    var sup = file ? file.history.filter(function (s) { return s.action === "supervise"; }) : [];
    var phone = file && file.reporter && file.reporter.phone;
    var rows = [
      [T("worker.card_category"), esc(p.category_zh || (file && file.service_code))],
      [T("worker.card_status"), '<b id="gg-card-status" data-status="' + esc(status) + '">' + esc(statusOf({ id: id, status: status })) + "</b>"],
      [T("worker.card_description"), file ? esc(file.description || "—") : esc(T("worker.needs_network"))],
      [T("worker.card_address"), file ? esc(file.address || "—") : "—"],
      [T("worker.card_distance"), d != null ? esc(metres(d)) : esc(T("worker.locate_first"))],
      [T("worker.card_due"), f ? dueText(p) + (p.due_at ? "<br>" + esc(whenText(p.due_at)) : "") : "—"],
    ];
    if (sup.length) rows.push([T("worker.card_supervise"), sup.map(function (s) { return '<span class="wk-sup">' + esc(s.note || "") + " · " + esc(whenText(s.at)) + "</span>"; }).join("<br>")]);
    if (phone) rows.push([T("worker.card_reporter"), '<a class="wk-tel" href="tel:' + esc(phone) + '">' + esc(T("worker.call", { phone: phone })) + "</a>"]);
    var waiting = pendingFor("case:" + id).map(function (i) { return i.label; });
    var photos = file && file.photos && file.photos.length ? '<div class="wk-photos">' + file.photos.map(function (ph) {
      return '<a href="' + esc(ph.url) + '" target="_blank"><img src="' + esc(ph.thumb_url) + '" alt="' + esc(ph.stage_label) + '" loading="lazy"><span>' +
        esc(ph.stage_label) + (ph.distance_m != null ? " · " + esc(T("worker.photo_distance", { d: metres(ph.distance_m) })) : "") + "</span></a>";
    }).join("") + "</div>" : "";
    card.innerHTML = '<div class="wk-card-head"><button type="button" data-close>' + esc(T("worker.back")) + "</button><b>#" + esc(id) + "</b>" +
      '<button type="button" data-way="' + esc(id) + '">' + esc(T("worker.take_me")) + "</button></div>" +
      '<dl class="wk-dl">' + rows.map(function (r) { return "<dt>" + esc(r[0]) + "</dt><dd>" + r[1] + "</dd>"; }).join("") + "</dl>" +
      (waiting.length ? '<p class="wk-badge wait">' + esc(T("queue.waiting_for", { what: waiting.join("、") })) + "</p>" : "") +
      '<div class="gg-steps" data-id="' + esc(id) + '">' + stepButtons({ id: id, status: status }) + "</div>" +
      (STEPS_BY_STATUS[status] && !cfg.snapshot ? '<div class="wk-field"><label class="wk-file"><input type="file" accept="image/*" capture="environment" data-stage="before" data-case="' +
        esc(id) + '"><span>' + esc(T("worker.before_photo")) + "</span></label></div>" : "") +
      '<p id="gg-way-note" class="wk-hint"></p>' + photos +
      (file ? "<h3>" + esc(T("worker.card_history")) + "</h3>" + historyHtml(file.history) : "");
    card.setAttribute("data-id", id);
    card.hidden = false;
    $("gg-cases").hidden = true;
    if (!quiet) card.scrollIntoView({ block: "nearest" });
  }
  function closeCard() {
    state.card = null;
    $("gg-card").hidden = true;
    $("gg-cases").hidden = false;
    window[cfg.way].clearLayers();
  }

  /* ---- "take me there" along the patrol roads ---------------------------------------------- */
  function wayTo(id) {
    var f = caseById(id);
    if (!f) return;
    var c = f.geometry.coordinates, note = $("gg-way-note");
    var go = function () {
      var me = state.me, way = window[cfg.way];
      var url = cfg.urls.way + "?from_lon=" + me.lon + "&from_lat=" + me.lat + "&to_lon=" + c[0] + "&to_lat=" + c[1];
      note.textContent = T("worker.way_finding");
      fetch(url, { credentials: "same-origin" }).then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); }).then(function (w) {
        way.clearLayers();
        var line = L.geoJSON(w, { style: { color: "#1864ab", weight: 6, opacity: 0.85 } }).addTo(way);
        var bounds = line.getBounds(), sheet = document.querySelector(".gg-wk").getBoundingClientRect().height;
        if (w.properties.straight_m > 5) window[cfg.map].fitBounds(bounds, { paddingTopLeft: [30, 30], paddingBottomRight: [30, sheet + 30], maxZoom: 18 });
        else focus(c[0], c[1]);
        note.textContent = w.properties.along_roads ? T("worker.way_roads", { d: metres(w.properties.length_m), s: metres(w.properties.straight_m) })
          : T("worker.way_straight", { d: metres(w.properties.straight_m) });
        gg.way = w;
      }, function () {
        way.clearLayers();
        L.polyline([[me.lat, me.lon], [c[1], c[0]]], { color: "#1864ab", weight: 4, dashArray: "8 6" }).addTo(way);
        note.textContent = T("worker.way_offline", { d: metres(distanceTo(c[0], c[1])) });
      });
    };
    if (state.me) go(); else locate(go);
  }

  /* ---- me ---------------------------------------------------------------------------------- */
  var watching = false;
  function placeMe(pos) {
    var me = window[cfg.me], ll = [pos.coords.latitude, pos.coords.longitude];
    state.me = { lat: ll[0], lon: ll[1], accuracy: pos.coords.accuracy };
    me.clearLayers();
    L.circle(ll, { radius: pos.coords.accuracy || 0, weight: 1, color: "#1c7ed6", fillColor: "#1c7ed6", fillOpacity: 0.12, interactive: false }).addTo(me);
    L.marker(ll, { icon: L.divIcon({ className: "wk-me", html: "<span>" + esc(T("worker.me")) + "</span>", iconSize: [26, 26] }), zIndexOffset: 400, interactive: false }).addTo(me);
    gg.located = ll;
    if (state.tab === "report" && !state.pickedOnMap) setPoint(ll[1], ll[0], true);
  }
  function locate(then) {
    if (!navigator.geolocation) { say(T("worker.no_gps"), true); return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      placeMe(pos);
      window[cfg.map].setView([pos.coords.latitude, pos.coords.longitude], Math.max(window[cfg.map].getZoom(), 16));
      if (!watching) {
        watching = true;
        navigator.geolocation.watchPosition(placeMe, function () {}, { enableHighAccuracy: true, maximumAge: 10000 });
      }
      if (then) then();
    }, function (err) { say(T("worker.gps_failed", { why: err.code === 1 ? T("worker.gps_denied") : T("worker.gps_unavailable") }), true); },
    { enableHighAccuracy: true, timeout: 15000 });
  }

  /* ---- households and visits --------------------------------------------------------------- */
  function householdById(id) {
    var v = (state.data.visits || { households: [] }).households, found = null;
    v.forEach(function (h) { if (String(h.id) === String(id)) found = h; });
    return found;
  }
  function pointOfHousehold(id) {
    var found = null;
    ((state.data.households || {}).features || []).forEach(function (f) { if (String(f.properties.id) === String(id)) found = f.geometry.coordinates; });
    return found;
  }
  function openHousehold(id) {
    var h = householdById(id);
    if (!h) return;
    showTab("visits");
    state.household = String(id);
    var box = $("gg-household"), c = pointOfHousehold(id);
    var d = c ? distanceTo(c[0], c[1]) : null;
    box.innerHTML = '<div class="wk-card-head"><button type="button" data-close-household>' + esc(T("worker.back")) + "</button><b>" + esc(h.address) + "</b></div>" +
      '<p>' + esc(T("worker.people", { n: h.size })) + (h.care_tags.length ? ' · <span class="wk-badge care">' + esc(careText(h.care_tags)) + "</span>" : "") +
      (d != null ? " · " + esc(metres(d)) : "") + "<br>" +
      esc(h.last_visit ? T("worker.last_visit", { when: whenText(h.last_visit) }) : T("worker.never_visited")) + '</p><div id="gg-hh-person" class="wk-hint"></div>' +
      $("gg-visit-form").innerHTML + "<h3>" + esc(T("worker.visit_history")) + '</h3><ol id="gg-visit-history" class="wk-history"><li>' + esc(T("worker.loading")) + "</li></ol>";
    box.setAttribute("data-household", id);
    box.hidden = false;
    $("gg-households").hidden = true;
    if (c) {
      // The household being visited, ringed on the map above the sheet.
      window[cfg.way].clearLayers();
      L.circleMarker([c[1], c[0]], { radius: 16, weight: 5, color: "#e8590c", fill: false, interactive: false }).addTo(window[cfg.way]);
      focus(c[0], c[1]);
    }
    var form = box.querySelector("form.gg-visit");
    form.kind.onchange = function () { form.querySelector(".gg-update").hidden = form.kind.value !== "info_update"; };
    form.onsubmit = function (ev) { ev.preventDefault(); sendVisit(id, h, form); };
    fetch("/api/v1/households/" + id, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (full) {
      if (!full || state.household !== String(id)) return;
      $("gg-hh-person").textContent = T("worker.head", { name: full.head_name || "—", phone: full.phone || "—" });
      $("gg-visit-history").innerHTML = full.visits.length ? full.visits.map(function (v) {
        return "<li><b>" + esc(v.kind_label) + "</b> " + esc(whenText(v.visited_at)) + " · " + esc(v.by) + (v.note ? "<br>" + esc(v.note) : "") +
          (v.changes ? "<br>" + esc(T("worker.changed", { what: JSON.stringify(v.changes) })) : "") +
          (v.thumb_url ? '<br><img src="' + esc(v.thumb_url) + '" alt="" class="wk-thumb">' : "") + "</li>";
      }).join("") : "<li>" + esc(T("worker.never_visited")) + "</li>";
    }, function () { $("gg-visit-history").innerHTML = "<li>" + esc(T("worker.needs_network")) + "</li>"; });
  }
  function closeHousehold() {
    state.household = null;
    window[cfg.way].clearLayers();
    $("gg-household").hidden = true;
    $("gg-households").hidden = false;
  }
  function sendVisit(id, h, form) {
    var kind = form.kind.value, button = form.querySelector("button[type=submit]");
    if (kind === "info_update" && !form.size.value && !form.phone.value.trim()) { say(T("worker.update_needs"), true); return; }
    button.disabled = true;
    photoOf(form.photo).then(function (blob) {
      var parts = [["kind", kind], ["note", form.note.value.trim()], ["visited_at", new Date().toISOString()]];
      if (kind === "info_update") {
        if (form.size.value) parts.push(["size", form.size.value]);
        if (form.phone.value.trim()) parts.push(["phone", form.phone.value.trim()]);
      }
      if (state.me) parts.push(["lon", state.me.lon], ["lat", state.me.lat]);
      if (blob) parts.push(["photo", blob, "visit.jpg"]);
      return enqueue({
        kind: "visit", ref: "household:" + id, label: T("worker.visit_label", { kind: Tx("worker.visit_", kind), where: h.address }),
        url: "/api/v1/households/" + id + "/visits", form: parts,
      });
    }).then(function () { closeHousehold(); showTab("visits"); });
  }

  /* ---- patrol reports (巡查上报) ------------------------------------------------------------ */
  var pick = null;
  function setPoint(lon, lat, fromGps) {
    state.point = { lon: lon, lat: lat };
    if (!pick) pick = L.layerGroup().addTo(window[cfg.map]);
    pick.clearLayers();
    L.marker([lat, lon], { icon: L.divIcon({ className: "wk-pick", iconSize: [26, 26] }) }).addTo(pick);
    $("gg-patrol-where").textContent = T(fromGps ? "worker.report_at_me" : "worker.report_at_tap", { lat: lat.toFixed(5), lon: lon.toFixed(5) });
    $("gg-patrol-where").className = "wk-hint ok";
  }
  function initPatrol() {
    var form = $("gg-patrol");
    form.fixed.onchange = function () { $("gg-fixed").hidden = !form.fixed.checked; };
    window[cfg.map].on("click", function (e) {
      if (state.tab !== "report") return;
      state.pickedOnMap = true;
      setPoint(e.latlng.lng, e.latlng.lat, false);
    });
    form.onsubmit = function (ev) {
      ev.preventDefault();
      if (!state.point) { say(T("worker.report_no_point"), true); if (!state.me) locate(); return; }
      var fixed = form.fixed.checked;
      if (fixed && (!form.fixed_note.value.trim() || !form.after_photo.files.length)) { say(T("worker.fixed_needs"), true); return; }
      var what = form.service_code.selectedOptions[0] ? form.service_code.selectedOptions[0].text : "";
      Promise.all([photoOf(form.photo), fixed ? photoOf(form.after_photo) : Promise.resolve(null)]).then(function (photos) {
        var parts = [["service_code", form.service_code.value], ["description", form.description.value.trim()],
          ["address", form.address.value.trim()], ["lon", state.point.lon], ["lat", state.point.lat]];
        if (photos[0]) parts.push(["photo", photos[0], "photo.jpg"]);
        if (fixed) parts.push(["fixed_note", form.fixed_note.value.trim()], ["after_photo", photos[1], "after.jpg"]);
        return enqueue({ kind: "report", ref: "report", label: T("worker.report_label", { what: what }) + (fixed ? " · " + T("worker.fixed_short") : ""),
          url: cfg.urls.patrol_report, form: parts });
      }).then(function () {
        form.reset();
        form.querySelectorAll('input[type="file"]').forEach(function (i) { onChange({ target: i }); });
        $("gg-fixed").hidden = true;
        state.pickedOnMap = false;
        if (pick) pick.clearLayers();
        state.point = null;
        $("gg-patrol-where").textContent = T("worker.report_where_hint");
        $("gg-patrol-where").className = "wk-hint";
      });
    };
  }

  /* ---- the service worker and signing out -------------------------------------------------- */
  function initOffline() {
    var sw = navigator.serviceWorker;
    if (!cfg.offline || cfg.snapshot || !sw) return;
    try { localStorage.removeItem("gisgrid:worker:" + cfg.urls.worker_data); } catch (e) { /* none */ }
    sw.register(cfg.offline.serviceWorker, { scope: cfg.offline.scope }).catch(function (e) { gg.offlineError = String(e); });
    sw.ready.then(function (reg) {
      var channel = new MessageChannel();
      channel.port1.onmessage = function (e) {
        gg.offlineReady = e.data.type === "kept";
        document.body.setAttribute("data-offline-ready", gg.offlineReady ? "1" : "0");
      };
      reg.active.postMessage({ type: "keep", urls: [location.href.split("#")[0]] }, [channel.port2]);
    });
    var form = $("gg-signout"), off = cfg.offline;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var waiting = state.items.length;
      if (waiting && !window.confirm(T("queue.signout_confirm", { n: waiting }))) return;
      // This phone's copy and queue go first: sign-out must clear them even without network.
      var forget = Promise.all([window.caches ? caches.delete(off.personalCache) : null, Q ? Q.clear() : null]);
      forget.catch(function () {}).then(function () {
        return fetch(form.action, { method: "POST", credentials: "same-origin", redirect: "manual" });
      }).then(function () { location.replace("/login"); }, function () {
        var mark = window.caches ? caches.open(off.signoutCache).then(function (c) { return c.put(off.signoutUrl, new Response("")); }) : Promise.resolve();
        mark.catch(function () {}).then(function () { location.reload(); });
      });
    });
  }

  /* ---- wiring ------------------------------------------------------------------------------ */
  /* A photo chosen: the button says so (the file control itself is hidden). */
  function onChange(e) {
    var input = e.target;
    if (!input.matches || !input.matches('input[type="file"]')) return;
    if (input.getAttribute("data-stage") && input.files && input.files.length) {
      // A photo before the work (处置前): queued at once, like a step.
      var id = input.getAttribute("data-case");
      photoOf(input).then(function (blob) {
        return enqueue({
          kind: "photo", caseId: String(id), ref: "case:" + id, label: T("worker.photo_of", { id: id }),
          url: "/api/v1/reports/" + id + "/photos", form: [["stage", input.getAttribute("data-stage")], ["photo", blob, "before.jpg"]],
        });
      });
    }
    var span = input.parentNode.querySelector("span"), n = input.files ? input.files.length : 0;
    if (span) span.textContent = n ? T("worker.photo_chosen", { n: n }) : T("worker.take_photo");
    input.parentNode.classList.toggle("chosen", n > 0);
  }
  /* Bring a point into the part of the map the sheet does not cover. */
  function focus(lon, lat) {
    var map = window[cfg.map], sheet = document.querySelector(".gg-wk");
    var below = sheet ? sheet.getBoundingClientRect().height : 0;
    var size = map.getSize(), target = map.project([lat, lon]);
    var visibleMid = (size.y - below) / 2;
    map.panTo(map.unproject(target.add([0, size.y / 2 - visibleMid])), { animate: false });
  }
  function onClick(e) {
    var t = e.target.closest("button, a");
    if (!t) return;
    var box;
    if (t.hasAttribute("data-step")) {
      box = t.closest("[data-id]");
      if (!box) return;
      var step = t.getAttribute("data-step");
      if (box.classList.contains("wk-pop") && NOTE_STEPS[step]) { openCase(box.getAttribute("data-id")); box = $("gg-card").querySelector(".gg-steps"); }
      if (!NOTE_STEPS[step]) window[cfg.map].closePopup();
      takeStep(box, step);
    } else if (t.hasAttribute("data-open")) {
      openCase(t.getAttribute("data-open"));
    } else if (t.hasAttribute("data-close")) {
      closeCard();
    } else if (t.hasAttribute("data-way")) {
      wayTo(t.getAttribute("data-way"));
    } else if (t.hasAttribute("data-household")) {
      openHousehold(t.getAttribute("data-household"));
    } else if (t.hasAttribute("data-close-household")) {
      closeHousehold();
    } else if (t.hasAttribute("data-dismiss")) {
      Q.remove(Number(t.getAttribute("data-dismiss")));
    } else if (t.hasAttribute("data-tab")) {
      var tab = t.getAttribute("data-tab");
      var sheet = document.querySelector(".gg-wk");
      if (tab === state.tab && !sheet.classList.contains("folded")) sheet.classList.add("folded");
      else { sheet.classList.remove("folded"); showTab(tab); }
      if (tab === "report" && state.me && !state.pickedOnMap) setPoint(state.me.lon, state.me.lat, true);
    }
  }

  function init() {
    if (window[cfg.map].attributionControl) window[cfg.map].attributionControl.setPrefix(false);
    gg.keepAboveBar();
    var fetched = cfg.fetchedAt ? new Date(cfg.fetchedAt) : new Date();
    state.seen = cfg.fetchedAt;
    show(cfg.initial, fetched, false);
    var stale = !navigator.onLine || Date.now() - fetched.getTime() > 2 * cfg.pollSeconds * 1000;
    net(stale ? "offline" : "online", fetched);
    if (stale && !cfg.snapshot) pollWorker();
    initOffline();
    initPatrol();
    document.querySelector(".gg-wk").addEventListener("click", onClick);
    document.querySelector(".gg-wk").addEventListener("change", onChange);
    window[cfg.map].getContainer().addEventListener("click", onClick);
    $("gg-locate").onclick = function () { locate(); };
    $("gg-queue").onclick = function () { document.querySelector(".gg-wk").classList.remove("folded"); showTab("queue"); };
    window.addEventListener("offline", function () { net("offline", state.shownAt); });
    window.addEventListener("online", function () { pollWorker(); flush(); });
    gg.refresh = pollWorker;
    gg.flush = flush;
    gg.state = state;
    if (Q) {
      Q.onchange(queueChanged);
      Q.keepOnly(cfg.username).then(flush, function () { say(T("queue.cannot_keep"), true); });
      setInterval(function () { if (state.items.some(function (i) { return i.state !== "refused"; })) flush(); }, 15000);
    }
    listen();
    if (!cfg.snapshot) setInterval(pollWorker, cfg.pollSeconds * 1000);
  }
  gg.pages.worker = init;
})();
