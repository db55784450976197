/* The residents' page: find the place (search, tap, or GPS), say what, send.
 * Registered with gisgrid.js (window.gisgridPages.resident), which calls it once the map is up.
 * The report carries an Idempotency-Key made once per report, so pressing Send again after a
 * dropped connection can never file it twice; the answer is the number to follow it by.
 * Photos chosen with the report go up once it is filed, one by one, with its receipt (the same
 * key: only this phone has it); a photo that does not go up never undoes the report. */
(function () {
  "use strict";
  var pages = (window.gisgridPages = window.gisgridPages || {});
  var base = window.gisgridBase, T = base.T, esc = base.esc;
  // Below this zoom a tap is too coarse to place a problem: the map zooms in to it instead.
  var PLACE_ZOOM = 14;

  function $(id) { return document.getElementById(id); }
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
  /* A time as people here write it, in China time: 11月24日 14:30 (English: 24 Nov, 14:30). */
  function when(iso, lang) {
    if (!iso) return "—";
    return new Date(iso).toLocaleString(lang === "en" ? "en-GB" : "zh-CN", {
      timeZone: "Asia/Shanghai", month: lang === "en" ? "short" : "numeric", day: "numeric",
      hour: "2-digit", minute: "2-digit", hour12: false,
    });
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
    el.innerHTML = list.length ? esc(T("resident.mine")) + " " + list.map(function (r) {
      return '<a href="' + esc(r.url) + '">#' + esc(r.id) + "</a> " + esc((r.what || "").split(" · ")[0]);
    }).join(" ") : "";
  }
  /* Which grid a point falls in, asked of the service (/api/v1/locate): a resident reads
   * "古杏村委会 · 古杏村第2网格", not coordinates. */
  function gridAt(url, lat, lon) {
    return fetch(url + "?lon=" + lon.toFixed(6) + "&lat=" + lat.toFixed(6)).then(function (r) {
      if (r.status === 404) return { outside: true };
      return r.ok ? r.json() : null;
    }, function () { return null; });
  }

  var MAX_PHOTOS = 3;
  /* The chosen photos onto the filed report, one after another; how many went up. */
  function sendPhotos(url, receipt, files) {
    var sent = 0, failed = 0;
    return files.reduce(function (chain, file) {
      return chain.then(function () {
        var body = new FormData();
        body.append("receipt", receipt);
        body.append("photo", file, file.name || "photo.jpg");
        return fetch(url, { method: "POST", body: body }).then(function (r) {
          if (r.ok) sent++; else failed++;
        }, function () { failed++; });
      });
    }, Promise.resolve()).then(function () { return { sent: sent, failed: failed }; });
  }

  pages.resident = function (gg) {
    var cfg = gg.cfg, map = window[cfg.map], pick = window[cfg.pick], form = $("gg-report");
    var where = $("gg-where"), result = $("gg-result"), send = $("gg-send");
    var point = null, key = null;
    showMine();
    gg.keepAboveBar();
    function place(lat, lon, accuracy) {
      if (!isFinite(lat) || !isFinite(lon)) return;
      point = { lon: lon, lat: lat };
      pick.clearLayers();
      if (accuracy) L.circle([lat, lon], { radius: accuracy, weight: 1, fillOpacity: 0.1, interactive: false }).addTo(pick);
      L.circleMarker([lat, lon], { radius: 11, color: "#fff", weight: 3, fillColor: "#e8590c", fillOpacity: 1, interactive: false }).addTo(pick);
      where.textContent = T("resident.placed_plain", { lon: lon.toFixed(5), lat: lat.toFixed(5) });
      where.className = "gg-where ok";
      key = null;  // another place is another report
      document.body.setAttribute("data-picked", "1");
      var asked = point;
      gridAt(cfg.urls.locate, lat, lon).then(function (found) {
        if (asked !== point || !found) return;  // tapped again meanwhile, or no answer
        if (found.outside) { where.textContent = T("resident.outside"); where.className = "gg-where bad"; return; }
        var names = [found.village && found.village.name, found.grid && found.grid.name].filter(Boolean);
        if (names.length) where.textContent = T("resident.placed", { where: names.join(" · ") });
        document.body.setAttribute("data-picked-grid", found.grid ? found.grid.code : "");
      });
    }
    function tapped(e) {
      // At county zoom a finger covers hundreds of metres: zoom in to the tap, then place.
      if (map.getZoom() < PLACE_ZOOM) {
        map.setView(e.latlng, 16);
        where.textContent = T("resident.zoom_in");
        where.className = "gg-where";
        return;
      }
      place(e.latlng.lat, e.latlng.lng);
    }
    map.on("click", tapped);
    $("gg-locate").onclick = function () {
      if (!navigator.geolocation) { where.textContent = T("resident.no_gps"); return; }
      where.textContent = T("resident.locating");
      navigator.geolocation.getCurrentPosition(function (pos) {
        place(pos.coords.latitude, pos.coords.longitude, pos.coords.accuracy);
        map.setView([pos.coords.latitude, pos.coords.longitude], Math.max(map.getZoom(), 16));
      }, function () { where.textContent = T("resident.gps_failed"); },
      { enableHighAccuracy: true, timeout: 15000 });
    };
    function say(ok, html) {
      result.className = ok ? "ok" : "bad";
      result.innerHTML = html;
      if (result.scrollIntoView) result.scrollIntoView({ block: "nearest" });
    }
    function refusal(status) {
      if (status === 400) return T("resident.outside");
      if (status === 429) return T("resident.too_many");
      if (status === 403) return T("resident.switched_off");
      return T("resident.failed", { status: status });
    }
    form.addEventListener("input", function () { key = null; });  // changed text: a new report
    var photoLabel = form.querySelector(".gg-file");
    function chosen() { return Array.prototype.slice.call(form.photo.files || [], 0, MAX_PHOTOS); }
    form.photo.addEventListener("change", function () {
      var n = chosen().length;
      $("gg-photo-n").textContent = n ? T("resident.photo_n", { n: n }) : T("resident.photo_pick");
      photoLabel.classList.toggle("chosen", n > 0);
    });
    form.onsubmit = function (e) {
      e.preventDefault();
      if (!point) { say(false, esc(T("resident.need_place"))); return; }
      if (!form.service_code.value) { say(false, esc(T("resident.need_kind"))); return; }
      if (!form.description.value.trim()) { say(false, esc(T("resident.need_what"))); return; }
      key = key || newKey();
      var receipt = key, photos = chosen();
      send.disabled = true;
      say(true, esc(T("resident.sending")));
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
          if (!r.ok) { say(false, esc(refusal(r.status))); return; }
          var url = b.follow_url || b.track_url;
          remember({ id: b.id, url: url, what: form.service_code.selectedOptions[0].text, at: new Date().toISOString() });
          say(true, '<b><a id="gg-track" href="' + esc(url) + '">' + esc(T("resident.filed", { id: b.id })) + "</a></b><br>" +
            esc(T("resident.sent_to", { grid: b.grid ? b.grid.name : "—" })) + "<br>" +
            // Checked on site first (核查): its time limit starts once it is registered.
            esc(b.due_at || !b.stage_due_at ? T("resident.due", { due: when(b.due_at, cfg.lang) }) :
              T("resident.check_by", { due: when(b.stage_due_at, cfg.lang) })) +
            (b.duplicate_of ? "<br>" + esc(T("resident.duplicate", { id: b.duplicate_of })) : "") +
            "<br>" + esc(T("resident.keep_number")));
          gg.filed = b.id;
          document.body.setAttribute("data-filed", String(b.id));
          form.description.value = "";
          key = null;
          if (!photos.length) return;
          var note = document.createElement("p");
          note.id = "gg-photo-result";
          note.textContent = T("resident.photos_sending");
          result.appendChild(note);
          return sendPhotos(cfg.urls.photos.replace("{id}", b.id), receipt, photos).then(function (n) {
            note.textContent = (n.sent ? T("resident.photos_sent", { n: n.sent }) : "") +
              (n.failed ? T("resident.photos_failed", { n: n.failed }) : "");
            document.body.setAttribute("data-photos", String(n.sent));
            form.photo.value = "";
            $("gg-photo-n").textContent = T("resident.photo_pick");
            photoLabel.classList.remove("chosen");
          });
        });
      }, function () {
        // Nothing heard back: it may or may not have arrived. The same key makes a retry safe.
        say(false, esc(T("resident.no_answer")));
      }).then(function () { send.disabled = false; });
    };
  };
})();
