/*
 * orchweb statechart diagram: draws a Graph JSON (the Graph schema of /api/schema/, built by
 * simulator/scxml/graph.py) as SVG, laid out by ELK (vendored elkjs, layered algorithm, hierarchy
 * handled in one run so transitions crossing compound states are routed too). ELK runs in a Web
 * Worker (the page loads vendor/elkjs/elk-api.js with data-elk-worker="<elk-worker.min.js URL>", or
 * names both, data-elk-api and data-elk-worker, and the API is loaded on the first layout ELK makes),
 * so a large layout never freezes the page; layouts are cached by a hash of ELK's input, in memory
 * and in sessionStorage (el.dataset.layoutSource = "worker" | "cache"). A page may be served the
 * layout too: opts.layout {key, result} is drawn when `key` is the hash of this graph's ELK input
 * (layoutSource "server"); otherwise ELK's layout of the whole chart is handed to
 * opts.onLayout(key, result), so the page can keep it on the server, and so is a served layout
 * marked `earlier` (another version's of an equal input, drawn without ELK): Diagram.layoutStore(store)
 * makes both options from what the page was served (designer/layouts.py).
 *
 * Text is measured as the sum of its characters' canvas widths (no kerning), so that the server can
 * build the same ELK input: a signed-in page reports this browser's widths once (fontTable, when
 * idle), and the server lays out new versions for them with this file's own builder, run in
 * QuickJS (Diagram.elkInput, Diagram.layoutKey; designer/elk.py, designer/serverlayouts.py).
 *
 * Reusable by the designer pages and the simulator page:
 *
 *   const view = await Diagram.render(el, graph, {onStateClick, onEdgeClick, collapsed, status, layout, onLayout});
 *   view.highlight(["stateA", "stateB"]);      // active configuration (marks persist across relayouts)
 *   view.tint(["stateA"], ["t3"]);             // visited states / transitions (coverage)
 *   view.heat({states: {id: n}, transitions: {tid: n}}); // visit counts (scenarios, batch): 0 = never
 *   await Diagram.renderHeat(el, graphUrl, counts);  // fetch, draw, heat; el.dataset.heatReady = "1"
 *   view.animateTransition("t3");              // pulse the last transition taken
 *   view.setBreakpoints(["stateA"]);           // dashed red outline on states with a breakpoint
 *   view.search("Entry1"); view.fit(); view.centerOn(id); view.collapse(id); view.expand(id);
 *   view.findAll("queue:submit"); view.searchNext(); view.searchPrevious(); // the search bar's steps
 *   Diagram.diff(graphA, graphB) -> {states: {id: "added|removed|changed"}, transitions: {...}, graph}
 *
 * Transitions may be given by id ("t3", as in the graph JSON and the engine's trace records) or as
 * a trace transition object ({id} or {file, line}). States hidden in a collapsed compound state
 * mark their collapsed ancestor. onStateClick(state, event) / onEdgeClick(transition, event)
 * receive the graph JSON objects (so a page can toggle breakpoints or jump to file:line).
 *
 * Every view has a search bar (opts.searchBar === false leaves it out): states, events, conds and
 * extension calls, next / previous and a count (el.dataset.searchCount, searchIndex; the current
 * match's id in document.body.dataset.searchResult).
 *
 * Readiness for tests: el.dataset.diagramReady = "1" and el.dataset.stateCount (drawn states)
 * after every layout; document.body gets the same flags.
 */
