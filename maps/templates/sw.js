/* gisgrid service worker: the grid worker's map keeps working when the network drops.
 * Served by the app at /maps/sw.js (scope /maps/); maps/offline.py fills in CONFIG.
 *
 * - Shell (Leaflet, plugins, gisgrid.js/css): precached per version, served cache first. A new
 *   deploy changes the version, installs a new shell cache and deletes the old one.
 * - Personal (the worker page, /maps/data/worker, and the case files and households the page
 *   opened: personal data): network first, the last good copy when the network fails or stalls. Deleted when the server says the
 *   session is gone (401, 403, a redirect to sign in), by the sign-in page and by sign-out.
 * - Sign-out without network: the page deletes the copy and leaves a mark; the next request
 *   here that reaches the server first ends the session, so the phone's cookie is useless.
 * - Everything else passes through untouched (the centre's live polling must never be stale).
 * Plain ES2017, no dependencies. */
"use strict";
var CONFIG = {/* filled by maps.offline */};
var PRECACHE = new Set(CONFIG.precache);

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CONFIG.shellCache).then(function (cache) {
      // Past the HTTP cache: a deploy must not precache yesterday's copy of gisgrid.js.
      return cache.addAll(CONFIG.precache.map(function (u) { return new Request(u, { cache: "reload" }); }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) {
        return n.indexOf(CONFIG.prefix) === 0 && n !== CONFIG.shellCache &&
          n !== CONFIG.personalCache && n !== CONFIG.signoutCache;
      }).map(function (n) { return caches.delete(n); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function isPersonal(url) {
  if (url.origin !== self.location.origin) return false;
  return CONFIG.personal.indexOf(url.pathname) >= 0 ||
    CONFIG.personalPrefixes.some(function (p) { return url.pathname.indexOf(p) === 0; });
}

/* Store a good response with the server's time of it; forget everything personal when the
 * server no longer knows the person (their copy must not outlive the session). */
function remember(key, res) {
  if (res.status === 401 || res.status === 403 || res.type === "opaqueredirect" || res.redirected) {
    return caches.delete(CONFIG.personalCache);
  }
  if (!res.ok) return Promise.resolve();
  return res.blob().then(function (body) {
    var headers = new Headers(res.headers);
    headers.set(CONFIG.fetchedHeader, new Date(res.headers.get("Date") || Date.now()).toISOString());
    return caches.open(CONFIG.personalCache).then(function (cache) {
      return cache.put(key, new Response(body, { status: res.status, statusText: res.statusText, headers: headers }));
    });
  });
}

/* caches.match, not caches.open: looking must not recreate the cache sign-out deleted. */
function cached(key) {
  return caches.match(key, { cacheName: CONFIG.personalCache, ignoreVary: true });
}

function nothingCached(request) {
  if (request.mode !== "navigate") return Response.error();
  return new Response(CONFIG.offlinePage, {
    status: 503,
    headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" },
  });
}

/* Network first; the last good copy when the network fails, or when it has not answered within
 * networkWaitMs on a weak link (the answer, if it comes, still refreshes the copy). */
function networkFirst(event, url) {
  var key = url.href;
  var fetched = fetch(event.request);
  event.waitUntil(fetched.then(function (res) { return remember(key, res.clone()); }).catch(function () {}));
  // A 5xx from a proxy whose backend is unreachable is as good as offline for the worker.
  var network = fetched.then(function (res) {
    return res.status >= 500 ? cached(key).then(function (hit) { return hit || res; }) : res;
  });
  var stalled = new Promise(function (resolve) { setTimeout(resolve, CONFIG.networkWaitMs); })
    .then(function () { return cached(key); })
    .then(function (hit) { return hit || network; });
  return Promise.race([network, stalled]).catch(function () {
    return cached(key).then(function (hit) { return hit || nothingCached(event.request); });
  });
}

/* A sign-out made offline still owes the server its request: send it before anything personal
 * goes out with the old cookie. Still offline: the mark stays and the request goes on to fail. */
function finishSignout() {
  return caches.has(CONFIG.signoutCache).then(function (pending) {
    if (!pending) return;
    return fetch(CONFIG.signoutUrl, { method: "POST", credentials: "same-origin", redirect: "manual" })
      .then(function () { return caches.delete(CONFIG.signoutCache); }, function () {});
  });
}

self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.method !== "GET") return;
  var url = new URL(req.url);
  if (url.origin === self.location.origin && PRECACHE.has(url.pathname) && !url.search) {
    event.respondWith(
      caches.match(url.pathname, { cacheName: CONFIG.shellCache }).then(function (hit) { return hit || fetch(req); })
    );
  } else if (isPersonal(url)) {
    event.respondWith(finishSignout().then(function () { return networkFirst(event, url); }));
  }
});

/* From the page: "keep" a copy of pages loaded before this worker controlled them. The reply
 * (to the port the page sent along) says "kept" only when every copy is really stored. */
self.addEventListener("message", function (event) {
  var msg = event.data || {};
  var reply = function (answer) { if (event.ports[0]) event.ports[0].postMessage(answer); };
  if (msg.type === "keep") {
    var urls = (msg.urls || []).map(function (u) { return new URL(u, self.location.href); }).filter(isPersonal);
    event.waitUntil(Promise.all(urls.map(function (url) {
      return cached(url.href).then(function (hit) {
        return hit || fetch(url.href, { credentials: "same-origin" }).then(function (res) { return remember(url.href, res); });
      });
    })).then(function () {
      return Promise.all(urls.map(function (url) { return cached(url.href); }));
    }).then(function (hits) {
      var all = hits.every(Boolean);
      reply({ type: all ? "kept" : "failed", version: CONFIG.version, error: all ? null : "not stored" });
    }, function (e) {
      reply({ type: "failed", error: String(e) });
    }));
  }
});
