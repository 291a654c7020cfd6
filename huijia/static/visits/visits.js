/* huijia visits (入户走访): record a visit with or without a network.
 *
 * A visit typed on the phone is first kept in IndexedDB with an idempotency key of its own
 * (crypto.randomUUID), then sent to POST /api/v1/visits with that key in the Idempotency-Key header
 * whenever there is a network: at once, on page load, and on the "online" event. The server stores a
 * visit once per key, so sending it again is harmless. Without JavaScript the form posts as usual.
 * The service worker (/m/visits/sw.js) keeps the visit screens available with no network.
 */
(function () {
  "use strict";

  var DB_NAME = "huijia-visits";
  var STORE = "outbox";
  var CACHE = "huijia-visits-v1";
  var RETRY_MS = 30000;
  var KEEP_SENT_MS = 3 * 24 * 3600 * 1000;
  var STATES = {
    pending: { badge: "离线已保存，待发送", title: "离线已保存", explain: "这次走访已保存在手机上，有网络时会自动发送，不用再填一遍。" },
    sending: { badge: "正在发送", title: "正在发送…", explain: "正在把这次走访发给社区。" },
    sent: { badge: "已送达", title: "已送达", explain: "这次走访已经送到社区，谢谢您！" },
    failed: { badge: "发送失败，将自动重试", title: "发送失败，将自动重试", explain: "走访还保存在手机上，有网络时会自动再发。" },
    rejected: { badge: "无法送达", title: "无法送达", explain: "" },
  };

  var state = { syncing: false, again: false, timer: null, current: null };

  /* --- IndexedDB: the outbox ------------------------------------------------------------------- */

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "key" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(result && "result" in result ? result.result : result); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function currentUser() { var box = netState(); return box ? box.dataset.user : ""; }

  // Only the signed-in person's visits: on a shared phone, what one person saved is never sent (or
  // shown) under another person's account.
  function allRecords() {
    return withStore("readonly", function (store) { return store.getAll(); }).then(function (rows) {
      var user = currentUser();
      return (rows || []).filter(function (r) { return r.user === user; })
        .sort(function (a, b) { return a.created - b.created; });
    });
  }

  function save(record) { return withStore("readwrite", function (store) { store.put(record); }); }
  function forget(key) { return withStore("readwrite", function (store) { store.delete(key); }); }

  /* --- helpers ----------------------------------------------------------------------------------- */

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function netState() { return document.getElementById("net-state"); }
  function apiUrl() { var el = netState(); return (el && el.dataset.api) || "/api/v1/visits"; }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  /* --- sending ----------------------------------------------------------------------------------- */

  function post(url, body, headers) {
    headers["X-CSRFToken"] = csrfToken();
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers, body: body });
  }

  function fail(record, message) {
    record.state = "failed";
    record.message = message || "";
    return save(record).then(function () { return false; });
  }

  function uploadPhotos(record) {
    if (!record.photos || !record.photos.length) return Promise.resolve(true);
    var form = new FormData();
    form.append("photo", record.photos[0], record.photos[0].name || "photo.jpg");
    return post(apiUrl() + "/" + record.visitId + "/photos", form, {}).then(function (response) {
      if (response.status >= 500 || response.status === 401 || response.status === 403) {
        return fail(record, "照片还没传完");
      }
      record.photos.shift(); // stored, or refused for good (not an image): either way, next one
      return save(record).then(function () { return uploadPhotos(record); });
    });
  }

  function sendOne(record) {
    record.state = "sending";
    return save(record).then(render).then(function () {
      return post(apiUrl(), JSON.stringify(record.payload), {
        "Content-Type": "application/json",
        "Idempotency-Key": record.key,
      });
    }).then(function (response) {
      if (response.status === 200 || response.status === 201) {
        return response.json().then(function (body) {
          record.visitId = body.id;
          return uploadPhotos(record);
        }).then(function (done) {
          if (!done) return false;
          record.state = "sent";
          record.message = "";
          record.sentAt = Date.now();
          return save(record).then(function () { return true; });
        });
      }
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.status === 401) return fail(record, "请先登录，登录后会自动发送");
        if (response.status >= 500 || body.code === "csrf_failed") return fail(record, body.message);
        record.state = "rejected";
        record.message = body.message || "";
        record.fields = body.fields || null;
        return save(record).then(function () { return false; });
      });
    }, function () {
      return fail(record, navigator.onLine ? "网络不稳定" : "现在没有网络");
    });
  }

  function sync() {
    if (!window.indexedDB) return Promise.resolve();
    if (state.syncing) {
      state.again = true; // a visit saved while sending others: send it right after
      return Promise.resolve();
    }
    state.syncing = true;
    state.again = false;
    clearTimeout(state.timer);
    return allRecords().then(function (rows) {
      var waiting = rows.filter(function (r) { return r.state !== "sent" && r.state !== "rejected"; });
      return waiting.reduce(function (chain, record) {
        return chain.then(function () { return sendOne(record); });
      }, Promise.resolve());
    }).catch(function () { /* a broken outbox must not break the page */ })
      .then(function () {
        state.syncing = false;
        return render();
      }).then(function (rows) {
        if (state.again) return sync();
        if ((rows || []).some(function (r) { return r.state === "failed" || r.state === "pending"; })) {
          state.timer = setTimeout(sync, RETRY_MS);
        }
      });
  }

  /* --- showing the outbox -------------------------------------------------------------------------- */

  function describe(record) {
    var s = STATES[record.state] || STATES.pending;
    return record.state === "rejected" ? "无法送达：" + (record.message || "内容需要修改") : s.badge;
  }

  function renderOutbox(rows) {
    var box = document.getElementById("outbox");
    if (!box) return;
    var list = box.querySelector(".outbox-list");
    list.textContent = "";
    rows.forEach(function (record) {
      var item = el("li");
      item.dataset.key = record.key;
      var day = record.payload.visited_on.split("-");
      var what = el("span", "what", record.label + " · " + Number(day[1]) + "月" + Number(day[2]) + "日走访 ");
      what.appendChild(el("span", "badge " + record.state, describe(record)));
      item.appendChild(what);
      if (record.state === "failed" && record.message) item.appendChild(el("span", "msg", record.message));
      if (record.state === "rejected") {
        var drop = el("button", "secondary", "删除这条");
        drop.type = "button";
        drop.addEventListener("click", function () { forget(record.key).then(render); });
        item.appendChild(drop);
      }
      list.appendChild(item);
    });
    box.hidden = rows.length === 0;
  }

  function renderBadges(rows) {
    var latest = {}; // household id -> state of its newest visit on the phone
    rows.forEach(function (r) { latest[r.payload.household_id] = r.state; });
    document.querySelectorAll("a[data-household]").forEach(function (link) {
      var badge = link.querySelector(".outbox-badge");
      var found = latest[link.dataset.household];
      if (!badge) return;
      badge.hidden = !found;
      if (found) {
        badge.className = "badge outbox-badge " + found;
        badge.textContent = found === "pending" ? "待发送" : (STATES[found] || STATES.pending).badge;
      }
    });
  }

  function renderSaved(rows) {
    var panel = document.getElementById("saved-state");
    if (!panel || !state.current) return;
    var record = rows.filter(function (r) { return r.key === state.current; })[0];
    if (!record) return;
    var s = STATES[record.state] || STATES.pending;
    panel.className = "card status saved-state " + record.state;
    panel.querySelector(".state").textContent = record.state === "rejected" ? describe(record) : s.title;
    panel.querySelector(".explain").textContent = record.state === "rejected"
      ? "请回到这户重新填写，这条可以在“我的包户”里删除。" : s.explain;
    panel.dataset.state = record.state;
    panel.hidden = false;
  }

  function render() {
    if (!window.indexedDB) return Promise.resolve([]);
    return allRecords().then(function (rows) {
      var now = Date.now();
      var old = rows.filter(function (r) { return r.state === "sent" && now - r.sentAt > KEEP_SENT_MS; });
      old.forEach(function (r) { forget(r.key); });
      rows = rows.filter(function (r) { return old.indexOf(r) < 0; });
      renderOutbox(rows);
      renderBadges(rows);
      renderSaved(rows);
      return rows;
    }).catch(function () { return []; });
  }

  /* --- the visit form ------------------------------------------------------------------------------- */

  var PHONE = /^(?:1[3-9]\d{9}|0(?:10|2\d)\d{8}|0[3-9]\d{2}\d{7,8})$/;

  function problems(form, payload) {
    var today = form.dataset.today;
    if (!payload.visited_on) return "请填写走访日期";
    if (payload.visited_on > today) return "走访日期不能晚于今天";
    if (payload.moved_in_on && payload.moved_in_on > today) return "入住日期不能晚于今天";
    if (payload.occupants !== null && (isNaN(payload.occupants) || payload.occupants < 0 || payload.occupants > 50)) {
      return "常住人数应在0到50之间";
    }
    var phone = payload.contact_phone.replace(/[\s\-()（）]/g, "").replace(/^\+86/, "");
    if (phone && !PHONE.test(phone)) return "联系电话请填写11位手机号，或带区号的固定电话（如 0731-84567890）";
    return "";
  }

  function collect(form) {
    var data = new FormData(form);
    var text = function (name) { return String(data.get(name) || "").trim(); };
    var occupants = text("occupants");
    return {
      household_id: Number(form.dataset.household),
      visited_on: text("visited_on"),
      tenure: text("tenure"),
      occupants: occupants === "" ? null : Number(occupants),
      moved_in_on: text("moved_in_on") || null,
      contact_phone: text("contact_phone"),
      demands: text("demands").split(/\n/).map(function (s) { return s.trim(); }).filter(Boolean),
      vulnerable: data.getAll("vulnerable").map(function (kind) {
        return { kind: kind, note: text("note_" + kind) };
      }),
      help_given: text("help_given"),
      notes: text("notes"),
    };
  }

  function onSubmit(event) {
    var form = event.target;
    if (!window.indexedDB || !window.fetch || !window.Promise) return; // the plain form post
    event.preventDefault();
    var payload = collect(form);
    var errors = document.getElementById("client-errors");
    var problem = problems(form, payload);
    if (problem) {
      errors.querySelector("p").textContent = problem;
      errors.hidden = false;
      errors.focus();
      return;
    }
    errors.hidden = true;
    var input = form.querySelector("input[type=file]");
    var record = {
      key: newKey(),
      user: currentUser(),
      label: form.dataset.label,
      payload: payload,
      photos: input && input.files ? Array.prototype.slice.call(input.files, 0, 5) : [],
      state: "pending",
      created: Date.now(),
    };
    save(record).then(function () {
      state.current = record.key;
      form.hidden = true;
      var panel = document.getElementById("saved-state");
      return render().then(function () { panel.focus(); });
    }).then(function () {
      if (navigator.onLine) sync();
    }, function () {
      form.hidden = false;
      errors.querySelector("p").textContent = "手机存储不可用，请联网后再保存。";
      errors.hidden = false;
    });
  }

  /* --- network state and the service worker ------------------------------------------------------ */

  function showNetwork(ready) {
    var box = netState();
    if (!box) return;
    if (!navigator.onLine) {
      box.className = "net-state js-only offline";
      box.textContent = "现在没有网络。可以照常记录走访，有网络时自动发送。";
    } else if (ready) {
      box.className = "net-state js-only";
      box.textContent = "已准备好：没有信号时也能打开这些住户、记录走访。";
    }
  }

  function precache() {
    var list = document.getElementById("offline-urls");
    if (!list || !window.caches || !navigator.onLine) return Promise.resolve();
    var urls = JSON.parse(list.textContent);
    return caches.open(CACHE).then(function (cache) {
      // one after another: gentle on a weak signal and on the server
      return urls.reduce(function (chain, url) {
        return chain.then(function () {
          return fetch(url, { credentials: "same-origin" }).then(function (response) {
            if (response.ok && !response.redirected) return cache.put(url, response);
          }).catch(function () {});
        });
      }, Promise.resolve());
    });
  }

  function registerWorker() {
    var box = netState();
    if (!box || !("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register(box.dataset.sw, { scope: box.dataset.scope })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(precache)
      .then(function () {
        document.documentElement.dataset.offlineReady = "1";
        showNetwork(true);
      })
      .catch(function () { /* offline support is a bonus; the screens work without it */ });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("visit-form");
    if (form) form.addEventListener("submit", onSubmit);
    showNetwork(false);
    registerWorker();
    render().then(function () { if (navigator.onLine) sync(); });
    window.addEventListener("online", function () { showNetwork(true); sync(); });
    window.addEventListener("offline", function () { showNetwork(false); });
  });
})();
