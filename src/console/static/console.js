// Aftercare console: progressive enhancement only. Every page works without this script.
// - The review queue polls its items with If-None-Match and replaces them when they change
//   (not while a note is being written: then it says that updates are waiting).
// - Keyboard: j / k move between check-ins, n writes a note (Enter on "Mark reviewed" sends it),
//   o opens the patient.
// Polls carry X-Console-Background, so an open but unused console still times out.
(function () {
  "use strict";
  var POLL_MS = 10000;
  var queue = document.getElementById("queue");
  var status = document.getElementById("queue-status");
  var etag = null;
  var waiting = null;

  function items() {
    return queue ? Array.prototype.slice.call(queue.querySelectorAll("li.item")) : [];
  }

  function editing() {
    if (!queue) return false;
    var notes = queue.querySelectorAll("textarea");
    for (var i = 0; i < notes.length; i++) {
      if (notes[i].value.trim() !== "" || document.activeElement === notes[i]) return true;
    }
    return false;
  }

  function apply(html) {
    var focusedId = document.activeElement && document.activeElement.closest
      ? (document.activeElement.closest("li.item") || {}).id : null;
    queue.innerHTML = html;
    waiting = null;
    if (focusedId) {
      var again = document.getElementById(focusedId);
      if (again) again.focus();
    }
    status.textContent = "Queue updated at " + new Date().toLocaleTimeString() + ".";
  }

  function poll() {
    if (!queue) return;
    var headers = { "X-Console-Background": "1" };
    if (etag) headers["If-None-Match"] = etag;
    fetch(queue.getAttribute("data-poll") + window.location.search, {
      headers: headers, credentials: "same-origin", cache: "no-store"
    }).then(function (res) {
      if (res.status === 304) return null;
      if (res.redirected || res.status !== 200) { status.textContent = "Not updating: reload the page."; return null; }
      etag = res.headers.get("ETag");
      return res.text();
    }).then(function (html) {
      if (html === null || html === undefined) return;
      if (editing()) {
        waiting = html;
        status.textContent = "New check-ins are waiting: they appear when you send or clear your note.";
      } else {
        apply(html);
      }
    }).catch(function () {
      status.textContent = "Not updating: the server cannot be reached.";
    });
  }

  function current() {
    var list = items();
    var here = document.activeElement && document.activeElement.closest ? document.activeElement.closest("li.item") : null;
    return { list: list, index: here ? list.indexOf(here) : -1 };
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" || target.tagName === "SELECT")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    if (!queue) return;
    var c = current();
    if (event.key === "j" || event.key === "k") {
      var next = event.key === "j" ? c.index + 1 : c.index - 1;
      if (next >= 0 && next < c.list.length) {
        c.list[next].focus();
        c.list[next].scrollIntoView({ block: "nearest" });
      }
      event.preventDefault();
    } else if (event.key === "n" && c.index >= 0) {
      c.list[c.index].querySelector("textarea").focus();
      event.preventDefault();
    } else if (event.key === "o" && c.index >= 0) {
      c.list[c.index].querySelector("h3 a").click();
      event.preventDefault();
    }
  });

  document.addEventListener("focusout", function () {
    if (waiting !== null && !editing()) apply(waiting);
  });

  if (queue) {
    var first = items()[0];
    if (first && document.activeElement === document.body) first.focus();
    window.setInterval(poll, POLL_MS);
  }
})();
