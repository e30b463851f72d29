// orchweb page shell script (loaded on every page, first in <body>, before the page scripts).
//
// - `orchweb.fetchJSON(url, {method, body})`: the one JSON call of every page script (same-origin
//   credentials, the CSRF token on writes); resolves to {ok, status, json} (json is {} when the
//   answer is not JSON). `orchweb.getJSON(url)` resolves to the JSON or throws an Error whose
//   message is `orchweb.errorText(answer)`: the API's `detail` or its field errors.
// - `orchweb.websocketUrl(path)`: turns a path the template gave us (data-*-url) into a ws(s)://
//   URL on the current host; pages use it instead of building URLs themselves.
// - `orchweb.afterFirstView(task)`: runs `task` once the page has loaded, every promise its scripts
//   handed to `orchweb.holdFirstView(promise)` has settled (the simulation page: its first snapshot
//   shown; at most FIRST_VIEW_HOLD_MS each) and the browser is idle: work nothing on the page waits
//   for (the ping below, a diagram's font report) then stays off the way to the page's first view,
//   where it competed for the main thread and the server (docs/performance.md, "The open's
//   critical path").
// - Proves the live connection: opens the ping socket named by <body data-ws-ping-url> (after the
//   first view), sends a ping with a random id and, when its pong comes back through the channel
//   layer, sets <html data-ws-ready="1"> (browser tests wait on this flag instead of sleeping).
// - Reports the browser's font table when <body data-fonts-url> asks (designer.layouts.
//   page_font_report: a signed-in user's first page of a session, whatever the page), after the
//   first view: loads diagram.js (data-fonts-script) and the diagram's fonts (data-fonts-css)
//   unless the page has them, and calls
//   Diagram.reportFonts. The server then lays out the user's latest versions for this browser, so
//   their first open draws without ELK in the browser (designer/serverlayouts.py).
// - Forms with `data-confirm="question"` ask before submitting: the destructive ones (discarding
//   or replacing a draft, deleting a draft file) would otherwise lose work in one click.
"use strict";

window.orchweb = window.orchweb || {};

window.orchweb.websocketUrl = function websocketUrl(path) {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
};

window.orchweb.csrfToken = function csrfToken() {
  const field = document.querySelector("[name=csrfmiddlewaretoken]");
  if (field && field.value) return field.value;
  const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
};

window.orchweb.fetchJSON = async function fetchJSON(url, options) {
  const method = ((options && options.method) || "GET").toUpperCase();
  const headers = { Accept: "application/json" };
  const init = { method: method, credentials: "same-origin", headers: headers };
  if (options && options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = window.orchweb.csrfToken();
  const response = await fetch(url, init);
  let json = {};
  try {
    json = await response.json();
  } catch (_) {
    json = {};
  }
  return { ok: response.ok, status: response.status, json: json };
};

window.orchweb.errorText = function errorText(answer) {
  const j = answer.json || {};
  if (j.detail || j.error || j.message) return j.detail || j.error || j.message;
  // DRF validation errors: {field: ["message", ...]}
  const fields = Object.entries(j).filter(([, v]) => Array.isArray(v));
  if (fields.length) return fields.map(([k, v]) => k + ": " + v.join(" ")).join("; ");
  return "The server answered " + answer.status + ".";
};

// Replace the items of a <ul>/<ol> with one <li> of text per string (problems, messages).
window.orchweb.showItems = function showItems(list, items) {
  list.textContent = "";
  for (const item of items) {
    const li = document.createElement("li");
    li.textContent = item;
    list.appendChild(li);
  }
};

window.orchweb.getJSON = async function getJSON(url) {
  const answer = await window.orchweb.fetchJSON(url);
  if (!answer.ok) throw new Error(window.orchweb.errorText(answer));
  return answer.json;
};

// How long one holdFirstView promise may hold the work after the first view (a page whose own
// request never answers still gets it).
const FIRST_VIEW_HOLD_MS = 5000;
const firstViewHolds = [];
const pageLoaded = new Promise((resolve) => {
  if (document.readyState === "complete") resolve();
  else window.addEventListener("load", () => resolve(), { once: true });
});

window.orchweb.holdFirstView = function holdFirstView(promise) {
  const timeout = new Promise((resolve) => setTimeout(resolve, FIRST_VIEW_HOLD_MS));
  firstViewHolds.push(Promise.race([promise, timeout]));
};

window.orchweb.afterFirstView = function afterFirstView(task) {
  const idle = window.requestIdleCallback || ((callback) => setTimeout(callback, 50));
  pageLoaded
    .then(() => Promise.allSettled(firstViewHolds))
    .then(() => idle(() => task()));
};

function checkLiveConnection() {
  const path = document.body.dataset.wsPingUrl;
  if (!path) {
    return;
  }
  const root = document.documentElement;
  const id = Math.random().toString(36).slice(2);
  const socket = new WebSocket(window.orchweb.websocketUrl(path));
  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({ type: "ping", id: id }));
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    // The pong is broadcast to the whole group: only ours proves our round trip.
    if (message.type === "pong" && message.id === id) {
      root.dataset.wsReady = "1";
      socket.close();
    }
  });
  socket.addEventListener("close", () => {
    if (root.dataset.wsReady !== "1") {
      root.dataset.wsReady = "0";
    }
  });
}

window.orchweb.afterFirstView(checkLiveConnection);

function reportFonts() {
  const data = document.body.dataset;
  if (!data.fontsUrl) return;
  const report = () => window.Diagram.reportFonts({ url: data.fontsUrl, known: data.fontsKnown || null });
  if (window.Diagram) {
    report();
    return;
  }
  // A page without a diagram: diagram.js measures the table (the widths its layouts use) in the
  // diagram's fonts (data-fonts-css: their @font-face rules), and both are then in the HTTP cache
  // for the diagram page that comes next.
  const loaded = (element) =>
    new Promise((resolve, reject) => {
      element.addEventListener("load", resolve);
      element.addEventListener("error", reject);
    });
  const fonts = document.createElement("link");
  fonts.rel = "stylesheet";
  fonts.href = data.fontsCss;
  const script = document.createElement("script");
  script.src = data.fontsScript;
  // Without the fonts the table would be a fallback font's, matching no layout: nothing reported.
  Promise.all([loaded(fonts), loaded(script)]).then(report, () => {});
  document.head.append(fonts, script);
}

window.orchweb.afterFirstView(reportFonts);

document.addEventListener("submit", (event) => {
  const question = event.target.dataset ? event.target.dataset.confirm : "";
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
