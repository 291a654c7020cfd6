/* huijia visits service worker: keeps the visit screens (/m/visits/…) usable with no network.
 *
 * Served by huijia.visits.views.service_worker, which puts `const PRECACHE = [...]` (the static
 * files these screens need) above this text. Pages under the scope are fetched from the network
 * first and kept; with no network (or after a few seconds without an answer, as in a stairwell) the
 * kept copy is shown. Static files are served from the cache. Visits themselves are never sent from
 * here: POST requests pass through untouched, and the page's outbox (visits.js) sends them.
 */
/* global PRECACHE */
"use strict";

var CACHE = "huijia-visits-v1";
var SCOPE = new URL(self.registration.scope).pathname;
var SLOW_MS = 4000;
var OFFLINE_PAGE =
  '<!doctype html><html lang="zh-Hans"><meta charset="utf-8">' +
  '<meta name="viewport" content="width=device-width, initial-scale=1"><title>没有网络</title>' +
  '<body style="font: 20px/1.6 sans-serif; padding: 1em; max-width: 600px; margin: auto">' +
  "<h1>现在没有网络</h1><p>这个页面还没有保存到手机上。请回到“我的包户”，" +
  '已保存的住户可以照常记录走访。</p><p><a href="' + SCOPE + '">回到我的包户</a></p></body></html>';

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE)
      .then(function (cache) { return cache.addAll(PRECACHE.filter(function (u) { return u !== SCOPE; })); })
      .catch(function () { /* a missing file must not stop the worker */ })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) {
        return n.indexOf("huijia-visits-") === 0 && n !== CACHE;
      }).map(function (n) { return caches.delete(n); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function offlinePage() {
  return new Response(OFFLINE_PAGE, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

function signedOut(response) {
  return response.redirected && new URL(response.url).pathname.indexOf("/login") === 0;
}

function networkFirst(request) {
  return caches.open(CACHE).then(function (cache) {
    var network = fetch(request).then(function (response) {
      if (response.ok && !response.redirected) {
        return cache.put(request, response.clone()).then(function () { return response; });
      }
      if (signedOut(response)) {  // signed out: forget the pages kept for the previous user
        return caches.delete(CACHE).then(function () { return response; });
      }
      return response;
    });
    network.catch(function () {});
    var slow = new Promise(function (resolve, reject) { setTimeout(reject, SLOW_MS); });
    return Promise.race([network, slow]).catch(function () {
      return cache.match(request, { ignoreVary: true }).then(function (hit) {
        if (hit) return hit;
        return network.catch(function () {
          if (request.mode !== "navigate") return Response.error();
          return cache.match(SCOPE, { ignoreVary: true }).then(function (home) { return home || offlinePage(); });
        });
      });
    });
  });
}

function cacheFirst(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.ok) cache.put(request, response.clone());
        return response;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf(SCOPE) === 0 && url.pathname !== SCOPE + "sw.js") {
    event.respondWith(networkFirst(request));
  } else if (PRECACHE.indexOf(url.pathname) >= 0) {
    event.respondWith(cacheFirst(request));
  }
});