(function (global) {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";
  // "Orchweb Diagram Sans" is served with the page (diagram-fonts.css's @font-face: DejaVu Sans, its
  // Latin subset): every browser that loads it measures the labels alike, so the server lays a new
  // version out for that bundled table before anyone opens it (designer/serverlayouts.py).
  const FONT_FAMILY = '"Orchweb Diagram Sans", "DejaVu Sans", "Liberation Sans", Arial, sans-serif';
  const FONT = "12px " + FONT_FAMILY;
  const SMALL_FONT = "10.5px " + FONT_FAMILY;
  const BOLD_FONT = "bold 12px " + FONT_FAMILY;

  /** One colour per ORS extension module (badges). Diff colours (green/red/amber) are kept apart. */
  const MODULE_COLOURS = {
    queue: "#1d4ed8",
    ixn: "#7c3aed",
    dialog: "#0e7490",
    session: "#475569",
    ws: "#db2777",
    statistic: "#0f766e",
    classification: "#9a3412",
    resource: "#4d7c0f",
    elasticconnector: "#be123c",
  };
  const UNKNOWN_MODULE_COLOUR = "#6b7280";

  const HEADER_H = 22;
  const BADGE_H = 16;
  const ROW_H = 16;
  const PAD = 8;
  const MAX_LABEL = 44;
  const MAX_NODE_W = 300;

  let measureCtx = null;
  let measureFont = "";
  // Widths of single characters already measured, by font: setting the context's font parses it
  // each time even when it is unchanged. Bounded: cleared when it grows past MEASURED_MAX entries.
  const measured = new Map();
  const MEASURED_MAX = 20000;
  /** Width in px of one character drawn with `font`, from the canvas (matches the SVG text). */
  function canvasWidth(ch, font) {
    const key = font + "\n" + ch;
    let width = measured.get(key);
    if (width === undefined) {
      if (!measureCtx) measureCtx = document.createElement("canvas").getContext("2d");
      if (measureFont !== font) measureCtx.font = measureFont = font;
      width = measureCtx.measureText(ch).width;
      if (measured.size >= MEASURED_MAX) measured.clear();
      measured.set(key, width);
    }
    return width;
  }
  // Where character widths come from: the canvas, or a reported table while the server builds
  // ELK's input (elkInput).
  let charWidth = canvasWidth;
  /**
   * Width in px of `text` drawn with `font`: the sum of its characters' widths, rounded up. A sum
   * (no kerning) rather than the canvas's width of the whole text, so that the server can compute
   * the same ELK input from this browser's table of character widths (fontTable, elkInput).
   */
  function measure(text, font) {
    font = font || FONT;
    let width = 0;
    for (const ch of text) width += charWidth(ch, font);
    return Math.ceil(width);
  }

  /** The characters whose widths a browser reports (fontTable): printable ASCII, Latin-1 and
   * Latin Extended-A, and the diagram's own symbols. A label with another character is laid out
   * by the browser (the server has no width for it). */
  function tableChars() {
    const chars = ["↺", "…"];
    for (let c = 0x20; c < 0x7f; c++) chars.push(String.fromCharCode(c));
    for (let c = 0xa0; c < 0x180; c++) chars.push(String.fromCharCode(c));
    return chars;
  }
  /** The fonts ELK's input measures text in. */
  const TABLE_FONTS = [BOLD_FONT, SMALL_FONT];
  /** How long text waits for the bundled fonts before it is measured in a fallback font: only a
   * font request that hangs waits this long (a failed one resolves fontsReady at once). */
  const FONTS_WAIT_MS = 10000;
  let fontsLoading = null;

  /**
   * Resolves once the bundled fonts are loaded (at once when they are): text measured before
   * would get a fallback font's widths, which match no layout the server made. Never rejects, and
   * resolves after FONTS_WAIT_MS whatever happens (a blocked font: the browser then lays out).
   */
  function fontsReady() {
    if (!fontsLoading) {
      const fonts = global.document && global.document.fonts;
      if (!fonts || typeof fonts.load !== "function") {
        fontsLoading = Promise.resolve();
      } else {
        const loaded = Promise.all(TABLE_FONTS.map((font) => fonts.load(font)));
        const late = new Promise((resolve) => setTimeout(resolve, FONTS_WAIT_MS));
        fontsLoading = Promise.race([loaded, late]).catch(() => undefined);
      }
    }
    return fontsLoading;
  }

  /** This browser's character widths for the fonts of ELK's input: {font: {char: px}}. */
  function fontTable() {
    const table = {};
    for (const font of TABLE_FONTS) {
      table[font] = {};
      for (const ch of tableChars()) table[font][ch] = canvasWidth(ch, font);
    }
    return table;
  }

  function truncate(text, max) {
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  }

  function svg(tag, attrs, parent) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) node.setAttribute(k, v);
    }
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, content, attrs) {
    const t = svg("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = content;
    return t;
  }

  /** Label of an edge: `event [cond]`, shortened; the full text is in the tooltip. */
  function transitionLabel(t) {
    let label = t.event || "";
    if (t.cond) label += (label ? " " : "") + "[" + t.cond.replace(/\s+/g, " ").trim() + "]";
    return truncate(label, MAX_LABEL);
  }

  function actionName(a) {
    return (a.module || a.namespace || "?") + ":" + a.action;
  }

  function actionTooltip(a) {
    const lines = [actionName(a) + " (" + a.phase + ", " + a.file + ":" + a.line + ")"];
    for (const [k, v] of Object.entries(a.attributes || {})) lines.push("  " + k + " = " + v);
    return lines.join("\n");
  }

  /* ---------- ELK in a Web Worker, results cached by content hash ---------- */

  let elk = null;
  /**
   * The page's one ELK, running in a Web Worker: resolves to it. The element with data-elk-worker
   * names the worker's URL; a page that loads elk-api.js itself has it on that script tag, one
   * that usually draws a stored layout names it (data-elk-api) and it is loaded here, on the first
   * layout ELK must make: a fresh browser then fetches it only when needed, and the page's other
   * files do not wait behind it for one of the browser's six connections to the server.
   */
  function elkInstance() {
    if (!elk) {
      const tag = document.querySelector("[data-elk-worker]");
      if (!tag) return Promise.reject(new Error("the page names no ELK worker (data-elk-worker)"));
      const api = global.ELK ? Promise.resolve() : loadScript(tag.dataset.elkApi);
      elk = api.then(() => new global.ELK({ workerUrl: tag.dataset.elkWorker }));
      elk.catch(() => {
        elk = null; // a failed load is tried again on the next layout
      });
    }
    return elk;
  }

  /** Loads a same-origin script (allowed by the pages' `script-src 'self'`); resolves once it ran. */
  function loadScript(src) {
    return new Promise((resolve, reject) => {
      if (!src) return reject(new Error("the page names no elk-api.js (data-elk-api)"));
      const script = document.createElement("script");
      script.src = src;
      script.onload = () => resolve();
      script.onerror = () => reject(new Error("could not load " + src));
      document.head.appendChild(script);
    });
  }

  /** 53-bit string hash (cyrb53): the layout cache key of an ELK input. */
  function hashText(str) {
    let h1 = 0xdeadbeef;
    let h2 = 0x41c6ce57;
    for (let i = 0; i < str.length; i++) {
      const ch = str.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
  }

  const LAYOUT_CACHE_PREFIX = "orchweb.layout.";
  const LAYOUT_CACHE_SIZE = 24; // layouts kept in memory (an editing session lays out after every edit)
  const layoutCache = new Map(); // this page's layouts; sessionStorage keeps them across pages of the tab

  function remember(key, value) {
    layoutCache.delete(key);
    layoutCache.set(key, value);
    while (layoutCache.size > LAYOUT_CACHE_SIZE) layoutCache.delete(layoutCache.keys().next().value);
  }

  /** Stores a layout in sessionStorage; when full, forgets the tab's older layouts and tries once more. */
  function store(key, text) {
    const storage = global.sessionStorage;
    if (!storage) return;
    try {
      storage.setItem(key, text);
    } catch (err) {
      try {
        for (const k of Object.keys(storage)) if (k.startsWith(LAYOUT_CACHE_PREFIX)) storage.removeItem(k);
        storage.setItem(key, text);
      } catch (again) {
        // Larger than the whole quota: the memory cache still serves this page.
      }
    }
  }

  /**
   * Lays out an ELK graph: the layout the page was served (`stored` {key, result}) when its key
   * is this input's; else from the cache when the same input (same graph, sizes, collapsed
   * states, options) was laid out before in this tab, else in the worker. Resolves to
   * {result, key, source: "server"|"cache"|"worker"}; `key` is the input's hash.
   */
  /** The layout key of an ELK input: the hash of its JSON and its length (designer/layouts.py). */
  function layoutKey(elkGraph) {
    const input = JSON.stringify(elkGraph);
    return hashText(input) + "." + input.length;
  }

  async function runLayout(elkGraph, stored) {
    const hash = layoutKey(elkGraph);
    if (stored && stored.key === hash) return { result: stored.result, key: hash, source: "server" };
    const key = LAYOUT_CACHE_PREFIX + hash;
    let cached = layoutCache.get(key);
    if (!cached) {
      try {
        const stored = global.sessionStorage && global.sessionStorage.getItem(key);
        if (stored) cached = JSON.parse(stored);
      } catch (err) {
        cached = null; // storage unavailable or a stale entry: lay out again
      }
    }
    if (cached) {
      remember(key, cached);
      return { result: JSON.parse(JSON.stringify(cached)), key: hash, source: "cache" };
    }
    const result = await (await elkInstance()).layout(elkGraph);
    const text = JSON.stringify(result);
    remember(key, JSON.parse(text));
    store(key, text);
    return { result: result, key: hash, source: "worker" };
  }

  /** Indexes a graph: states by id, children order, transitions by id and by source. */
  function indexGraph(graph) {
    const states = new Map();
    for (const s of graph.states) states.set(s.id, s);
    const transitions = new Map();
    for (const t of graph.transitions) transitions.set(t.id, t);
    return { states: states, transitions: transitions };
  }

  /** Short display label: the id without the prefix of an ancestor id (Composer resolveid prefixes). */
  function displayLabel(state, states) {
    let best = "";
    let p = state.parent ? states.get(state.parent) : null;
    while (p) {
      if (state.id.startsWith(p.id + ".") && p.id.length > best.length) best = p.id;
      p = p.parent ? states.get(p.parent) : null;
    }
    return best ? state.id.slice(best.length + 1) : state.id;
  }

  function ancestors(id, states) {
    const out = [];
    let s = states.get(id);
    while (s && s.parent) {
      out.push(s.parent);
      s = states.get(s.parent);
    }
    return out;
  }

  /** Badge layout: wraps pills into rows no wider than maxW; returns rows of {a, w}. */
  function badgeRows(actions, maxW) {
    const rows = [];
    let row = [];
    let used = 0;
    for (const a of actions) {
      const w = measure(actionName(a), SMALL_FONT) + 10;
      if (row.length && used + w > maxW) {
        rows.push(row);
        row = [];
        used = 0;
      }
      row.push({ a: a, w: w });
      used += w + 4;
    }
    if (row.length) rows.push(row);
    return rows;
  }

  class DiagramView {
    constructor(el, graph, opts) {
      this.el = el;
      this.graph = graph;
      this.opts = opts || {};
      this.idx = indexGraph(graph);
      this.collapsed = new Set(this.opts.collapsed || []);
      this.status = this.opts.status || { states: {}, transitions: {} };
      this.stored = this.opts.layout || null; // the whole chart's layout the server has ({key, result})
      this.transform = { x: 0, y: 0, k: 1 };
      this.stateEls = new Map();
      this.edgeEls = new Map();
      this.marks = { active: [], visitedStates: [], visitedTransitions: [], breakpoints: [], found: null, foundTransition: null };
      this.matches = { query: "", list: [], index: -1 };
      this._buildChrome();
    }

    _buildChrome() {
      this.el.classList.add("diagram");
      this.el.textContent = "";
      this.svg = svg("svg", { class: "diagram-svg", role: "group", "aria-label": "Statechart diagram: drag to pan, wheel to zoom, click a state or transition to open its source" }, this.el);
      const defs = svg("defs", {}, this.svg);
      for (const [name, colour] of [
        ["arrow", "#374151"],
        ["arrow-added", "#15803d"],
        ["arrow-removed", "#b91c1c"],
        ["arrow-changed", "#b45309"],
        ["arrow-hot", "#dc2626"],
      ]) {
        const m = svg(
          "marker",
          {
            id: "dg-" + name,
            viewBox: "0 0 10 10",
            refX: 9,
            refY: 5,
            markerWidth: 9,
            markerHeight: 9,
            markerUnits: "userSpaceOnUse", // same arrow size whatever the edge's stroke width
            orient: "auto-start-reverse",
          },
          defs,
        );
        svg("path", { d: "M0,0 L10,5 L0,10 z", fill: colour }, m);
      }
      this.viewport = svg("g", { class: "dg-viewport" }, this.svg);
      this.tooltip = document.createElement("div");
      this.tooltip.className = "dg-tooltip";
      this.tooltip.hidden = true;
      this.el.appendChild(this.tooltip);
      if (this.opts.searchBar !== false) this._buildSearchBar();
      this._bindPanZoom();
    }

    /** The search bar over the diagram: query, previous / next, "n / count". */
    _buildSearchBar() {
      const bar = document.createElement("form");
      bar.className = "dg-searchbar";
      bar.setAttribute("role", "search");
      const input = document.createElement("input");
      input.type = "search";
      input.placeholder = "Find state, event, cond, queue:submit…";
      input.setAttribute("aria-label", "Search the diagram");
      const button = (label, symbol, step) => {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = symbol;
        b.title = label;
        b.setAttribute("aria-label", label);
        b.addEventListener("click", () => this._searchStep(input.value, step));
        return b;
      };
      const count = document.createElement("span");
      count.className = "dg-search-count";
      count.setAttribute("role", "status");
      bar.append(input, button("Previous match", "▲", -1), button("Next match", "▼", 1), count);
      bar.addEventListener("submit", (ev) => ev.preventDefault());
      input.addEventListener("keydown", (ev) => {
        if (ev.key !== "Enter") return;
        ev.preventDefault();
        this._searchStep(input.value, ev.shiftKey ? -1 : 1);
      });
      // Typing a new query recounts at once (the first match is shown on Enter / next).
      input.addEventListener("input", () => this.findAll(input.value) && this._showCount());
      this.searchInput = input;
      this.searchCount = count;
      this.el.appendChild(bar);
    }

    async _searchStep(query, step) {
      if (query !== this.matches.query) {
        const list = this.findAll(query);
        // A query naming a state (its id, or its id without the Composer prefix) starts there.
        const best = this._bestStateId(query);
        const at = best ? list.findIndex((m) => m.kind === "state" && m.id === best) : -1;
        this.matches.index = at >= 0 ? at - step : step > 0 ? -1 : 0;
      }
      await (step > 0 ? this.searchNext() : this.searchPrevious());
    }

    _showCount() {
      const m = this.matches;
      const text = !m.query.trim() ? "" : m.list.length ? (m.index >= 0 ? m.index + 1 + " / " : "") + m.list.length : "no match";
      if (this.searchCount) this.searchCount.textContent = text;
      this.el.dataset.searchCount = String(m.list.length);
      this.el.dataset.searchIndex = String(m.index + 1);
      return true;
    }

    /* ---------- layout ---------- */

    /** The drawn node standing for a state: itself, or its outermost collapsed ancestor. */
    _effective(id) {
      const anc = ancestors(id, this.idx.states).reverse();
      for (const a of anc) if (this.collapsed.has(a)) return a;
      return id;
    }

    _isCompound(s) {
      return s.children && s.children.length > 0 && !this.collapsed.has(s.id) && s.kind !== "initial" && s.kind !== "history";
    }

    _targetless(s) {
      return this.graph.transitions.filter((t) => t.source === s.id && t.targetless);
    }

    /** Computes node box contents (label, badges, internal transition rows) and sizes. */
    _nodeBox(s) {
      const label = displayLabel(s, this.idx.states);
      const box = { label: label, badges: [], rows: [] };
      if (s.kind === "initial") return Object.assign(box, { w: 14, h: 14 });
      if (s.kind === "history") return Object.assign(box, { w: 26, h: 26 });
      let w = measure(label, BOLD_FONT) + 2 * PAD + (this.collapsed.has(s.id) ? 22 : 0);
      const rows = this._targetless(s).map((t) => {
        const badgesW = t.actions.reduce((n, a) => n + measure(actionName(a), SMALL_FONT) + 14, 0);
        let tl = "↺ " + (transitionLabel(t) || "(no event)");
        // Keep text + badges within the node's maximum width: shorten the text, never the badges.
        const room = MAX_NODE_W - 2 * PAD - badgesW - 6;
        while (tl.length > 12 && measure(tl, SMALL_FONT) > room) tl = truncate(tl, tl.length - 3);
        return { t: t, text: tl, w: measure(tl, SMALL_FONT) + badgesW + 6 };
      });
      for (const r of rows) w = Math.max(w, Math.min(r.w + 2 * PAD, MAX_NODE_W));
      const stateActions = s.actions || [];
      const bw = Math.max(w - 2 * PAD, 120);
      box.badges = badgeRows(stateActions, Math.min(bw, MAX_NODE_W - 2 * PAD));
      for (const row of box.badges) w = Math.max(w, row.reduce((n, b) => n + b.w + 4, 0) + 2 * PAD);
      box.rows = rows;
      const h = HEADER_H + box.badges.length * (BADGE_H + 3) + rows.length * ROW_H + (box.badges.length || rows.length ? 6 : 0);
      return Object.assign(box, { w: Math.max(w, 60), h: Math.max(h, 30) });
    }

    _elkGraph() {
      const states = this.idx.states;
      this.boxes = new Map();
      const nodes = new Map();
      const makeNode = (s) => {
        const box = this._nodeBox(s);
        this.boxes.set(s.id, box);
        const node = { id: "n:" + s.id, width: box.w, height: box.h, labels: [], children: [], edges: [] };
        if (this._isCompound(s)) {
          // A wrapper (Composer's IPD plumbing: one compound child beside leaves) hugs its child, so
          // nested wrappers do not draw as a stack of empty bands.
          const inner = s.children.map((c) => states.get(c)).filter(Boolean);
          const wrapper = inner.filter((c) => this._isCompound(c)).length === 1 && inner.length <= 2;
          const pad = wrapper ? 3 : 12;
          node.layoutOptions = {
            "elk.padding": "[top=" + (box.h + (wrapper ? 2 : 6)) + ",left=" + pad + ",bottom=" + pad + ",right=" + pad + "]",
            "elk.nodeSize.constraints": "MINIMUM_SIZE",
            "elk.nodeSize.minimum": "(" + box.w + "," + (box.h + 20) + ")",
          };
          if (s.initial && s.initial.length && !s.children.some((c) => states.get(c) && states.get(c).kind === "initial")) {
            node.children.push({ id: "i:" + s.id, width: 12, height: 12 });
          }
          for (const c of s.children) {
            const cs = states.get(c);
            if (cs) node.children.push(makeNode(cs));
          }
        }
        nodes.set(node.id, node);
        return node;
      };
      const rootState = states.get(this.graph.root) || this.graph.states.find((s) => !s.parent);
      const root = {
        id: "root",
        layoutOptions: {
          "elk.algorithm": "layered",
          "elk.direction": "DOWN",
          "elk.hierarchyHandling": "INCLUDE_CHILDREN",
          "elk.json.shapeCoords": "ROOT",
          "elk.json.edgeCoords": "ROOT",
          "elk.layered.spacing.nodeNodeBetweenLayers": "36",
          "elk.spacing.nodeNode": "18",
          "elk.spacing.edgeNode": "12",
          "elk.spacing.edgeEdge": "8",
          "elk.spacing.edgeLabel": "2",
          "elk.layered.spacing.edgeNodeBetweenLayers": "12",
          "elk.edgeLabels.placement": "CENTER",
          "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
          "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
          "elk.edgeRouting": "ORTHOGONAL",
          ...(this.opts.layoutOptions || {}),
        },
        children: rootState ? [makeNode(rootState)] : [],
        edges: [],
      };
      nodes.set("root", root);

      // Which ELK node contains an edge (ELK's findBestEdgeContainment rules).
      const parentOf = (nid) => {
        if (nid.startsWith("i:")) return "n:" + nid.slice(2);
        const s = states.get(nid.slice(2));
        return s && s.parent ? "n:" + s.parent : "root";
      };
      const chain = (nid) => {
        const out = [nid];
        while (nid !== "root") {
          nid = parentOf(nid);
          out.push(nid);
        }
        return out;
      };
      const container = (a, b) => {
        if (a === b) return parentOf(a);
        const ca = chain(a);
        const cb = chain(b);
        if (cb.includes(a)) return a;
        if (ca.includes(b)) return b;
        for (const x of ca.slice(1)) if (cb.includes(x)) return x;
        return "root";
      };
      const addEdge = (edge) => {
        const c = nodes.get(container(edge.sources[0], edge.targets[0])) || root;
        c.edges.push(edge);
      };

      this.edgeInfo = new Map();
      let n = 0;
      // Initial markers of compound states without an <initial> child.
      for (const node of nodes.values()) {
        for (const child of node.children || []) {
          if (!child.id.startsWith("i:")) continue;
          const s = states.get(child.id.slice(2));
          for (const target of s.initial) {
            if (!states.has(target)) continue;
            const eid = "x:" + n++;
            this.edgeInfo.set(eid, { initial: true });
            addEdge({ id: eid, sources: [child.id], targets: ["n:" + this._effective(target)] });
          }
        }
      }
      for (const t of this.graph.transitions) {
        if (t.targetless || !states.has(t.source)) continue;
        const src = this._effective(t.source);
        t.targets.forEach((target, i) => {
          if (!states.has(target)) return;
          const tgt = this._effective(target);
          if (src === tgt && (src !== t.source || target !== t.source)) return; // hidden inside a collapsed state
          const eid = "e:" + t.id + ":" + i;
          const label = transitionLabel(t);
          const labels = [];
          if (label || t.actions.length) {
            const brows = badgeRows(t.actions, 240);
            const lw = Math.max(label ? measure(label, SMALL_FONT) : 0, ...brows.map((r) => r.reduce((k, b) => k + b.w + 4, 0)));
            labels.push({ id: "l:" + eid, text: label, width: lw + 4, height: (label ? 13 : 0) + brows.length * (BADGE_H + 2) });
            this.edgeInfo.set(eid, { t: t, label: label, badges: brows });
          } else {
            this.edgeInfo.set(eid, { t: t, label: "", badges: [] });
          }
          addEdge({ id: eid, sources: ["n:" + src], targets: ["n:" + tgt], labels: labels });
        });
      }
      return root;
    }

    /** Runs ELK (in its Web Worker, or from the cache) and redraws; resolves when drawn. */
    async layout() {
      this.el.dataset.diagramReady = "0";
      document.body.dataset.diagramReady = "0";
      const started = performance.now();
      await fontsReady();
      const { result, key, source } = await runLayout(this._elkGraph(), this.stored);
      this.el.dataset.layoutSource = document.body.dataset.layoutSource = source;
      this._draw(result);
      this._applyMarks();
      // The whole chart's layout, when the server does not have it yet, goes back to it (once): also
      // one served from another version of the project whose input hashes the same (`earlier`).
      const kept = source === "server" && !this.stored.earlier;
      if (!kept && this.opts.onLayout && !this.collapsed.size) {
        this.opts.onLayout(key, result);
        this.stored = { key: key, result: result };
      }
      this.el.dataset.layoutMs = String(Math.round(performance.now() - started)); // measure, lay out, draw
      this.el.dataset.diagramReady = "1";
      this.el.dataset.stateCount = String(this.stateEls.size);
      document.body.dataset.diagramReady = "1";
      document.body.dataset.stateCount = String(this.stateEls.size);
      return this;
    }

    /* ---------- drawing ---------- */

    _draw(result) {
      this.viewport.textContent = "";
      this.stateEls.clear();
      this.edgeEls.clear();
      this.size = { w: result.width || 0, h: result.height || 0 };
      const nodeLayer = svg("g", { class: "dg-nodes" }, this.viewport);
      const edgeLayer = svg("g", { class: "dg-edges" }, this.viewport);
      const labelLayer = svg("g", { class: "dg-labels" }, this.viewport);
      const walk = (node, depth) => {
        for (const child of node.children || []) {
          this._drawNode(child, nodeLayer, depth);
          walk(child, depth + 1);
        }
        for (const edge of node.edges || []) this._drawEdge(edge, edgeLayer, labelLayer);
      };
      walk(result, 0);
    }

    _statusClass(kind, id) {
      const st = (kind === "state" ? this.status.states : this.status.transitions) || {};
      return st[id] ? " dg-" + st[id] : "";
    }

    _drawNode(node, layer, depth) {
      if (node.id.startsWith("i:")) {
        svg("circle", { class: "dg-initial-marker", cx: node.x + 6, cy: node.y + 6, r: 6 }, layer);
        return;
      }
      const id = node.id.slice(2);
      const s = this.idx.states.get(id);
      const box = this.boxes.get(id);
      const compound = this._isCompound(s);
      const g = svg(
        "g",
        {
          class: "dg-state dg-kind-" + s.kind + (compound ? " dg-compound" : "") + (this.collapsed.has(id) ? " dg-collapsed" : "") + this._statusClass("state", id),
          "data-state-id": id,
          "data-depth": depth,
          tabindex: 0,
        },
        layer,
      );
      this.stateEls.set(id, g);
      // Native tooltip for the whole state (badges and internal rows have their own).
      g.appendChild(svg("title", {})).textContent = s.id + " (" + s.kind + ", " + s.file + ":" + s.line + ")";
      const x = node.x;
      const y = node.y;
      const w = node.width;
      const h = node.height;
      if (s.kind === "initial") {
        svg("circle", { class: "dg-shape", cx: x + w / 2, cy: y + h / 2, r: w / 2 }, g);
      } else if (s.kind === "history") {
        svg("circle", { class: "dg-shape", cx: x + w / 2, cy: y + h / 2, r: w / 2 }, g);
        text(g, x + w / 2, y + h / 2 + 4, s.history === "deep" ? "H*" : "H", { class: "dg-history-text", "text-anchor": "middle" });
      } else {
        svg("rect", { class: "dg-shape", x: x, y: y, width: w, height: h, rx: s.kind === "scxml" ? 2 : 8 }, g);
        if (s.kind === "final") svg("rect", { class: "dg-final-inner", x: x + 3, y: y + 3, width: w - 6, height: h - 6, rx: 6 }, g);
        if (compound && depth > 0) svg("line", { class: "dg-header-line", x1: x, x2: x + w, y1: y + box.h, y2: y + box.h }, g);
        text(g, x + PAD, y + 15, box.label, { class: "dg-label" });
        if (s.kind === "parallel") this._drawRegionSeparators(node, g);
        if (s.children && s.children.length && s.kind !== "scxml") {
          const collapsed = this.collapsed.has(id);
          const tg = svg("g", { class: "dg-toggle", "data-toggle": id, role: "button" }, g);
          svg("rect", { x: x + w - 18, y: y + 4, width: 14, height: 14, rx: 3 }, tg);
          text(tg, x + w - 11, y + 15, collapsed ? "+" : "−", { "text-anchor": "middle" });
          tg.appendChild(svg("title", {})).textContent = (collapsed ? "Expand " : "Collapse ") + s.children.length + " children";
        }
        let by = y + HEADER_H;
        for (const row of box.badges) {
          let bx = x + PAD;
          for (const b of row) {
            this._drawBadge(g, bx, by, b);
            bx += b.w + 4;
          }
          by += BADGE_H + 3;
        }
        for (const r of box.rows) {
          const rg = svg("g", { class: "dg-internal dg-edge-hit" + this._statusClass("transition", r.t.id), "data-transition-id": r.t.id }, g);
          svg("rect", { class: "dg-internal-bg", x: x + 3, y: by, width: w - 6, height: ROW_H }, rg);
          const tt = text(rg, x + PAD, by + 12, r.text, { class: "dg-internal-text" });
          let bx = x + PAD + measure(r.text, SMALL_FONT) + 6;
          for (const a of r.t.actions) {
            const bw = measure(actionName(a), SMALL_FONT) + 10;
            this._drawBadge(rg, bx, by + 1, { a: a, w: bw }, 14);
            bx += bw + 4;
          }
          tt.appendChild(svg("title", {})).textContent = this._transitionTooltip(r.t);
          this.edgeEls.set(r.t.id, (this.edgeEls.get(r.t.id) || []).concat([rg]));
          by += ROW_H;
        }
      }
    }

    _drawRegionSeparators(node, g) {
      const kids = (node.children || []).filter((c) => c.id.startsWith("n:"));
      if (kids.length < 2) return;
      // Regions side by side when their vertical extents overlap, otherwise stacked.
      const overlapY = (a, b) => a.y < b.y + b.height && b.y < a.y + a.height;
      const sideBySide = kids.some((a, i) => kids.some((b, j) => i !== j && overlapY(a, b)));
      kids.sort((a, b) => (sideBySide ? a.x - b.x : a.y - b.y));
      for (let i = 1; i < kids.length; i++) {
        const prev = kids[i - 1];
        if (sideBySide) {
          const xx = (prev.x + prev.width + kids[i].x) / 2;
          svg("line", { class: "dg-region-sep", x1: xx, x2: xx, y1: node.y + HEADER_H, y2: node.y + node.height }, g);
        } else {
          const yy = (prev.y + prev.height + kids[i].y) / 2;
          svg("line", { class: "dg-region-sep", x1: node.x, x2: node.x + node.width, y1: yy, y2: yy }, g);
        }
      }
    }

    _drawBadge(parent, x, y, b, height) {
      const hh = height || BADGE_H;
      const colour = MODULE_COLOURS[b.a.module] || UNKNOWN_MODULE_COLOUR;
      const g = svg("g", { class: "dg-badge", "data-module": b.a.module || "", "data-action": b.a.action }, parent);
      svg("rect", { x: x, y: y, width: b.w, height: hh, rx: hh / 2, fill: colour }, g);
      text(g, x + b.w / 2, y + hh - 4, actionName(b.a), { "text-anchor": "middle", class: "dg-badge-text" });
      g.addEventListener("mouseenter", (ev) => this._showTooltip(ev, actionTooltip(b.a)));
      g.addEventListener("mousemove", (ev) => this._moveTooltip(ev));
      g.addEventListener("mouseleave", () => this._hideTooltip());
    }

    _transitionTooltip(t) {
      const lines = [
        t.id + ": " + (t.event || "(eventless)") + " → " + (t.targets.length ? t.targets.join(" ") : "(targetless)"),
      ];
      if (t.cond) lines.push("cond: " + t.cond.replace(/\s+/g, " "));
      if (t.type === "internal") lines.push("type: internal");
      lines.push(t.file + ":" + t.line);
      return lines.join("\n");
    }

    _drawEdge(edge, layer, labelLayer) {
      const info = this.edgeInfo.get(edge.id) || {};
      const sections = edge.sections || [];
      if (!sections.length) return;
      let d = "";
      for (const sec of sections) {
        const pts = [sec.startPoint].concat(sec.bendPoints || [], [sec.endPoint]);
        d += "M" + pts.map((p) => p.x.toFixed(1) + "," + p.y.toFixed(1)).join(" L");
      }
      if (info.initial) {
        svg("path", { class: "dg-edge dg-initial-edge", d: d, "marker-end": "url(#dg-arrow)" }, layer);
        return;
      }
      const t = info.t;
      const st = this._statusClass("transition", t.id);
      const g = svg(
        "g",
        { class: "dg-transition dg-edge-hit" + (t.eventless ? " dg-eventless" : "") + (t.type === "internal" ? " dg-internal-type" : "") + st, "data-transition-id": t.id },
        layer,
      );
      svg("path", { class: "dg-edge-halo", d: d }, g);
      const marker = st ? "url(#dg-arrow-" + st.trim().slice(3) + ")" : "url(#dg-arrow)";
      svg("path", { class: "dg-edge", d: d, "marker-end": marker }, g);
      g.appendChild(svg("title", {})).textContent = this._transitionTooltip(t);
      const els = [g];
      for (const label of edge.labels || []) {
        const lg = svg("g", { class: "dg-edge-label dg-edge-hit" + st, "data-transition-id": t.id }, labelLayer);
        svg("rect", { class: "dg-edge-label-bg", x: label.x - 1, y: label.y - 1, width: label.width + 2, height: label.height + 2, rx: 3 }, lg);
        let ly = label.y;
        if (info.label) {
          const lt = text(lg, label.x + 2, label.y + 10, info.label, { class: "dg-edge-label-text" });
          lt.appendChild(svg("title", {})).textContent = this._transitionTooltip(t);
          ly += 13;
        }
        for (const row of info.badges) {
          let bx = label.x + 2;
          for (const b of row) {
            this._drawBadge(lg, bx, ly + 1, b, 14);
            bx += b.w + 4;
          }
          ly += BADGE_H + 2;
        }
        els.push(lg);
      }
      this.edgeEls.set(t.id, (this.edgeEls.get(t.id) || []).concat(els));
    }

    /* ---------- tooltip ---------- */

    _showTooltip(ev, content) {
      this.tooltip.textContent = content;
      this.tooltip.hidden = false;
      this._moveTooltip(ev);
    }

    _moveTooltip(ev) {
      const r = this.el.getBoundingClientRect();
      this.tooltip.style.left = ev.clientX - r.left + 14 + "px";
      this.tooltip.style.top = ev.clientY - r.top + 14 + "px";
    }

    _hideTooltip() {
      this.tooltip.hidden = true;
    }

    /* ---------- pan / zoom / interaction ---------- */

    _applyTransform() {
      const t = this.transform;
      this.viewport.setAttribute("transform", "translate(" + t.x + "," + t.y + ") scale(" + t.k + ")");
      this.el.dataset.zoom = t.k.toFixed(3);
    }

    _bindPanZoom() {
      let drag = null;
      let moved = false;
      this.svg.addEventListener(
        "wheel",
        (ev) => {
          ev.preventDefault();
          const r = this.svg.getBoundingClientRect();
          const factor = Math.exp(-ev.deltaY * 0.0015);
          this.zoomAt(ev.clientX - r.left, ev.clientY - r.top, factor);
        },
        { passive: false },
      );
      this.svg.addEventListener("pointerdown", (ev) => {
        if (ev.button !== 0) return;
        drag = { x: ev.clientX, y: ev.clientY, tx: this.transform.x, ty: this.transform.y };
        moved = false;
      });
      this.svg.addEventListener("pointermove", (ev) => {
        if (!drag) return;
        const dx = ev.clientX - drag.x;
        const dy = ev.clientY - drag.y;
        if (!moved && Math.abs(dx) + Math.abs(dy) < 4) return;
        if (!moved) this.svg.setPointerCapture(ev.pointerId);
        moved = true;
        this.svg.classList.add("dg-dragging");
        this.transform.x = drag.tx + dx;
        this.transform.y = drag.ty + dy;
        this._applyTransform();
      });
      const end = () => {
        drag = null;
        this.svg.classList.remove("dg-dragging");
      };
      this.svg.addEventListener("pointerup", end);
      this.svg.addEventListener("pointercancel", end);
      this.svg.addEventListener("click", (ev) => {
        if (moved) {
          moved = false;
          return;
        }
        this._onClick(ev);
      });
      this.svg.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter") this._onClick(ev);
      });
      // Hover: a transition lights up with its label; a state lights up its outgoing transitions.
      this.svg.addEventListener("mouseover", (ev) => {
        if (drag) return;
        const edge = ev.target.closest("[data-transition-id]");
        const state = !edge && ev.target.closest("[data-state-id]");
        let ids = [];
        if (edge) ids = [edge.dataset.transitionId];
        else if (state) ids = this.graph.transitions.filter((t) => t.source === state.dataset.stateId).map((t) => t.id);
        this._setClass("dg-hover", ids.flatMap((id) => this.edgeEls.get(id) || []));
      });
      this.svg.addEventListener("mouseleave", () => this._setClass("dg-hover", []));
    }

    _onClick(ev) {
      const toggle = ev.target.closest("[data-toggle]");
      if (toggle) {
        this.toggle(toggle.dataset.toggle);
        return;
      }
      const edge = ev.target.closest("[data-transition-id]");
      if (edge) {
        const t = this.idx.transitions.get(edge.dataset.transitionId);
        if (t && this.opts.onEdgeClick) this.opts.onEdgeClick(t, ev);
        return;
      }
      const state = ev.target.closest("[data-state-id]");
      if (state) {
        const s = this.idx.states.get(state.dataset.stateId);
        if (s && this.opts.onStateClick) this.opts.onStateClick(s, ev);
      }
    }

    zoomAt(px, py, factor) {
      const t = this.transform;
      const k = Math.min(4, Math.max(0.05, t.k * factor));
      t.x = px - ((px - t.x) * k) / t.k;
      t.y = py - ((py - t.y) * k) / t.k;
      t.k = k;
      this._applyTransform();
    }

    /** Scales and centres the whole chart in the element (never zooms in beyond 1:1). */
    fit() {
      const r = this.svg.getBoundingClientRect();
      const w = r.width || 800;
      const h = r.height || 600;
      const k = Math.min(1, (w - 20) / Math.max(this.size.w, 1), (h - 20) / Math.max(this.size.h, 1));
      this.transform = { k: k, x: (w - this.size.w * k) / 2, y: Math.max(10, (h - this.size.h * k) / 2) };
      this._applyTransform();
    }

    /**
     * Initial view: the whole chart when it fits at a legible scale, else the chart's full width
     * from the top (a tall chart is then read by scrolling/panning down).
     */
    fitWidth() {
      const r = this.svg.getBoundingClientRect();
      const w = r.width || 800;
      const kAll = Math.min(1, (w - 20) / Math.max(this.size.w, 1), ((r.height || 600) - 20) / Math.max(this.size.h, 1));
      if (kAll >= 0.6) return this.fit();
      const k = Math.max(0.45, Math.min(1, (w - 20) / Math.max(this.size.w, 1)));
      this.transform = { k: k, x: Math.max(10, (w - this.size.w * k) / 2), y: 10 };
      this._applyTransform();
    }

    /**
     * First view: the whole chart when it fits at a legible scale; otherwise a legible zoom on the
     * start of the main flow (the initial child of the compound state with the most children).
     */
    initialView() {
      const r = this.svg.getBoundingClientRect();
      const kAll = Math.min(1, ((r.width || 800) - 20) / Math.max(this.size.w, 1), ((r.height || 600) - 20) / Math.max(this.size.h, 1));
      if (kAll >= 0.6) return this.fit();
      let main = null;
      for (const s of this.graph.states) {
        if (this.stateEls.has(s.id) && this._isCompound(s) && (!main || s.children.length > main.children.length)) main = s;
      }
      const start = main && (main.initial || [])[0];
      const g = start && this.stateEls.get(this._effective(start));
      if (!g) return this.fitWidth();
      const b = g.getBBox();
      const w = r.width || 800;
      // The main flow from its left edge (a centred start cut off the branches on the left), unless
      // that would push the start itself out of view.
      const shape = this.stateEls.get(main.id).querySelector(".dg-shape") || this.stateEls.get(main.id);
      const mb = shape.getBBox();
      const k = Math.min(0.8, Math.max(0.6, (w - 20) / Math.max(mb.width, 1)));
      let x = w / 2 - (b.x + b.width / 2) * k;
      if (mb.width * k <= w - 20) x = w / 2 - (mb.x + mb.width / 2) * k;
      else if ((b.x + b.width) * k + 10 - mb.x * k <= w - 10) x = 10 - mb.x * k;
      this.transform = { k: k, x: x, y: 40 - b.y * k };
      this._applyTransform();
    }

    /** Centres the view on a transition's drawing (its edge and label), at a legible zoom. */
    centerOnTransition(id) {
      const els = this.edgeEls.get(id) || [];
      if (!els.length) return false;
      const boxes = els.map((e) => e.getBBox()).filter((b) => b.width || b.height);
      if (!boxes.length) return false;
      const x0 = Math.min(...boxes.map((b) => b.x));
      const y0 = Math.min(...boxes.map((b) => b.y));
      const x1 = Math.max(...boxes.map((b) => b.x + b.width));
      const y1 = Math.max(...boxes.map((b) => b.y + b.height));
      const r = this.svg.getBoundingClientRect();
      const k = Math.min(Math.max(this.transform.k, 0.9), ((r.width || 800) - 40) / Math.max(x1 - x0, 1), ((r.height || 600) - 40) / Math.max(y1 - y0, 1));
      this.transform = { k: Math.max(k, 0.3), x: (r.width || 800) / 2 - ((x0 + x1) / 2) * Math.max(k, 0.3), y: (r.height || 600) / 2 - ((y0 + y1) / 2) * Math.max(k, 0.3) };
      this._applyTransform();
      return true;
    }

    /** Centres the view on a state, at a legible zoom. */
    centerOn(id) {
      const g = this.stateEls.get(id);
      if (!g) return;
      const b = g.getBBox();
      const r = this.svg.getBoundingClientRect();
      const k = Math.max(this.transform.k, 0.9);
      this.transform = { k: k, x: r.width / 2 - (b.x + b.width / 2) * k, y: r.height / 2 - (b.y + Math.min(b.height, 60) / 2) * k };
      this._applyTransform();
    }

    /* ---------- collapse / search ---------- */

    async collapse(id) {
      this.collapsed.add(id);
      await this.layout();
    }

    async expand(id) {
      this.collapsed.delete(id);
      await this.layout();
    }

    async toggle(id) {
      if (this.collapsed.has(id)) await this.expand(id);
      else await this.collapse(id);
    }

    /** The state a query names: its id, its id after a prefix, case-insensitively (or containing it). */
    _bestStateId(query, substring) {
      const q = (query || "").trim();
      if (!q) return null;
      const ids = this.graph.states.map((s) => s.id);
      const lower = q.toLowerCase();
      if (substring) return ids.find((i) => i.toLowerCase().includes(lower)) || null;
      return ids.find((i) => i === q) || ids.find((i) => i.endsWith("." + q)) || ids.find((i) => i.toLowerCase() === lower) || null;
    }

    /** Finds a state by id (exact, then suffix, then substring), expands its ancestors, marks and centres it. */
    async search(query) {
      const id = this._bestStateId(query) || this._bestStateId(query, true);
      if (!id) return null;
      const hidden = ancestors(id, this.idx.states).filter((a) => this.collapsed.has(a));
      if (hidden.length) {
        hidden.forEach((a) => this.collapsed.delete(a));
        await this.layout();
      }
      this.marks.found = id;
      this.marks.foundTransition = null;
      this._applyMarks();
      this.centerOn(id);
      return id;
    }

    /**
     * Every match of `query` (case-insensitive substring), in document order: states by id and by
     * the extension calls of their onentry/onexit (`queue:submit`), transitions by event, cond
     * and extension calls. Each match is {kind: "state"|"transition", id, state (the state to show),
     * what (the matched text)}. Resets the current match.
     */
    findAll(query) {
      const q = (query || "").trim().toLowerCase();
      const list = [];
      if (q) {
        const has = (text) => Boolean(text) && String(text).toLowerCase().includes(q);
        const calls = (actions) => (actions || []).map(actionName).find(has);
        const bySource = new Map();
        for (const t of this.graph.transitions) bySource.set(t.source, (bySource.get(t.source) || []).concat([t]));
        for (const s of this.graph.states) {
          const what = has(s.id) ? s.id : calls(s.actions);
          if (what) list.push({ kind: "state", id: s.id, state: s.id, what: what });
          for (const t of bySource.get(s.id) || []) {
            const tw = [t.event, t.cond].find(has) || calls(t.actions);
            if (tw) list.push({ kind: "transition", id: t.id, state: t.source, what: tw });
          }
        }
      }
      this.matches = { query: query || "", list: list, index: -1 };
      this._showCount();
      return list;
    }

    searchNext() {
      return this._goToMatch(this.matches.index + 1);
    }

    searchPrevious() {
      return this._goToMatch(this.matches.index - 1);
    }

    /** Shows match `i` (wrapping): expands its collapsed ancestors, marks and centres it. */
    async _goToMatch(i) {
      const m = this.matches;
      if (!m.list.length) {
        this.marks.found = this.marks.foundTransition = null;
        this._applyMarks();
        this._showCount();
        document.body.dataset.searchResult = "";
        return null;
      }
      m.index = ((i % m.list.length) + m.list.length) % m.list.length;
      const match = m.list[m.index];
      const hidden = ancestors(match.state, this.idx.states).filter((a) => this.collapsed.has(a));
      if (match.kind === "transition" && this.collapsed.has(match.state)) hidden.push(match.state);
      if (hidden.length) {
        hidden.forEach((a) => this.collapsed.delete(a));
        await this.layout();
      }
      this.marks.found = match.kind === "state" ? match.id : null;
      this.marks.foundTransition = match.kind === "transition" ? match.id : null;
      this._applyMarks();
      this.centerOn(match.state);
      this._showCount();
      document.body.dataset.searchResult = match.id;
      return match;
    }

    /* ---------- simulator API ---------- */

    _setClass(cls, els) {
      for (const el of this.viewport.querySelectorAll("." + cls)) el.classList.remove(cls);
      for (const el of els) if (el) el.classList.add(cls);
    }

    /**
     * Transition ids of references given as ids ("t3") or trace objects ({id} or {file, line}),
     * so a trace record's transition can be passed as it is.
     */
    transitionIds(refs) {
      const out = [];
      for (const ref of refs || []) {
        if (typeof ref === "string") out.push(ref);
        else if (ref && ref.id && this.idx.transitions.has(ref.id)) out.push(ref.id);
        else if (ref && ref.file && ref.line) {
          const t = this.graph.transitions.find((x) => x.file === ref.file && x.line === ref.line);
          if (t) out.push(t.id);
        }
      }
      return out;
    }

    _markStates(ids) {
      return ids.filter((id) => this.idx.states.has(id)).map((id) => this.stateEls.get(this._effective(id)));
    }

    _markActive() {
      this._setClass("dg-active", this._markStates(this.marks.active));
    }

    _markVisited() {
      const edges = this.marks.visitedTransitions.flatMap((id) => this.edgeEls.get(id) || []);
      this._setClass("dg-visited", this._markStates(this.marks.visitedStates).concat(edges));
    }

    _applyMarks() {
      const m = this.marks;
      const stateEls = (ids) => this._markStates(ids);
      const edgeEls = (ids) => ids.flatMap((id) => this.edgeEls.get(id) || []);
      this._markActive();
      this._markVisited();
      this._setClass("dg-breakpoint", stateEls(m.breakpoints));
      this._setClass("dg-found", (m.found ? stateEls([m.found]) : []).concat(m.foundTransition ? edgeEls([m.foundTransition]) : []));
      const heat = m.heat || { states: {}, transitions: {} };
      const most = Math.max(1, ...Object.values(heat.states), ...Object.values(heat.transitions));
      const level = (n) => (n <= 0 ? 0 : Math.min(3, Math.ceil((3 * n) / most)));
      const byLevel = (counts, els) => [0, 1, 2, 3].map((l) => els(Object.keys(counts).filter((id) => level(counts[id]) === l)));
      const states = byLevel(heat.states, (ids) => ids.filter((id) => this.idx.states.has(id)).map((id) => this.stateEls.get(id)).filter(Boolean));
      const edges = byLevel(heat.transitions, edgeEls);
      this._setClass("dg-never", states[0].concat(edges[0]));
      for (const l of [1, 2, 3]) this._setClass("dg-heat-" + l, states[l].concat(edges[l]));
    }

    /** Visit counts {states: {id: n}, transitions: {tid: n}}: the more, the hotter; 0 = never visited. */
    heat(counts) {
      this.marks.heat = { states: (counts && counts.states) || {}, transitions: (counts && counts.transitions) || {} };
      this._applyMarks();
    }

    /** Marks the active configuration (state ids). */
    highlight(activeIds) {
      this.marks.active = Array.from(activeIds || []);
      this._markActive(); // a class toggle on the drawn SVG: a simulation step costs no redraw
    }

    /** Tints visited states and transitions (coverage); transitions as ids or trace objects. */
    tint(stateIds, transitions) {
      this.marks.visitedStates = Array.from(stateIds || []);
      this.marks.visitedTransitions = this.transitionIds(Array.from(transitions || []));
      this._markVisited();
    }

    /** Marks states carrying a breakpoint. */
    setBreakpoints(stateIds) {
      this.marks.breakpoints = Array.from(stateIds || []);
      this._applyMarks();
    }

    /** Briefly animates a transition (the last one taken): an id or a trace transition object. */
    animateTransition(transition) {
      const [transitionId] = this.transitionIds([transition]);
      for (const el of this.edgeEls.get(transitionId) || []) {
        el.classList.remove("dg-fired");
        void el.getBoundingClientRect(); // restart the CSS animation
        el.classList.add("dg-fired");
      }
    }

    /** Colours states/transitions by status {states: {id: added|removed|changed}, transitions: {...}}. */
    async setStatus(status) {
      this.status = status || { states: {}, transitions: {} };
      await this.layout();
    }
  }

  /**
   * render() options from what a page was served for a version's document (`store` {url, entry,
   * layout}, designer.layouts.layout_store): the stored layout to draw (the user's own or a
   * writer's of the project), and an onLayout that posts ELK's layout back to `url`
   * (body.dataset.layoutStored = its key once kept; no url for a share link's anonymous visitor).
   * The draft's diagram gets its own store (designer.layouts.draft_layout_store: the editor's
   * layouts go to the draft, and the version saved from it starts with the last one). A page
   * without a store (a draft's replay, the coverage heat) gets {}: ELK and the tab's cache only.
   */
  function layoutStore(store) {
    if (!store) return {};
    if (store.fonts) reportFonts(store.fonts);
    if (!store.url) return { layout: store.layout };
    const onLayout = async (key, result) => {
      const body = { entry: store.entry, key: key, layout: result };
      const answer = await global.orchweb.fetchJSON(store.url, { method: "POST", body: body });
      if (answer.ok) document.body.dataset.layoutStored = key;
    };
    return { layout: store.layout, onLayout: onLayout };
  }

  /**
   * ELK's input for `graph` (no state collapsed, the diagram's options) with the character widths
   * of `table` ({font: {char: px}}, a browser's fontTable) instead of this page's canvas: the
   * builder the diagram runs, run by the server (designer/elk.py, in QuickJS) to lay out a version
   * for a browser before it opens it. Throws when a label has a character the table lacks.
   */
  function elkInput(graph, table) {
    const model = Object.create(DiagramView.prototype);
    Object.assign(model, { graph: graph, opts: {}, idx: indexGraph(graph), collapsed: new Set() });
    const own = Object.prototype.hasOwnProperty;
    const previous = charWidth;
    charWidth = (ch, font) => {
      const widths = own.call(table, font) ? table[font] : null;
      if (!widths || !own.call(widths, ch) || typeof widths[ch] !== "number") {
        throw new Error("no width for " + JSON.stringify(ch) + " in " + font);
      }
      return widths[ch];
    };
    try {
      return model._elkGraph();
    } finally {
      charWidth = previous;
    }
  }

  const FONTS_COOKIE = "orchweb_fonts";
  const FONTS_STORAGE = "orchweb.fonts";
  let fontsReported = null;
  /**
   * Reports this browser's fontTable (`fonts` {url, known}: designer.layouts.font_report, given
   * to a diagram's page in its layout store and to base.html's body, whose base.js loads this
   * file to call it): the server answers with the table's fingerprint, kept in a cookie, and lays
   * out the user's versions for it (designer/serverlayouts.py). Posted only when the server does
   * not know the cookie's fingerprint for this user or the browser's widths changed. Runs once a
   * page (later calls get the first call's promise), after the page's first view, when it is
   * idle: never on the way to the first drawing or a simulation's first snapshot.
   */
  function reportFonts(fonts) {
    if (fontsReported) return fontsReported;
    const run = async () => {
      await fontsReady();
      const table = fontTable();
      const text = JSON.stringify(table);
      const hash = hashText(text) + "." + text.length;
      let saved = null;
      try {
        saved = JSON.parse(global.localStorage.getItem(FONTS_STORAGE) || "null");
      } catch (err) {
        saved = null; // storage unavailable: post
      }
      if (fonts.known && saved && saved.hash === hash && saved.fingerprint === fonts.known) return;
      const answer = await global.orchweb.fetchJSON(fonts.url, { method: "POST", body: { table: table } });
      if (!answer.ok) return;
      const fingerprint = answer.json.fingerprint;
      const secure = global.location.protocol === "https:" ? "; secure" : "";
      document.cookie = FONTS_COOKIE + "=" + fingerprint + "; path=/; max-age=31536000; samesite=lax" + secure;
      try {
        global.localStorage.setItem(FONTS_STORAGE, JSON.stringify({ hash: hash, fingerprint: fingerprint }));
      } catch (err) {
        // no storage: the next page posts again
      }
      document.body.dataset.fontsReported = fingerprint;
    };
    // After the page's first view (orchweb.afterFirstView, base.js): measuring ~320 characters in
    // two fonts is ~10-20 ms of the main thread, which an idle moment before the first snapshot
    // of a simulation page would put in front of it.
    const later = (global.orchweb && global.orchweb.afterFirstView) || global.requestIdleCallback || ((callback) => setTimeout(callback, 200));
    fontsReported = new Promise((resolve) => later(() => run().then(resolve, resolve)));
    return fontsReported;
  }

  /** Draws `graph` in `el`; resolves to the DiagramView once laid out. */
  async function render(el, graph, opts) {
    const view = new DiagramView(el, graph, opts);
    await view.layout();
    view.initialView();
    return view;
  }

  /* ---------- diff ---------- */

  function actionsKey(actions) {
    return JSON.stringify((actions || []).map((a) => [a.namespace, a.action, a.phase, a.attributes]));
  }

  function stateKey(s) {
    return JSON.stringify([s.kind, s.parent, s.initial, s.history, actionsKey(s.actions)]);
  }

  /** Transitions are matched by (source, event, rank among the source's transitions on that event). */
  function transitionIdentities(graph) {
    const seen = new Map();
    const out = new Map();
    for (const t of graph.transitions) {
      const base = t.source + "\u0000" + (t.event || "");
      const n = seen.get(base) || 0;
      seen.set(base, n + 1);
      out.set(base + "\u0000" + n, t);
    }
    return out;
  }

  function transitionKey(t) {
    return JSON.stringify([t.targets, t.cond, t.type, actionsKey(t.actions)]);
  }

  /**
   * Compares two graphs. Returns {states, transitions} status maps keyed by ids of the returned
   * union `graph` (graph B plus what A had and B lost), ready for render(..., {status}).
   */
  function diff(graphA, graphB) {
    const a = indexGraph(graphA);
    const b = indexGraph(graphB);
    const status = { states: {}, transitions: {} };
    const states = graphB.states.map((s) => Object.assign({}, s, { children: s.children.slice() }));
    const byId = new Map(states.map((s) => [s.id, s]));
    for (const s of graphB.states) {
      const old = a.states.get(s.id);
      if (!old) status.states[s.id] = "added";
      else if (stateKey(old) !== stateKey(s)) status.states[s.id] = "changed";
    }
    for (const s of graphA.states) {
      if (b.states.has(s.id)) continue;
      status.states[s.id] = "removed";
      const copy = Object.assign({}, s, { children: s.children.filter((c) => !b.states.has(c)) });
      byId.set(s.id, copy);
      states.push(copy);
    }
    // Attach removed states under their old parent (which exists in the union).
    for (const s of graphA.states) {
      if (b.states.has(s.id) || !s.parent) continue;
      const parent = byId.get(s.parent);
      if (parent && !parent.children.includes(s.id)) parent.children.push(s.id);
    }
    const ta = transitionIdentities(graphA);
    const tb = transitionIdentities(graphB);
    const transitions = graphB.transitions.slice();
    for (const [key, t] of tb) {
      const old = ta.get(key);
      if (!old) status.transitions[t.id] = "added";
      else if (transitionKey(old) !== transitionKey(t)) status.transitions[t.id] = "changed";
    }
    for (const [key, t] of ta) {
      if (tb.has(key)) continue;
      const copy = Object.assign({}, t, { id: "old-" + t.id });
      status.transitions[copy.id] = "removed";
      transitions.push(copy);
    }
    const graph = Object.assign({}, graphB, { states: states, transitions: transitions });
    return { states: status.states, transitions: status.transitions, graph: graph };
  }

  /**
   * The coverage heat of the Tests tab and the batch page: fetches the graph JSON at `graphUrl`,
   * draws it in `el` and marks the visit counts ({states: {id: n}, transitions: {tid: n}}).
   * Sets el.dataset.heatReady = "1" when drawn; resolves to the view, or null (with a message in
   * `el`) when the graph cannot be read.
   */
  async function renderHeat(el, graphUrl, counts) {
    const answer = await window.orchweb.fetchJSON(graphUrl);
    if (!answer.ok) {
      // The server's reason (a 429 says when to retry), not just its status.
      el.textContent = "The diagram is not available: " + window.orchweb.errorText(answer);
      return null;
    }
    const graph = answer.json;
    el.textContent = "";
    const view = await render(el, graph, {});
    if (counts) view.heat(counts);
    el.dataset.heatReady = "1";
    return view;
  }

  global.Diagram = {
    render: render,
    layoutStore: layoutStore,
    renderHeat: renderHeat,
    diff: diff,
    DiagramView: DiagramView,
    MODULE_COLOURS: MODULE_COLOURS,
    transitionLabel: transitionLabel,
    elkInput: elkInput,
    layoutKey: layoutKey,
    fontTable: fontTable,
    fontsReady: fontsReady,
    reportFonts: reportFonts,
  };
})(window);
