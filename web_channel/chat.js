/* The web chat's one script (web_channel/chat.js): the plain pages, a little nicer.
 *
 * Every page works without it (forms posted, pages loaded whole). With it, a form is sent
 * in the background and the page it leads to replaces this one's body: no blank screen
 * between questions, the answer box focused, the browser's Back and Forward still going
 * page by page. An open page asks the server every 15 seconds whether something new
 * waits (web_channel/pages.py, ``news``) and shows it without a reload.
 *
 * Plain ES5 with fetch and promises: WeChat's and old phones' browsers have those; where
 * one is missing, the script does nothing and the plain pages work as they are.
 */
(function () {
  "use strict";
  var w = window, d = document;
  if (!w.fetch || !w.DOMParser || !w.FormData || !w.history || !history.pushState) return;

  var POLL = 15000; // ms between two looks for news while the page is in view
  var TIMEOUT = 90000; // ms a form may take (a recording on a weak signal)
  var busy = false;
  var pressed = null; // the button that sent the form (older browsers lack e.submitter)
  var timer = null;
  var asking = false; // a look for news under way
  var wait = POLL;

  function same(url) {
    var a = d.createElement("a");
    a.href = url;
    return a.protocol === location.protocol && a.host === location.host;
  }

  function where() {
    return location.pathname + location.search;
  }

  // Draw the page ``html`` (a whole page from the server) in place of this one.
  function draw(html, focus) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    if (!doc.body || !doc.querySelector("main")) return false;
    d.title = doc.title;
    var root = d.documentElement, fresh = doc.documentElement;
    root.setAttribute("lang", fresh.getAttribute("lang") || "");
    root.setAttribute("dir", fresh.getAttribute("dir") || "ltr");
    root.replaceChild(d.importNode(doc.body, true), d.body);
    if (focus) {
      w.scrollTo(0, 0);
      var box = d.getElementById("a");
      var main = d.querySelector("main");
      if (box) box.focus();
      else if (main) main.focus();
    }
    news();
    return true;
  }

  // Fetch ``url`` (a GET, or a form's POST) and draw what it leads to; ``how`` says what
  // becomes of the browser's history: "push", "replace" or "" (Back/Forward already did).
  function go(url, options, how, focus) {
    busy = true;
    d.documentElement.className = "busy";
    options.credentials = "same-origin";
    var stop = w.AbortController ? new AbortController() : null;
    if (stop) options.signal = stop.signal;
    // Never stuck: a request that takes too long is given up (or, where it cannot be
    // stopped, no longer waited for) and the page says to tap again.
    var timeout = setTimeout(function () {
      if (stop) return stop.abort();
      failed(null);
    }, TIMEOUT);
    return fetch(url, options).then(function (r) {
      var type = r.headers.get("Content-Type") || "";
      if (type.indexOf("text/html") !== 0) {
        location.href = r.url || url;
        return;
      }
      return r.text().then(function (html) {
        // A form answered by a redirect lands on a page of its own; one answered in place
        // (a refused answer, the code) keeps the address it was sent from, so a reload
        // never sends it again.
        var landed = r.redirected || options.method !== "POST" ? r.url || url : location.href;
        if (!draw(html, focus)) {
          location.href = landed;
          return;
        }
        if (how === "push" && landed !== location.href) history.pushState({ ib: 1 }, "", landed);
        else if (how || landed !== location.href) history.replaceState({ ib: 1 }, "", landed);
      });
    }).then(function () {
      done(timeout);
    }, function () {
      failed(timeout);
    });
  }

  function failed(timeout) {
    done(timeout);
    var offline = d.getElementById("offline");
    if (offline) offline.hidden = false;
  }

  function done(timeout) {
    if (timeout) clearTimeout(timeout);
    busy = false;
    d.documentElement.className = "";
  }

  d.addEventListener("click", function (e) {
    var el = e.target;
    while (el && el.nodeType === 1 && !/^(BUTTON|A)$/.test(el.tagName)) el = el.parentNode;
    if (!el || el.nodeType !== 1) return;
    if (el.tagName === "BUTTON") {
      pressed = el;
      return;
    }
    var href = el.getAttribute("href");
    if (!href || href.charAt(0) !== "/" || el.hasAttribute("download") || el.target) return;
    if (e.defaultPrevented || e.button || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    if (!same(el.href)) return;
    e.preventDefault();
    if (!busy) go(el.href, { method: "GET" }, "push", true);
  });

  d.addEventListener("submit", function (e) {
    var form = e.target;
    if (e.defaultPrevented || (form.method || "").toLowerCase() !== "post" || !same(form.action)) {
      return;
    }
    e.preventDefault();
    if (busy) return;
    var button = e.submitter || pressed;
    pressed = null;
    var body = new FormData(form);
    if (button && button.name && button.form === form) body.append(button.name, button.value);
    var offline = d.getElementById("offline");
    if (offline) offline.hidden = true;
    go(form.action, { method: "POST", body: body }, "push", true);
  });

  w.addEventListener("popstate", function () {
    go(location.href, { method: "GET" }, "", true);
  });

  // -- news: a look every POLL ms, only while the page is in view ---------------------

  function news() {
    if (timer) clearTimeout(timer);
    timer = null;
    var main = d.querySelector("main");
    if (main && main.getAttribute("data-news")) timer = setTimeout(look, wait);
  }

  function look() {
    timer = null;
    var main = d.querySelector("main");
    var mine = main && main.getAttribute("data-news");
    if (!mine) return;
    if (d.hidden || busy || asking) return news();
    asking = true;
    // "no-cache": the browser asks with the ETag it has, and a 304 costs a few bytes.
    fetch("/news", { credentials: "same-origin", cache: "no-cache" }).then(function (r) {
      asking = false;
      if (r.status === 429) wait = Math.min(wait * 2, 8 * POLL);
      if (r.status !== 200) return null;
      wait = POLL;
      return r.json();
    }).then(function (got) {
      var now = d.querySelector("main");
      if (got && got.state && now && now.getAttribute("data-news") === mine && got.state !== mine) {
        changed(got);
      }
      news();
    }, function () {
      asking = false;
      news();
    });
  }

  // Something new: the applications page is drawn again, unless words are being typed on
  // it or a file chosen (or this is a question's page): then the banner says messages wait.
  function changed(got) {
    var main = d.querySelector("main");
    var typing = false;
    var boxes = d.querySelectorAll("textarea, input[type=text], input[type=file]");
    for (var i = 0; i < boxes.length; i++) if (boxes[i].value) typing = true;
    if (main && main.getAttribute("data-page") === "status" && !typing && !busy) {
      go(location.href, { method: "GET" }, "replace", false);
      return;
    }
    var banner = d.getElementById("news");
    if (banner && (got.notices || got.question)) banner.hidden = false;
    if (main) main.setAttribute("data-news", got.state);
  }

  d.addEventListener("visibilitychange", function () {
    if (d.hidden || busy) return;
    if (timer) clearTimeout(timer);
    look();
  });
  history.replaceState({ ib: 1 }, "", where());
  news();
})();
