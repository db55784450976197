/* gisgrid offline queue (离线待发): actions made on the phone are kept in IndexedDB and sent
 * in the order they were made, each with its own Idempotency-Key, whenever the network is there.
 *
 * An action is { kind, label, url, json | form, key, owner, ref, at }; `form` is a list of
 * [name, value] or [name, Blob, filename] (photos are kept as Blobs). Sending one:
 *  - 2xx: done, removed, `onsent(action, body)`;
 *  - 409, or another 4xx the server words (400, 403, 404, 413, 415, 422): not retried; kept as
 *    "refused" with the server's answer until the worker dismisses it (a conflict shown plainly);
 *  - 401: stop (sign in again), nothing lost;
 *  - no answer, 5xx, 429: stop and try again later. The same key makes the resend safe: the
 *    server returns what it stored the first time instead of storing it twice.
 * Plain IndexedDB, no dependencies. */
(function () {
  "use strict";
  var DB = "gisgrid-queue", STORE = "actions", VERSION = 1;
  var listeners = [], busy = null, rerun = null, dbp = null;

  function open() {
    if (dbp) return dbp;
    dbp = new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, VERSION);
      req.onupgradeneeded = function () {
        req.result.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
      };
      req.onsuccess = function () {
        var db = req.result;
        db.onversionchange = function () { db.close(); dbp = null; };
        resolve(db);
      };
      req.onerror = function () { dbp = null; reject(req.error); };
      req.onblocked = function () { reject(new Error("blocked")); };
    });
    return dbp;
  }
  function tx(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), store = t.objectStore(STORE), out;
        out = work(store);
        t.oncomplete = function () { resolve(out && "result" in out ? out.result : out); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error || new Error("aborted")); };
      });
    });
  }
  function changed() {
    return all().then(function (items) { listeners.forEach(function (f) { f(items); }); return items; });
  }
  function newKey(kind) {
    var id = window.crypto && crypto.randomUUID ? crypto.randomUUID()
      : Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 14);
    return kind + "-" + id;
  }

  function add(action) {
    var item = Object.assign({ state: "waiting", at: new Date().toISOString(), tries: 0 }, action);
    item.key = item.key || newKey(item.kind || "act");
    return tx("readwrite", function (s) { return s.add(item); }).then(function (seq) {
      item.seq = seq;
      changed();
      return item;
    });
  }
  function all() {
    return tx("readonly", function (s) { return s.getAll(); }).then(function (items) {
      return (items || []).sort(function (a, b) { return a.seq - b.seq; });
    });
  }
  function put(item) { return tx("readwrite", function (s) { return s.put(item); }); }
  function remove(seq) { return tx("readwrite", function (s) { return s.delete(seq); }).then(changed); }
  function clear() {
    dbp = null;
    return new Promise(function (resolve) {
      var req = indexedDB.deleteDatabase(DB);
      req.onsuccess = req.onerror = req.onblocked = function () { resolve(); };
    });
  }

  function request(item) {
    var headers = { "Idempotency-Key": item.key }, body;
    if (item.form) {
      body = new FormData();
      item.form.forEach(function (p) {
        if (p[1] instanceof Blob) body.append(p[0], p[1], p[2] || "photo.jpg");
        else if (p[1] != null) body.append(p[0], String(p[1]));
      });
    } else {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(item.json || {});
    }
    return fetch(item.url, { method: item.method || "POST", credentials: "same-origin", headers: headers, body: body });
  }

  /* Send what waits, oldest first, one at a time; one run at a time. Resolves to a summary. */
  function flush(opts) {
    // One run at a time; an action added during a run is sent by one more run right after.
    if (busy) {
      if (!rerun) rerun = busy.then(function () { rerun = null; return flush(opts); });
      return rerun;
    }
    opts = opts || {};
    var summary = { sent: 0, refused: 0, stopped: null };
    busy = all().then(function (items) {
      var todo = items.filter(function (i) {
        return (i.state === "waiting" || i.state === "sending") && (!opts.owner || i.owner === opts.owner);
      });
      var step = function (k) {
        if (k >= todo.length) return summary;
        var item = todo[k];
        item.state = "sending";
        item.tries = (item.tries || 0) + 1;
        return put(item).then(changed).then(function () { return request(item); }).then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (body) {
            if (r.ok) {
              summary.sent++;
              return remove(item.seq).then(function () {
                if (opts.onsent) opts.onsent(item, body, r);
                return step(k + 1);
              });
            }
            if (r.status === 401 || r.status === 429 || r.status >= 500) {
              item.state = "waiting";
              item.error = { status: r.status };
              summary.stopped = r.status === 401 ? "signin" : "server";
              return put(item).then(changed).then(function () { return summary; });
            }
            item.state = "refused";
            item.error = { status: r.status, detail: String(body.detail || ""), error: body.error || null };
            summary.refused++;
            return put(item).then(changed).then(function () {
              if (opts.onrefused) opts.onrefused(item, body, r);
              return step(k + 1);
            });
          });
        }, function () {
          // No answer: it may or may not have arrived. The same key makes the next try safe.
          item.state = "waiting";
          item.error = { status: 0 };
          summary.stopped = "network";
          return put(item).then(changed).then(function () { return summary; });
        });
      };
      return step(0);
    }).then(function (s) { busy = null; return s; }, function (e) { busy = null; throw e; });
    return busy;
  }

  /* Keep only `owner`'s actions: another account's (a shared phone) can never be sent by this one. */
  function keepOnly(owner) {
    return all().then(function (items) {
      var others = items.filter(function (i) { return i.owner !== owner; });
      return Promise.all(others.map(function (i) { return tx("readwrite", function (s) { return s.delete(i.seq); }); }));
    }).then(changed);
  }

  window.gisgridQueue = {
    add: add, all: all, remove: remove, clear: clear, flush: flush, keepOnly: keepOnly,
    newKey: newKey,
    onchange: function (f) { listeners.push(f); },
    get busy() { return !!busy; },
  };
})();
