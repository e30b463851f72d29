// orchweb page shell script (loaded on every page).
//
// - `orchweb.websocketUrl(path)`: turns a path the template gave us (data-*-url) into a ws(s)://
//   URL on the current host; pages use it instead of building URLs themselves.
// - Proves the live connection: opens the ping socket named by <body data-ws-ping-url>, sends a
//   ping with a random id and, when its pong comes back through the channel layer, sets
//   <html data-ws-ready="1"> (browser tests wait on this flag instead of sleeping).
// - Forms with `data-confirm="question"` ask before submitting: the destructive ones (discarding
//   or replacing a draft, deleting a draft file) would otherwise lose work in one click.
"use strict";

window.orchweb = window.orchweb || {};

window.orchweb.websocketUrl = function websocketUrl(path) {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
};

(function checkLiveConnection() {
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
})();

document.addEventListener("submit", (event) => {
  const question = event.target.dataset ? event.target.dataset.confirm : "";
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
