// Live chat: progressive enhancement of /chat and /chat/rooms/<id>. Every
// page works without this file; with it, new messages, edits and deletions
// appear without a reload, unread badges update, and the message box posts
// without leaving the page. One EventSource per tab (/chat/events); the
// browser reconnects by itself and sends Last-Event-ID, so nothing is
// missed or repeated.
(function () {
  "use strict";
  if (!window.EventSource || !window.fetch) return;

  var log = document.getElementById("chat-log");
  var roomId = log ? Number(log.getAttribute("data-room")) : 0;
  var live = log && log.getAttribute("data-live") === "1";
  var csrfInput = document.querySelector("input[name=csrf_token]");
  var csrf = csrfInput ? csrfInput.value : "";

  function formBody(fields) {
    return Object.keys(fields).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(fields[k]);
    }).join("&");
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  function timeText(unix) {
    var d = new Date(unix * 1000);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getUTCFullYear() + "-" + two(d.getUTCMonth() + 1) + "-" + two(d.getUTCDate()) +
      " " + two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()) + " UTC";
  }

  // A message item like the server renders; `m.html` is the server's
  // sanitised rendering of the body.
  function render(m) {
    var li = el("li", "chat-message");
    li.id = "m" + m.id;
    li.setAttribute("data-id", m.id);
    var meta = el("p", "chat-meta");
    var author = el("a", "chat-author", m.author);
    author.href = "/chat/people/" + encodeURIComponent(m.author);
    var when = el("a", "muted");
    when.href = "/chat/rooms/" + m.room_id + "?around=" + m.id + "#m" + m.id;
    when.appendChild(el("time", "", timeText(m.created_at)));
    meta.appendChild(author);
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(when);
    if (m.edited && !m.deleted) {
      meta.appendChild(document.createTextNode(" "));
      meta.appendChild(el("span", "muted chat-edited", "(edited)"));
    }
    li.appendChild(meta);
    if (m.reply_to) {
      var q = el("p", "chat-quote");
      var link = el("a", "", m.reply_to.deleted ? "Reply to a message that was deleted"
        : "Reply to " + m.reply_to.author + ": \u201c" + m.reply_to.excerpt + "\u201d");
      link.href = "/chat/rooms/" + m.room_id + "?around=" + m.reply_to.id + "#m" + m.reply_to.id;
      q.appendChild(link);
      li.appendChild(q);
    }
    if (m.deleted) {
      var p = el("p", "muted chat-deleted");
      p.appendChild(el("em", "", "This message was deleted."));
      li.appendChild(p);
    } else {
      var body = el("div", "chat-body");
      body.innerHTML = m.html;
      li.appendChild(body);
    }
    return li;
  }

  function keepActions(oldLi, newLi, m) {
    var actions = oldLi.querySelector(".chat-actions");
    if (actions && !m.deleted) newLi.appendChild(actions);
  }

  var readTimer = null;
  function markRead(upto) {
    if (document.hidden) return;
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      fetch("/chat/rooms/" + roomId + "/read", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: formBody({ csrf_token: csrf, upto: upto })
      });
    }, 300);
  }

  function bumpBadge(roomIdOf, cls, attr, label) {
    var item = document.querySelector(".chat-room-item[data-room='" + roomIdOf + "']");
    if (!item) return;
    var badge = item.querySelector("." + cls);
    var n = badge ? Number(badge.getAttribute(attr)) + 1 : 1;
    if (!badge) {
      badge = el("span", "badge " + cls);
      item.insertBefore(badge, item.children[1] || null);
    }
    badge.setAttribute(attr, n);
    badge.textContent = label(n);
  }

  // The navigation badge (every page renders it; it counts what the
  // server counted at page load, then messages seen live here).
  function bumpNav(mentioned) {
    var nav = document.getElementById("nav-chat-badge");
    if (!nav) return;
    var unread = Number(nav.getAttribute("data-nav-unread")) + 1;
    var mentions = Number(nav.getAttribute("data-nav-mentions")) + (mentioned ? 1 : 0);
    nav.setAttribute("data-nav-unread", unread);
    nav.setAttribute("data-nav-mentions", mentions);
    nav.firstChild.nodeValue = String(unread);
    if (mentions > 0 && !nav.classList.contains("nav-badge-mention")) {
      nav.classList.add("nav-badge-mention");
      nav.appendChild(document.createTextNode(" @"));
    }
    nav.hidden = false;
  }

  var source = new EventSource("/chat/events");

  source.addEventListener("message", function (e) {
    var d = JSON.parse(e.data);
    if (!d.message) return;
    if (live && d.room_id === roomId) {
      if (document.getElementById("m" + d.message.id)) return;
      var empty = document.getElementById("chat-empty");
      if (empty) empty.remove();
      log.appendChild(render(d.message));
      markRead(d.message.id);
    } else {
      bumpBadge(d.room_id, "chat-unread", "data-unread", function (n) { return n + " unread"; });
      var me = document.querySelector(".nav-user");
      var mentioned = me && d.message.html.indexOf(">@" + me.textContent.trim() + "<") !== -1;
      if (mentioned) {
        bumpBadge(d.room_id, "chat-mention", "data-mentions", function (n) {
          return "@ " + n + " mention" + (n === 1 ? "" : "s");
        });
      }
      if (!me || d.message.author !== me.textContent.trim()) bumpNav(mentioned);
    }
  });

  function replace(e) {
    var d = JSON.parse(e.data);
    if (!d.message || d.room_id !== roomId || !log) return;
    var old = document.getElementById("m" + d.message.id);
    if (!old) return;
    var li = render(d.message);
    keepActions(old, li, d.message);
    old.replaceWith(li);
  }
  source.addEventListener("edit", replace);
  source.addEventListener("delete", replace);

  source.addEventListener("leave", function (e) {
    var d = JSON.parse(e.data);
    if (d.room_id === roomId && log) window.location.reload();
  });
  source.addEventListener("end", function () { source.close(); });

  // The browser retries a dropped stream by itself; it gives up only when
  // the server refuses it (429: too many chat tabs open). Say so, once.
  source.addEventListener("error", function () {
    if (source.readyState !== EventSource.CLOSED || document.getElementById("chat-live-off")) return;
    var note = el("p", "flash flash-info chat-live-off",
      "Live updates are off in this tab (too many chat tabs open, or the server is busy). " +
      "The page still works: use Refresh, or reload once another tab is closed.");
    note.id = "chat-live-off";
    note.setAttribute("role", "status");
    var main = document.querySelector("main") || document.body;
    main.insertBefore(note, main.firstChild);
  });

  // Post without a reload; on any trouble, the form posts the ordinary way.
  var compose = document.getElementById("chat-compose");
  if (compose) {
    compose.addEventListener("submit", function (ev) {
      var box = compose.querySelector("textarea[name=body]");
      if (!box || !box.value.trim()) return;
      ev.preventDefault();
      var button = compose.querySelector("button[type=submit]");
      var reply = compose.querySelector("input[name=reply_to]");
      var fields = { csrf_token: csrf, body: box.value };
      if (reply) fields.reply_to = reply.value;
      button.disabled = true;
      fetch(compose.action, {
        method: "POST",
        credentials: "same-origin",
        redirect: "manual",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: formBody(fields)
      }).then(function (res) {
        button.disabled = false;
        if (res.type === "opaqueredirect" || res.ok) {
          box.value = "";
          if (reply) {
            reply.remove();
            var quote = document.getElementById("chat-replying");
            if (quote) quote.remove();
          }
          box.focus();
        } else {
          compose.submit();
        }
      }, function () {
        button.disabled = false;
        compose.submit();
      });
    });
  }
})();
