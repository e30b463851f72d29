/*
 * Simulation page: drives one simulation over its websocket (docs/simulation-protocol.md) and
 * shows it: the version's diagram (Diagram from static/orchweb/diagram.js) with the active
 * configuration, visited states/transitions and the last transition; controls; pending
 * extension requests with one-click answers; inject panel; breakpoints; fakes editor;
 * inspector; filterable trace log with links to the source lines.
 *
 * State frames (docs/simulation-protocol.md, "State frames"): a `snapshot` gives the whole state
 * and is drawn whole; each `delta` after it carries what one step changed and is applied
 * incrementally: trace rows appended (the DOM keeps a window of the latest TRACE_WINDOW matching
 * records, earlier ones on demand; a list rebuilt whole builds its TRACE_FIRST latest rows first and
 * the rest when the page is idle), datamodel rows replaced one by one, the diagram's classes
 * toggled. A delta that does not follow the state held asks for a snapshot (resync).
 *
 * Configuration comes from the json_script #simulation-config (the server builds every URL).
 * Readiness flags for tests, on document.body.dataset:
 *   simReady "1" after the first snapshot and the diagram; simConnected "1"/"0";
 *   simSeq (last trace record), simSteps (inputs logged), simStatus, simTime, simPending
 *   ("module:action,..."), simRunning "1"/"0", simBusy "1" from a click until its answer,
 *   simError (last error message), simOutcome (JSON), simReplies (count of answered messages),
 *   simReconnects (connections opened again after a loss), simSelected (a replay's selected record),
 *   simFrames (state frames applied), simResyncs (snapshots asked because a delta did not apply).
 * Performance marks: "sim-send" when an action is sent, "sim-applied" when a state frame is drawn,
 * "sim-snapshot" when the first snapshot arrives, "sim-diagram" when the diagram is first drawn,
 * "sim-ready" when the page first shows the simulation (both done; bench/browser.py reads them).
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("simulation-config").textContent);
  const body = document.body;
  const $ = (id) => document.getElementById(id);

  let ws = null;
  let view = null;
  let graph = null;
  let snapshot = null; // the state held: the last snapshot with every delta since applied
  let previousDatamodel = null;
  let frames = 0;
  let resyncs = 0;
  const TRACE_WINDOW = 300; // trace rows kept in the DOM (the latest matching records)
  // Rows a rebuilt list builds at once (its 320 px show ~16): the rest of the window (`traceEarlier`,
  // oldest first) is built above them when the page is idle, after it is shown.
  const TRACE_FIRST = 60;
  let traceShown = TRACE_WINDOW;
  let traceEarlier = [];
  let traceIdle = 0;
  // Safari has no requestIdleCallback: a short timeout there
  const whenIdle = window.requestIdleCallback ? (f) => requestIdleCallback(f, { timeout: 1000 }) : (f) => setTimeout(f, 50);
  const cancelIdle = window.cancelIdleCallback ? (id) => cancelIdleCallback(id) : (id) => clearTimeout(id);
  const varRows = new Map(); // datamodel variable -> its row
  let changedRows = [];
  let records = [];
  let nextId = 1;
  let reconnectDelay = 500;
  let readonly = !!config.readonly;
  // A scenario's read-only replay: only rewind moves, along its timeline; it opens at the
  // record the Tests tab named (?record=N), selected in the trace.
  const replay = config.replay || null;
  let replayRecord = replay ? replay.record : null;
  let replayPositioned = false;
  let replies = 0;
  const visitedStates = new Set();
  const visitedTransitions = new Set();
  let breakpoints = { entered: [], exited: [], transitions: [], events: [], actions: [] };
  const recordTypes = new Set();
  const consoleHistory = [];
  let historyIndex = 0;
  let previousWatches = {};

  /* ---------- helpers ---------- */

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "className") node.className = v;
      else if (v !== null && v !== undefined) node.setAttribute(k, v);
    }
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function pretty(value) {
    return JSON.stringify(value, null, 2);
  }

  function sourceHref(file, line) {
    const u = new URL(config.urls.editor, window.location.href);
    u.searchParams.set("file", file);
    if (line) u.searchParams.set("line", line);
    return u.pathname + u.search;
  }

  function showMessage(text, isError) {
    const box = $("sim-message");
    box.hidden = !text;
    box.textContent = text || "";
    box.classList.toggle("error", !!isError);
  }

  /** Watchers and simulations that cannot start: every control that would send an action. */
  function disableControls() {
    const controls = ".sim-controls button, .sim-controls input, .sim-controls select, .sim-side button, .sim-rewind input, .sim-rewind button";
    document.querySelectorAll(controls).forEach((c) => {
      c.disabled = !(replay && c.closest(".sim-rewind"));
    });
  }

  /**
   * The simulation cannot be built (definition errors): every control would only answer "no
   * simulation is open on this connection", so say what is wrong once, point to the source
   * and disable the controls.
   */
  function cannotStart(message) {
    const box = $("sim-message");
    box.hidden = false;
    box.classList.add("error");
    box.textContent = "This version cannot be simulated: " + message + ". ";
    box.appendChild(el("a", { href: config.urls.editor }, "Open its source"));
    body.dataset.simError = message;
    body.dataset.simFatal = "1";
    body.dataset.simBusy = "0";
    disableControls();
    firstView();
    $("sim-status").textContent = "cannot start";
  }

  function parseJSON(text, what) {
    try {
      return JSON.parse(text);
    } catch (err) {
      showMessage(what + " is not valid JSON: " + err.message, true);
      body.dataset.simError = what + " is not valid JSON";
      return undefined;
    }
  }

  /* ---------- websocket ---------- */

  function send(message) {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      showMessage("Not connected: the page reconnects by itself.", true);
      return;
    }
    if (readonly && message.action !== "snapshot" && message.action !== "eval" && !(replay && message.action === "rewind")) {
      showMessage(replay ? "Read-only: this is a scenario's replay; rewind along it." : "Read-only: you are watching this simulation.", true);
      return;
    }
    // A new action gets its own answer: an earlier error no longer applies (it stayed up and
    // read as if the new action had failed).
    showMessage("");
    message.id = nextId++;
    body.dataset.simBusy = "1";
    performance.mark("sim-send");
    ws.send(JSON.stringify(message));
  }

  const REFUSALS = new Map([
    [4401, "Log in to open this simulation."],
    [4403, "You may not open this simulation."],
    [4404, "No such simulation."],
    [4429, "You have too many simulations open: close one first."],
  ]);
  let refusal = "";

  function connect() {
    const url = new URL(config.urls.ws, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(url.href);
    $("sim-connection").textContent = "connecting…";
    ws.onopen = () => {
      reconnectDelay = 500;
      if (body.dataset.simConnected !== undefined) {
        body.dataset.simReconnects = String(Number(body.dataset.simReconnects || 0) + 1);
      }
      body.dataset.simConnected = "1";
      $("sim-connection").textContent = "live";
    };
    ws.onmessage = (ev) => handle(JSON.parse(ev.data));
    ws.onclose = (ev) => {
      body.dataset.simConnected = "0";
      if (REFUSALS.has(ev.code)) {
        // Documented close codes (docs/simulation-protocol.md): reconnecting would be refused again.
        $("sim-connection").textContent = "refused (" + ev.code + ")";
        showMessage(refusal ? "Closed: " + refusal : REFUSALS.get(ev.code), true);
        body.dataset.simRefused = String(ev.code);
        disableControls();
        firstView();
        return;
      }
      $("sim-connection").textContent = "reconnecting…";
      // The server rebuilds the simulation by replay: reconnecting resumes it where it was.
      setTimeout(connect, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, 8000);
    };
  }

  function answered(frame) {
    if (frame.reply_to !== undefined && frame.reply_to !== null) {
      replies += 1;
      body.dataset.simReplies = String(replies);
      body.dataset.simBusy = "0";
    }
  }

  function handle(frame) {
    switch (frame.type) {
      case "hello":
        readonly = !!frame.readonly;
        body.dataset.simRole = frame.role || "";
        if (readonly) disableControls();
        replayPositioned = false;
        break;
      case "reset":
        records = frame.records.slice();
        rebuildVisited();
        renderTrace(true);
        if (replay) positionReplay();
        break;
      case "snapshot":
        if (!snapshot) performance.mark("sim-snapshot");
        renderSnapshot(frame);
        applied();
        answered(frame);
        break;
      case "delta":
        if (!snapshot || frame.base !== snapshot.key) {
          if (!snapshot || frame.key !== snapshot.key) resync();
          answered(frame);
          break;
        }
        applyDelta(frame);
        if (frame.records) addRecords(frame.records);
        renderDelta(frame);
        applied();
        answered(frame);
        break;
      case "running":
        body.dataset.simRunning = "1";
        answered(frame);
        break;
      case "paused":
        body.dataset.simRunning = "0";
        if (frame.reason === "breakpoint" && frame.hits && frame.hits.length) {
          const h = frame.hits[0];
          // a stop before an extension request names it: "before queue:submit at Main.scxml:750"
          showMessage("Breakpoint: " + (h.before ? h.message : h.kind + " " + h.value) + " (record " + h.seq + ")");
          body.dataset.simBreakpoint = h.kind + ":" + h.value;
        } else if (frame.reason === "idle" && snapshot) {
          // nothing left to run by itself: say what the session waits for
          showMessage("Run stopped: " + describeStatus(snapshot, false));
        } else if (frame.reason === "limit") {
          // the `limit` record of the trace said which bound (already shown)
        } else if (frame.reason && frame.reason !== "pause" && frame.reason !== "not running") {
          showMessage("Run stopped: " + frame.reason);
        }
        if (snapshot) $("sim-status").textContent = describeStatus(snapshot, false);
        body.dataset.simPaused = String(Number(body.dataset.simPaused || 0) + 1);
        answered(frame);
        break;
      case "breakpoints":
        breakpoints = frame.breakpoints;
        showBreakpoints();
        answered(frame);
        break;
      case "shared":
        if ($("sim-shared")) $("sim-shared").checked = frame.shared;
        answered(frame);
        break;
      case "eval":
        showEval(frame);
        answered(frame);
        break;
      case "watches":
        answered(frame);
        break;
      case "error":
        if (frame.code) {
          // The socket is refused (or its access withdrawn): the close with this code follows.
          refusal = frame.message;
          break;
        }
        if (frame.fatal) {
          cannotStart(frame.message);
          break;
        }
        showMessage(frame.message, true);
        body.dataset.simError = frame.message;
        body.dataset.simBusy = "0";
        break;
      default:
        break;
    }
  }

  /** The page shows the simulation (state and diagram): simReady, and the "sim-ready" mark once. */
  function ready() {
    if (body.dataset.simReady !== "1") performance.mark("sim-ready");
    body.dataset.simReady = "1";
    firstView();
  }
  // The page's first view (the simulation shown, or its refusal) holds the work nothing here waits
  // for (base.js's live-connection ping, the diagram's font report): orchweb.afterFirstView.
  let firstView = () => {};
  window.orchweb.holdFirstView(new Promise((resolve) => (firstView = resolve)));

  function applied() {
    frames += 1;
    body.dataset.simFrames = String(frames);
    performance.mark("sim-applied");
  }

  /** A delta that does not follow the state held: ask for the whole state (watchers may too). */
  function resync() {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    resyncs += 1;
    body.dataset.simResyncs = String(resyncs);
    ws.send(JSON.stringify({ action: "snapshot", id: "resync-" + resyncs }));
  }

  /** A large variable's change, as simulator/scxml/jsonpatch.py `apply` (copies what it changes). */
  function applyPatch(value, ops) {
    const root = [value];
    for (const op of ops) {
      let parent = root;
      let key = 0;
      for (const step of op.path) {
        const child = Array.isArray(parent[key]) ? parent[key].slice() : Object.assign({}, parent[key]);
        parent[key] = child;
        parent = child;
        key = step;
      }
      if ("set" in op) parent[key] = op.set;
      else if (op.remove) delete parent[key];
      else parent[key] = parent[key].concat(op.append);
    }
    return root[0];
  }

  /** Brings `snapshot` to the state a delta describes (simulator/frames.py apply_delta). */
  function applyDelta(d) {
    const s = snapshot;
    for (const [name, value] of Object.entries(d)) {
      if (name === "type" || name === "base" || name === "records" || name === "reply_to") continue;
      if (name === "datamodel") {
        for (const gone of value.removed) delete s.datamodel[gone];
        Object.assign(s.datamodel, value.changed);
        for (const [name, ops] of Object.entries(value.patches || {})) s.datamodel[name] = applyPatch(s.datamodel[name], ops);
      } else if (name === "internal_queue" || name === "external_queue") {
        s[name].splice(0, value.drop);
        for (const e of value.add) s[name].push(e);
      } else if (name === "timers") {
        const removed = new Set(value.removed);
        s.timers = s.timers.filter((t) => !removed.has(t.id)).concat(value.added);
        s.timers.sort((a, b) => a.due - b.due || a.id - b.id);
      } else if (name === "op_seqs") {
        for (const seq of value) s.op_seqs.push(seq);
      } else if (name === "requests") {
        const index = new Map(s.requests.map((r, i) => [r.id, i]));
        for (const r of value) {
          if (index.has(r.id)) s.requests[index.get(r.id)] = r;
          else s.requests.push(r);
        }
      } else {
        s[name] = value;
      }
    }
  }

  /* ---------- trace ---------- */

  function rebuildVisited() {
    visitedStates.clear();
    visitedTransitions.clear();
    for (const r of records) noteVisit(r);
    if (view) view.tint(visitedStates, visitedTransitions);
  }

  function noteVisit(r) {
    if (r.type !== "macrostep" && r.type !== "microstep") return;
    for (const s of r.entered || []) visitedStates.add(s);
    for (const t of r.transitions || []) visitedTransitions.add(t.id);
  }

  function addRecords(list) {
    const box = $("sim-trace");
    const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 30;
    let last = null;
    const fragment = document.createDocumentFragment();
    const filter = traceFilter();
    for (const r of list) {
      records.push(r);
      noteVisit(r);
      if ((r.type === "macrostep" || r.type === "microstep") && r.transitions && r.transitions.length) {
        last = r.transitions[r.transitions.length - 1].id;
      }
      noteType(r);
      if (matches(r, filter)) {
        fragment.appendChild(traceItem(r));
        matching += 1;
      }
      if (r.type === "limit") showMessage(r.message, true); // a bound of the simulation was reached
    }
    box.appendChild(fragment);
    // the window slides: rows not built yet go first
    traceEarlier.splice(0, Math.max(0, box.childElementCount + traceEarlier.length - traceShown));
    while (box.childElementCount > traceShown) box.firstElementChild.remove();
    showTraceCount();
    if (atBottom) box.scrollTop = box.scrollHeight; // follow the log unless the user scrolled up
    if (view) {
      view.tint(visitedStates, visitedTransitions);
      if (last) view.animateTransition(last);
    }
    follow(list);
  }

  /** Centres the diagram on the deepest state the last macrostep entered (when "Follow" is on). */
  function follow(list) {
    if (!view || !$("sim-follow").checked) return;
    for (let i = list.length - 1; i >= 0; i--) {
      const entered = list[i].type === "macrostep" ? list[i].entered || [] : [];
      const visible = entered.filter((id) => view.stateEls && view.stateEls.has(id));
      if (visible.length) {
        view.centerOn(visible[visible.length - 1]);
        return;
      }
    }
  }

  function summary(r) {
    switch (r.type) {
      case "macrostep":
        return (
          (r.event ? r.event.name : "(internal)") +
          (r.internal_events && r.internal_events.length ? " +" + r.internal_events.join(",") : "") +
          (r.entered && r.entered.length ? " → " + r.entered.join(", ") : "")
        );
      case "microstep":
        // docs/trace.md: `transitions` are graph transition ids; `entered` the states entered.
        return (
          (r.event || "(eventless)") +
          (r.transitions && r.transitions.length ? " [" + r.transitions.join(", ") + "]" : "") +
          (r.entered && r.entered.length ? " → " + r.entered.join(", ") : "")
        );
      case "action":
        return r.request ? r.request.module + ":" + r.request.action + " " + r.request.id + " " + JSON.stringify(r.request.attributes) : "";
      case "response":
        return r.event + " " + JSON.stringify(r.data || {});
      case "log":
        return (r.label ? r.label + ": " : "") + r.value;
      case "error":
        return (r.event || r.kind || "") + " " + (r.message || "");
      case "console":
        return "› " + r.expression + "  →  " + (r.error || (r.undefined ? "undefined" : JSON.stringify(r.value)));
      case "datamodel":
        return "changed: " + Object.keys(r.changed || {}).concat(Object.keys(r.patches || {})).join(", ") + (r.removed && r.removed.length ? " removed: " + r.removed.join(", ") : "");
      case "clock":
        return r.from + " s → " + r.to + " s";
      case "done":
        return r.status + " " + (r.final_state || "");
      case "limit":
        return r.message;
      default: {
        const rest = Object.assign({}, r);
        for (const k of ["type", "seq", "session", "time"]) delete rest[k];
        return JSON.stringify(rest);
      }
    }
  }

  const requestSources = new Map(); // request id -> {file, line} of its extension element

  function recordSource(r) {
    // Action/response records' own file/line may be the platform's context: the request knows the element.
    if (r.request && r.request.file) {
      requestSources.set(r.request.id, { file: r.request.file, line: r.request.line });
      return requestSources.get(r.request.id);
    }
    if (typeof r.request === "string" && requestSources.has(r.request)) return requestSources.get(r.request);
    if (r.file) return { file: r.file, line: r.line };
    const t = (r.transitions || [])[0];
    if (t && t.file) return { file: t.file, line: t.line };
    return null;
  }

  function noteType(r) {
    if (!recordTypes.has(r.type)) {
      recordTypes.add(r.type);
      $("sim-trace-type").appendChild(el("option", { value: r.type }, r.type));
    }
  }

  let matching = 0; // records that pass the filter (those beyond the window are not in the DOM)

  function traceFilter() {
    return { type: $("sim-trace-type").value, text: $("sim-trace-filter").value.trim().toLowerCase() };
  }

  /** The text a row shows (what the text filter searches). */
  function recordText(r) {
    const src = recordSource(r);
    return "#" + r.seq + " " + Number(r.time || 0).toFixed(3) + "s " + r.type + " " + summary(r) + (src ? " " + src.file + ":" + (src.line || "") : "");
  }

  function matches(r, filter) {
    if (filter.type && r.type !== filter.type) return false;
    return !filter.text || recordText(r).toLowerCase().includes(filter.text);
  }

  function showTraceCount() {
    const box = $("sim-trace");
    const hidden = matching - box.childElementCount - traceEarlier.length;
    $("sim-trace-count").textContent = records.length + " records" + (hidden > 0 ? " (" + hidden + " earlier not shown)" : "");
    const earlier = $("sim-trace-earlier");
    earlier.hidden = hidden <= 0;
    earlier.textContent = "Show " + Math.min(hidden, TRACE_WINDOW) + " earlier records";
  }

  function traceItem(r) {
    const li = el("li", { className: "sim-record sim-record-" + r.type, "data-seq": r.seq, "data-type": r.type });
    const seq = el("button", { type: "button", className: "sim-seq", title: "Rewind to this record" }, "#" + r.seq);
    seq.addEventListener("click", () => {
      if (replay) replayRecord = r.seq;
      send({ action: "rewind", seq: r.seq });
    });
    li.appendChild(seq);
    li.appendChild(el("span", { className: "sim-time" }, Number(r.time || 0).toFixed(3) + "s"));
    li.appendChild(el("span", { className: "sim-type" }, r.type));
    li.appendChild(el("span", { className: "sim-summary" }, summary(r)));
    const src = recordSource(r);
    if (src) {
      li.appendChild(el("a", { href: sourceHref(src.file, src.line), className: "sim-src" }, src.file + (src.line ? ":" + src.line : "")));
    }
    return li;
  }

  /** A replay's first reset rewinds to the record to open at; later ones select it in the trace. */
  function positionReplay() {
    if (!replayPositioned && replayRecord) {
      replayPositioned = true;
      send({ action: "rewind", seq: replayRecord });
      return;
    }
    replayPositioned = true;
    buildEarlier(Infinity); // the record to select may be one of them
    const seq = replayRecord || (records.length ? records[records.length - 1].seq : null);
    for (const li of $("sim-trace").children) {
      const selected = Number(li.dataset.seq) === seq;
      li.classList.toggle("sim-selected", selected);
      if (selected) {
        li.setAttribute("aria-current", "step");
        li.scrollIntoView({ block: "center" });
      } else li.removeAttribute("aria-current");
    }
    body.dataset.simSelected = seq === null ? "" : String(seq);
  }

  /**
   * Rebuilds the trace list: the latest `traceShown` records that pass the filter (a long trace
   * keeps a window in the DOM); `follow` keeps the latest record in view (not record #1).
   */
  function renderTrace(follow) {
    const box = $("sim-trace");
    const filter = traceFilter();
    const shown = [];
    for (const r of records) {
      noteType(r);
      recordSource(r); // a response's row links to its request's element: known before rows are built newest first
    }
    matching = 0;
    for (let i = records.length - 1; i >= 0; i--) {
      if (!matches(records[i], filter)) continue;
      matching += 1;
      if (shown.length < traceShown) shown.push(records[i]);
    }
    // Following the end, the rows out of view can wait; the earlier records asked for cannot.
    const now = follow ? Math.min(shown.length, TRACE_FIRST) : shown.length;
    traceEarlier = shown.slice(now).reverse();
    const fragment = document.createDocumentFragment();
    for (let i = now - 1; i >= 0; i--) fragment.appendChild(traceItem(shown[i]));
    box.textContent = "";
    box.appendChild(fragment);
    showTraceCount();
    if (follow) box.scrollTop = box.scrollHeight;
    if (traceEarlier.length && !traceIdle) traceIdle = whenIdle(() => buildEarlier(100));
  }

  /** Builds up to `count` of the rows a rebuild left for later, above the others (newest first). */
  function buildEarlier(count) {
    if (traceIdle) cancelIdle(traceIdle);
    traceIdle = 0;
    if (!traceEarlier.length) return;
    const box = $("sim-trace");
    const fromBottom = box.scrollHeight - box.scrollTop; // the rows in view stay in view
    const fragment = document.createDocumentFragment();
    for (const r of traceEarlier.splice(Math.max(0, traceEarlier.length - count))) fragment.appendChild(traceItem(r));
    box.insertBefore(fragment, box.firstChild);
    box.scrollTop = box.scrollHeight - fromBottom;
    if (traceEarlier.length) traceIdle = whenIdle(() => buildEarlier(100));
  }

  function refilter() {
    traceShown = TRACE_WINDOW;
    renderTrace(true);
  }

  /* ---------- snapshot ---------- */

  /**
   * What the session is doing, in words: "waiting for your answer to queue:submit", "waiting for
   * a timer at t=30", "finished in _composer_global_exit"... (the raw status is simStatus).
   */
  function describeStatus(s, running) {
    const pending = s.pending || [];
    const names = (list) => list.map((r) => r.module + ":" + r.action).join(", ");
    const manual = pending.filter((r) => r.status === "manual");
    const left = s.outcome && s.outcome.status === "abandoned" ? "the caller left · " : "";
    if (s.status === "final") return "finished" + (s.final_state ? " in " + s.final_state : "");
    if (s.status === "error") return "stopped on an error";
    if (s.status === "cancelled") return "cancelled";
    if (s.status === "created") return "not started";
    if (running) return left + "running";
    if (manual.length) return left + "waiting for your answer to " + names(manual);
    if (s.internal_queue && s.internal_queue.length) return left + "internal events to process: Step";
    if (s.external_queue && s.external_queue.length) return left + "an event is queued: Step";
    if (s.next_timer !== null && s.next_timer !== undefined) {
      const what = pending.length ? " (" + names(pending) + " answers then)" : "";
      return left + "waiting for a timer at t=" + Number(s.next_timer).toFixed(3) + what;
    }
    return left + "waiting for an event (inject one)";
  }

  /** A `snapshot` frame: the whole state, drawn whole. */
  function renderSnapshot(s) {
    snapshot = s;
    if (view) view.highlight(s.configuration);
    renderPending(s.pending || []);
    renderDatamodel(s.datamodel || {});
    renderWatches(s.watches || []);
    $("sim-system").textContent = pretty(s.system);
    $("sim-interactions").textContent = pretty(s.interactions);
    renderQueues(s);
    if (document.activeElement !== $("sim-fakes")) $("sim-fakes").value = pretty(s.fakes || {});
    if (s.breakpoints) {
      breakpoints = s.breakpoints;
      showBreakpoints();
    }
    renderCommon(s);
  }

  /** A `delta` frame (already applied to `snapshot`): redraws only what it changed. */
  function renderDelta(d) {
    const s = snapshot;
    if ("configuration" in d && view) view.highlight(s.configuration);
    if ("pending" in d) renderPending(s.pending);
    if ("datamodel" in d) updateDatamodel(d.datamodel);
    else unmarkChanged();
    if ("watches" in d) renderWatches(s.watches);
    if ("system" in d) $("sim-system").textContent = pretty(s.system);
    if ("interactions" in d) $("sim-interactions").textContent = pretty(s.interactions);
    if ("internal_queue" in d || "external_queue" in d || "timers" in d) renderQueues(s);
    if ("fakes" in d && document.activeElement !== $("sim-fakes")) $("sim-fakes").value = pretty(s.fakes || {});
    if ("breakpoints" in d) {
      breakpoints = s.breakpoints;
      showBreakpoints();
    }
    renderCommon(s);
  }

  const QUEUE_SHOWN = 50; // events shown per queue (a flood of injected events stays cheap to draw)

  function renderQueues(s) {
    const head = (list) => (list.length > QUEUE_SHOWN ? list.slice(0, QUEUE_SHOWN).concat(["… " + (list.length - QUEUE_SHOWN) + " more"]) : list);
    $("sim-queues").textContent = pretty({ internal: head(s.internal_queue), external: head(s.external_queue), timers: head(s.timers) });
  }

  /** What every state frame updates: status line, clock, rewind slider and the readiness flags. */
  function renderCommon(s) {
    if (s.running !== undefined) body.dataset.simRunning = s.running ? "1" : "0";
    $("sim-status").textContent = describeStatus(s, body.dataset.simRunning === "1");
    $("sim-outcome").textContent = s.outcome ? s.outcome.status + (s.outcome.target ? " → " + s.outcome.target : "") : "";
    // the variables could not be read (a limit of the strategy's scripts): they are the trace's last
    const dmError = $("sim-datamodel-error");
    dmError.hidden = !s.datamodel_error;
    dmError.textContent = s.datamodel_error || "";
    $("sim-clock").textContent = Number(s.time).toFixed(3) + (s.next_timer !== null && s.next_timer !== undefined ? " (next timer " + Number(s.next_timer).toFixed(3) + ")" : "");
    const slider = $("sim-rewind");
    slider.max = String(s.op_seqs.length);
    slider.value = String(replay ? s.step : s.op_seqs.length);
    $("sim-rewind-label").textContent = "step " + (replay ? s.step + " of " + s.op_seqs.length : s.op_seqs.length);
    body.dataset.simSeq = String(s.seq);
    body.dataset.simSteps = String(s.op_seqs.length);
    body.dataset.simStatus = s.status;
    body.dataset.simTime = String(s.time);
    body.dataset.simIdle = s.idle ? "1" : "0";
    body.dataset.simPending = (s.pending || []).map((r) => r.module + ":" + r.action).join(",");
    body.dataset.simOutcome = JSON.stringify(s.outcome || {});
    body.dataset.simConfiguration = (s.configuration || []).join(" ");
    if (view) ready();
  }

  function varRow(name, value, changed) {
    const text = JSON.stringify(value);
    const row = el("details", { className: "sim-var" + (changed ? " sim-changed" : ""), "data-name": name });
    row.appendChild(el("summary", {}, name + " = " + (text && text.length > 80 ? text.slice(0, 79) + "…" : text)));
    row.appendChild(el("pre", {}, pretty(value)));
    if (!readonly) row.appendChild(editor(name, value));
    return row;
  }

  /** The whole datamodel (a snapshot); rows whose value differs from the last one are marked. */
  function renderDatamodel(dm) {
    const box = $("sim-datamodel");
    box.textContent = "";
    varRows.clear();
    changedRows = [];
    const previous = previousDatamodel || {};
    for (const name of Object.keys(dm).sort()) {
      const changed = previousDatamodel !== null && JSON.stringify(previous[name]) !== JSON.stringify(dm[name]);
      const row = varRow(name, dm[name], changed);
      if (changed) changedRows.push(row);
      varRows.set(name, row);
      box.appendChild(row);
    }
    previousDatamodel = Object.assign({}, dm);
    const names = $("sim-var-names");
    names.textContent = "";
    for (const name of Object.keys(dm).sort()) names.appendChild(el("option", { value: name }));
  }

  function unmarkChanged() {
    for (const row of changedRows) row.classList.remove("sim-changed");
    changedRows = [];
  }

  /** A delta's {changed, removed, patches}: only those rows are replaced, inserted or dropped. */
  function updateDatamodel(diff) {
    unmarkChanged();
    const box = $("sim-datamodel");
    for (const name of diff.removed) {
      const row = varRows.get(name);
      if (row) row.remove();
      varRows.delete(name);
      delete previousDatamodel[name];
      const option = $("sim-var-names").querySelector('option[value="' + CSS.escape(name) + '"]');
      if (option) option.remove();
    }
    const names = Array.from(varRows.keys()).sort();
    const patched = Object.keys(diff.patches || {}).map((name) => [name, snapshot.datamodel[name]]);
    for (const [name, value] of Object.entries(diff.changed).concat(patched)) {
      const row = varRow(name, value, true);
      changedRows.push(row);
      const old = varRows.get(name);
      if (old) {
        if (old.open) row.open = true; // keep an opened variable open
        old.replaceWith(row);
      } else {
        const after = names.find((n) => n > name); // rows stay sorted by name
        box.insertBefore(row, after ? varRows.get(after) : null);
        $("sim-var-names").appendChild(el("option", { value: name }));
      }
      varRows.set(name, row);
      if (previousDatamodel) previousDatamodel[name] = value;
    }
  }

  /** Edit a variable's value: JSON checked here, then a `set_variable` operation. */
  function editor(name, value) {
    const form = el("div", { className: "sim-row sim-edit" });
    const text = el("textarea", { rows: 2, spellcheck: false, "aria-label": "New value of " + name });
    text.value = JSON.stringify(value);
    const save = el("button", { type: "button", "data-edit": name }, "Set value");
    save.addEventListener("click", () => {
      const parsed = parseJSON(text.value, "The value of " + name);
      if (parsed !== undefined) send({ action: "set_variable", name: name, value: parsed });
    });
    form.appendChild(text);
    form.appendChild(save);
    return form;
  }

  /* ---------- console and watches ---------- */

  function resultText(frame) {
    if (frame.error) return frame.error;
    if (frame.undefined) return "undefined";
    return JSON.stringify(frame.value, null, 2);
  }

  function showEval(frame) {
    const out = $("sim-console-output");
    const item = el("li", {});
    item.appendChild(el("div", { className: "sim-console-expression" }, "› " + frame.expression + (frame.copy ? "   (on a copy)" : "")));
    const result = el("details", { className: frame.error ? "sim-console-error" : "", open: true });
    const text = resultText(frame);
    result.appendChild(el("summary", {}, text.length > 80 ? text.slice(0, 79) + "…" : text));
    result.appendChild(el("pre", {}, text));
    item.appendChild(result);
    out.appendChild(item);
    out.scrollTop = out.scrollHeight;
    body.dataset.simEval = frame.error ? "error: " + frame.error : JSON.stringify(frame.undefined ? null : frame.value);
  }

  function runConsole() {
    const input = $("sim-console-input");
    const expression = input.value.trim();
    if (!expression) return;
    consoleHistory.push(expression);
    historyIndex = consoleHistory.length;
    input.value = "";
    send({ action: "eval", expression: expression });
  }

  function consoleKey(ev) {
    const input = $("sim-console-input");
    if (ev.key === "Enter") {
      ev.preventDefault();
      runConsole();
    } else if (ev.key === "ArrowUp" || ev.key === "ArrowDown") {
      if (!consoleHistory.length) return;
      ev.preventDefault();
      historyIndex = Math.max(0, Math.min(consoleHistory.length, historyIndex + (ev.key === "ArrowUp" ? -1 : 1)));
      input.value = consoleHistory[historyIndex] || "";
    } else if (ev.key === "Tab") {
      // Complete the identifier before the caret with a datamodel variable.
      const m = /[A-Za-z_$][\w$]*$/.exec(input.value);
      const names = Object.keys((snapshot && snapshot.datamodel) || {}).sort();
      const found = m && names.find((n) => n.startsWith(m[0]) && n !== m[0]);
      if (found) {
        ev.preventDefault();
        input.value = input.value.slice(0, m.index) + found;
      }
    }
  }

  function renderWatches(list) {
    const box = $("sim-watches");
    box.textContent = "";
    const now = {};
    for (const w of list) {
      const text = resultText(w);
      now[w.expression] = text;
      const changed = previousWatches[w.expression] !== undefined && previousWatches[w.expression] !== text;
      const item = el("li", { className: changed ? "sim-changed" : "", "data-expression": w.expression });
      item.appendChild(el("span", {}, w.expression + " = "));
      item.appendChild(el("span", { className: w.error ? "sim-console-error" : "" }, text));
      box.appendChild(item);
    }
    previousWatches = now;
    const area = $("sim-watch-expressions");
    if (document.activeElement !== area) area.value = list.map((w) => w.expression).join("\n");
    body.dataset.simWatches = JSON.stringify(now);
  }

  /* ---------- pending requests and their answers ---------- */

  function targetsOf(req) {
    const out = [];
    const walk = (children) => {
      for (const c of children || []) {
        if (c.tag === "target") {
          const a = c.attributes || {};
          const name = a.name || a.skillexpr || a.expr || "";
          const kind = { agent: "GA", agentgroup: "GA", placegroup: "GP", queue: "Q" }[a.type] || "A";
          out.push((a.skillexpr ? "?:" : "") + name + (a.statserver ? "@" + a.statserver : "") + "." + kind);
        }
        walk(c.children);
      }
    };
    walk(req.children);
    return out;
  }

  /** One-click answers offered from the spec for a request: [{label, events(form) -> [...]}]. */
  function answersFor(req, form) {
    const base = req.module + "." + req.action;
    const value = (name) => form.querySelector("[name=" + name + "]").value;
    if (req.module === "queue" && req.action === "submit") {
      const targets = targetsOf(req);
      const select = el("select", { name: "target", "aria-label": "Target" });
      for (const t of targets) select.appendChild(el("option", { value: t }, t));
      select.appendChild(el("option", { value: "" }, "(no target object)"));
      form.append(
        el("label", {}, "Target "), select,
        el("label", {}, " Agent "), el("input", { name: "agent", value: "Agent001", size: 9, "aria-label": "Agent" }),
        el("label", {}, " DN "), el("input", { name: "dn", value: "7001", size: 6, "aria-label": "Agent DN" }),
        el("label", {}, " Switch "), el("input", { name: "switch", value: "SIPSwitch", size: 9, "aria-label": "Switch" }),
      );
      return [
        {
          label: "Agent found",
          events: () => [{
            name: "queue.submit.done",
            data: {
              targetselected: value("dn") + "@" + value("switch") + ".DN",
              targetcomponentselected: value("agent") + "@Stat_Server.A",
              targetobjectselected: value("target"),
              vqselected: "",
              resource: { type: "A", dn: value("dn"), switch: value("switch"), agent: value("agent"), place: "Place_" + value("agent"), vq: "" },
            },
          }],
        },
        { label: "Timeout", events: () => [{ name: "error.queue.submit", data: { error: "timeout", description: "no agent in time" } }] },
        { label: "Error", events: () => [{ name: "error.queue.submit", data: { error: "invalidtarget", description: "simulated error" } }] },
      ];
    }
    if (req.module === "dialog") {
      form.append(el("label", {}, "Digits "), el("input", { name: "digits", value: "1", size: 8, "aria-label": "Digits" }));
      return [
        { label: "Digits collected", events: () => [{ name: base + ".done", data: { digits: value("digits"), extensions: {} } }] },
        { label: "No input", events: () => [{ name: "error." + base, data: { error: "timeout", description: "no input" } }] },
        { label: "Error", events: () => [{ name: "error." + base, data: { error: "failed", description: "simulated error" } }] },
      ];
    }
    if (req.module === "session" && req.action === "fetch") {
      form.append(
        el("label", {}, "Status "), el("input", { name: "status", value: "200", size: 4, "aria-label": "HTTP status" }),
        el("label", {}, " Body "), el("textarea", { name: "body", rows: 2, "aria-label": "Response body" }, "{}"),
      );
      return [
        {
          label: "Respond",
          events: () => {
            const status = Number(value("status"));
            if (status >= 400 || status === 0) return [{ name: "error.session.fetch", data: { error: String(status), description: "HTTP " + status } }];
            return [{ name: "session.fetch.done", data: { content: value("body"), hints: {} } }];
          },
        },
      ];
    }
    return [
      { label: "Done", events: () => [{ name: base + ".done", data: {} }] },
      { label: "Error", events: () => [{ name: "error." + base, data: { error: "failed", description: "simulated error" } }] },
    ];
  }

  function renderPending(list) {
    const box = $("sim-pending");
    $("sim-pending-count").textContent = String(list.length);
    const key = JSON.stringify(list.map((r) => [r.id, r.status]));
    if (box.dataset.key === key) return; // keep what the user typed while nothing changed
    box.dataset.key = key;
    box.textContent = "";
    if (!list.length) {
      box.appendChild(el("p", { className: "ow-muted" }, "No pending requests."));
      return;
    }
    for (const req of list) {
      const card = el("div", { className: "sim-request", "data-request": req.id, "data-kind": req.module + ":" + req.action });
      const head = el("div", { className: "sim-request-head" });
      head.appendChild(el("strong", {}, req.module + ":" + req.action));
      head.appendChild(el("span", { className: "ow-muted" }, " " + req.id + " · " + req.status + " "));
      if (req.file) head.appendChild(el("a", { href: sourceHref(req.file, req.line) }, req.file + ":" + req.line));
      card.appendChild(head);
      card.appendChild(el("pre", { className: "sim-attrs" }, pretty(req.attributes)));
      const form = el("div", { className: "sim-answer-form" });
      const options = answersFor(req, form);
      card.appendChild(form);
      const buttons = el("div", { className: "sim-row" });
      const editor = el("textarea", { className: "sim-answer-json", rows: 4, spellcheck: "false", "aria-label": "Custom answer (JSON list of events)" });
      for (const opt of options) {
        const b = el("button", { type: "button", "data-answer": opt.label }, opt.label);
        b.addEventListener("click", () => send({ action: "respond", request: req.id, events: opt.events() }));
        buttons.appendChild(b);
      }
      card.appendChild(buttons);
      editor.value = pretty(options[0].events());
      card.appendChild(editor);
      const custom = el("button", { type: "button", "data-answer": "custom" }, "Send custom answer");
      custom.addEventListener("click", () => {
        const events = parseJSON(editor.value, "The custom answer");
        if (events !== undefined) send({ action: "respond", request: req.id, events: Array.isArray(events) ? events : [events] });
      });
      card.appendChild(custom);
      box.appendChild(card);
    }
  }

  /* ---------- breakpoints ---------- */

  const KINDS = ["entered", "exited", "transitions", "events", "actions"];

  function sendBreakpoints(next) {
    send({ action: "set_breakpoints", breakpoints: next });
  }

  /** One row per breakpoint: enable/disable, a condition, delete. */
  function renderBreakpointList() {
    const list = $("sim-bp-list");
    list.textContent = "";
    const disabled = new Set(breakpoints.disabled || []);
    const conditions = breakpoints.conditions || {};
    for (const kind of KINDS) {
      for (const value of breakpoints[kind] || []) {
        const key = kind + ":" + value;
        const item = el("li", { className: disabled.has(key) ? "sim-bp-off" : "", "data-breakpoint": key });
        const on = el("input", { type: "checkbox", "aria-label": "Enable " + key });
        on.checked = !disabled.has(key);
        on.disabled = readonly;
        on.addEventListener("change", () => {
          const next = new Set(disabled);
          if (on.checked) next.delete(key);
          else next.add(key);
          sendBreakpoints(Object.assign({}, breakpoints, { disabled: Array.from(next) }));
        });
        const condition = el("input", { type: "text", placeholder: "condition", "aria-label": "Condition of " + key });
        condition.value = conditions[key] || "";
        condition.disabled = readonly;
        condition.addEventListener("change", () => {
          const next = Object.assign({}, conditions);
          if (condition.value.trim()) next[key] = condition.value.trim();
          else delete next[key];
          sendBreakpoints(Object.assign({}, breakpoints, { conditions: next }));
        });
        const remove = el("button", { type: "button", "aria-label": "Delete " + key }, "×");
        remove.disabled = readonly;
        remove.addEventListener("click", () => {
          const next = Object.assign({}, breakpoints);
          next[kind] = (breakpoints[kind] || []).filter((v) => v !== value);
          next.disabled = (breakpoints.disabled || []).filter((k) => k !== key);
          next.conditions = Object.assign({}, conditions);
          delete next.conditions[key];
          sendBreakpoints(next);
        });
        item.appendChild(on);
        item.appendChild(el("span", {}, key));
        item.appendChild(condition);
        item.appendChild(remove);
        list.appendChild(item);
      }
    }
    $("sim-bp-errors").checked = breakpoints.errors !== false;
  }

  function showBreakpoints() {
    for (const kind of KINDS) {
      const box = $("sim-bp-" + kind);
      if (box && document.activeElement !== box) box.value = (breakpoints[kind] || []).join("\n");
    }
    renderBreakpointList();
    if (view) view.setBreakpoints(breakpoints.entered || []);
    body.dataset.simBreakpoints = JSON.stringify(breakpoints);
  }

  function lines(id) {
    return $(id).value.split("\n").map((s) => s.trim()).filter(Boolean);
  }

  function runTo(state) {
    if (state) send({ action: "run", speed: null, to: state });
  }

  function toggleStateBreakpoint(state, ev) {
    if (readonly) return;
    if (ev && ev.shiftKey) {
      runTo(state.id);
      return;
    }
    const entered = new Set(breakpoints.entered || []);
    if (entered.has(state.id)) entered.delete(state.id);
    else entered.add(state.id);
    send({ action: "set_breakpoints", breakpoints: Object.assign({}, breakpoints, { entered: Array.from(entered) }) });
  }

  /* ---------- controls ---------- */

  function wire() {
    document.querySelectorAll("[data-step]").forEach((b) => b.addEventListener("click", () => send({ action: "step", unit: b.dataset.step })));
    $("sim-run").addEventListener("click", () => {
      const speed = $("sim-speed").value;
      send({ action: "run", speed: speed ? Number(speed) : null });
    });
    $("sim-pause").addEventListener("click", () => send({ action: "pause" }));
    $("sim-restart").addEventListener("click", () => send({ action: "restart" }));
    $("sim-advance").addEventListener("click", () => send({ action: "advance", seconds: Number($("sim-advance-seconds").value) }));
    $("sim-rewind").addEventListener("input", () => {
      $("sim-rewind-label").textContent = "step " + $("sim-rewind").value;
    });
    $("sim-rewind").addEventListener("change", () => rewindToStep(Number($("sim-rewind").value)));
    $("sim-rewind-back").addEventListener("click", () => {
      if (snapshot) rewindToStep(Math.max(0, (replay ? snapshot.step : snapshot.op_seqs.length) - 1));
    });
    if ($("sim-shared")) $("sim-shared").addEventListener("change", () => send({ action: "share", shared: $("sim-shared").checked }));
    document.querySelectorAll("[data-inject]").forEach((b) =>
      b.addEventListener("click", () => {
        const kind = b.dataset.inject;
        const message = { action: "inject", kind: kind };
        if (kind === "party_changed") message.focusdeviceid = $("sim-party-dn").value;
        if (kind === "udata_changed") {
          message.data = parseJSON($("sim-udata").value, "The user data");
          if (message.data === undefined) return;
        }
        if (kind === "event") {
          message.event = $("sim-event-name").value;
          message.data = parseJSON($("sim-event-data").value, "The event data");
          if (message.data === undefined) return;
        }
        send(message);
      }),
    );
    $("sim-bp-apply").addEventListener("click", () =>
      sendBreakpoints(
        Object.assign({}, breakpoints, {
          entered: lines("sim-bp-entered"),
          exited: lines("sim-bp-exited"),
          transitions: lines("sim-bp-transitions"),
          events: lines("sim-bp-events"),
          actions: lines("sim-bp-actions"),
        }),
      ),
    );
    $("sim-bp-errors").addEventListener("change", () =>
      sendBreakpoints(Object.assign({}, breakpoints, { errors: $("sim-bp-errors").checked })),
    );
    $("sim-console-input").addEventListener("keydown", consoleKey);
    $("sim-watches-apply").addEventListener("click", () => send({ action: "set_watches", watches: lines("sim-watch-expressions") }));
    $("sim-run-to-go").addEventListener("click", () => runTo($("sim-run-to").value.trim()));
    $("sim-fakes-apply").addEventListener("click", () => {
      const fakes = parseJSON($("sim-fakes").value, "The fakes profile");
      if (fakes !== undefined) send({ action: "set_fakes", fakes: fakes });
    });
    $("sim-fakes-restart").addEventListener("click", () => {
      const fakes = parseJSON($("sim-fakes").value, "The fakes profile");
      if (fakes !== undefined) send({ action: "start", fakes: fakes, seed: snapshot ? snapshot.seed : 0 });
    });
    if ($("sim-fakes-file")) {
      $("sim-fakes-file").addEventListener("change", () => {
        const path = $("sim-fakes-file").value;
        if (path) $("sim-fakes").value = pretty(config.fakes_files[path]);
      });
    }
    $("sim-trace-type").addEventListener("change", refilter);
    $("sim-trace-earlier").addEventListener("click", () => {
      traceShown += TRACE_WINDOW;
      renderTrace(false);
    });
    $("sim-trace-filter").addEventListener("input", refilter);
  }

  function rewindToStep(step) {
    if (!snapshot) return;
    // Step 0 is the initial state (start_seq: the records of the start); step k ends at op_seqs[k-1].
    const seq = step === 0 ? snapshot.start_seq : snapshot.op_seqs[step - 1];
    if (replay) replayRecord = seq;
    send({ action: "rewind", seq: seq });
  }

  async function drawDiagram() {
    try {
      // A version's page comes with its graph and this user's layout of it (#simulation-diagram),
      // so the diagram is drawn before the websocket's first frame; a draft's replay fetches it.
      const served = $("simulation-diagram") ? JSON.parse($("simulation-diagram").textContent) : null;
      graph = served ? served.graph : await window.orchweb.getJSON(config.urls.graph);
      view = await Diagram.render($("sim-diagram"), graph, {
        ...Diagram.layoutStore(served && served.store),
        onStateClick: toggleStateBreakpoint,
        onEdgeClick: (t) => {
          if (t && t.file) window.open(sourceHref(t.file, t.line), "_blank");
        },
      });
      performance.mark("sim-diagram");
      window.simulationDiagram = view;
      const ids = $("sim-state-ids");
      for (const state of graph.states || []) ids.appendChild(el("option", { value: state.id }));
      view.tint(visitedStates, visitedTransitions);
      if (snapshot) {
        view.highlight(snapshot.configuration);
        ready();
      }
      showBreakpoints();
    } catch (err) {
      $("sim-diagram").textContent = "The diagram cannot be drawn: " + err.message;
      body.dataset.diagramError = err.message;
      view = null;
      if (snapshot) ready();
    }
  }

  // For the browser console and tests: the live socket (closing it exercises the reconnect) and
  // the state held (rebuilt from snapshot and delta frames).
  window.simulationPage = { socket: () => ws, records: () => records, state: () => snapshot };

  wire();
  connect();
  drawDiagram();
})();
