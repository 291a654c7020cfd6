/* The sign-in page: whoever used this phone before has signed out (or their session ended), so the
 * visit screens kept for offline use, which show their households, are dropped. Unsent visits stay
 * in the phone's outbox, tagged with their author, and go out when that person signs in again. */
(function () {
  if (!("caches" in window)) return;
  caches.keys().then(function (names) {
    names.filter(function (n) { return n.indexOf("huijia-visits-") === 0; })
      .forEach(function (n) { caches.delete(n); });
  });
})();
