// The navigation's unread notifications count, kept live over
// /notifications/events (Server-Sent Events; src/notifications/live.rs).
// Without JavaScript, or without EventSource, the count is the one the page
// was rendered with. Only a visible tab keeps a stream open: a browser
// allows few connections per site over HTTP/1.1, and hidden tabs would
// hold them all; a tab that becomes visible again opens a new stream,
// whose first event is the current count.
(function () {
  "use strict";
  var link = document.getElementById("nav-notifications");
  if (!link || !window.EventSource) return;
  var source = null;

  function show(label) {
    var badge = document.getElementById("nav-notifications-badge");
    if (!label) {
      if (badge) badge.remove();
      return;
    }
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "badge nav-badge";
      badge.id = "nav-notifications-badge";
      var hint = document.createElement("span");
      hint.className = "visually-hidden";
      hint.textContent = " unread";
      badge.appendChild(document.createTextNode(""));
      badge.appendChild(hint);
      link.appendChild(badge);
    }
    badge.firstChild.nodeValue = label;
  }

  function open() {
    if (source) return;
    source = new EventSource("/notifications/events");
    source.addEventListener("unread", function (e) {
      try {
        show(JSON.parse(e.data).label);
      } catch (err) {
        // A malformed event changes nothing.
      }
    });
    // Signed out elsewhere: stay quiet until the next page load.
    source.addEventListener("end", close);
  }

  function close() {
    if (source) source.close();
    source = null;
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) close();
    else open();
  });
  if (!document.hidden) open();
})();
