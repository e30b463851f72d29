/*
 * Diagram page: draws the version's graph with Diagram (static/orchweb/diagram.js), wires the toolbar
 * (search, fit, zoom, collapse/expand all), the legend, the lint panel, and jumps to the source
 * line of a clicked state or transition. `?state=ID` selects and centres a state on load.
 *
 * Element #diagram carries data-graph-url, data-lint-url and data-source-url (all from the server).
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const el = $("diagram");
  const body = document.body;
  let view = null;

  function sourceHref(file, line) {
    const u = new URL(el.dataset.sourceUrl, window.location.href);
    u.searchParams.set("file", file);
    if (line) u.searchParams.set("line", line);
    return u.pathname + u.search;
  }

  function jump(item) {
    if (item && item.file) window.location.href = sourceHref(item.file, item.line);
  }

  function legend() {
    const box = $("diagram-legend");
    if (!box) return;
    for (const [module, colour] of Object.entries(Diagram.MODULE_COLOURS)) {
      const s = document.createElement("span");
      s.className = "swatch";
      s.style.background = colour;
      s.textContent = module;
      box.appendChild(s);
    }
    box.insertAdjacentHTML(
      "beforeend",
      '<span><span class="line-sample"></span> event [cond]</span>' +
        '<span><span class="line-sample dashed"></span> eventless</span>' +
        "<span>↺ targetless (inside the state)</span>",
    );
  }

  function showErrors(graph) {
    const box = $("diagram-errors");
    if (!box || !(graph.errors || []).length) return;
    box.hidden = false;
    box.textContent = "";
    const h = document.createElement("strong");
    h.textContent = "The document has definition errors:";
    box.appendChild(h);
    const ul = document.createElement("ul");
    for (const e of graph.errors) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = sourceHref(e.file, e.line);
      a.textContent = e.file + (e.line ? ":" + e.line : "") + " " + e.message;
      li.appendChild(a);
      ul.appendChild(li);
    }
    box.appendChild(ul);
  }

  async function loadLint() {
    const panel = $("lint-panel");
    if (!panel || !el.dataset.lintUrl) return;
    try {
      const payload = await window.orchweb.getJSON(el.dataset.lintUrl);
      const findings = Array.isArray(payload) ? payload : payload.findings || [];
      Lint.renderPanel(panel, findings, { hrefFor: (f) => (f.file ? sourceHref(f.file, f.line) : "#") });
    } catch (err) {
      panel.textContent = "Lint unavailable: " + err.message;
    }
    body.dataset.lintReady = "1";
  }

  async function main() {
    legend();
    // Picking another entry document redraws at once (a GET form: the server sets the URLs).
    const entry = $("diagram-entry-select");
    if (entry) entry.addEventListener("change", () => entry.form.requestSubmit());
    let graph;
    try {
      graph = await window.orchweb.getJSON(el.dataset.graphUrl);
    } catch (err) {
      el.textContent = "The diagram cannot be drawn: " + err.message;
      body.dataset.diagramError = err.message;
      return;
    }
    showErrors(graph);
    try {
      // A version's diagram: a stored layout (the user's or a writer's), and ELK's goes back (#diagram-layout-store).
      const store = $("diagram-layout-store") ? JSON.parse($("diagram-layout-store").textContent) : null;
      view = await Diagram.render(el, graph, { ...Diagram.layoutStore(store), onStateClick: jump, onEdgeClick: jump });
    } catch (err) {
      el.textContent = "The diagram cannot be laid out: " + err.message;
      body.dataset.diagramError = err.message;
      return;
    }
    window.diagramView = view; // handy from the browser console and for tests
    $("diagram-fit").addEventListener("click", () => view.fit());
    $("diagram-zoom-in").addEventListener("click", () => view.zoomAt(el.clientWidth / 2, el.clientHeight / 2, 1.25));
    $("diagram-zoom-out").addEventListener("click", () => view.zoomAt(el.clientWidth / 2, el.clientHeight / 2, 0.8));
    $("diagram-collapse-all").addEventListener("click", async () => {
      // Collapse the small compound states (Composer blocks: a few internal steps), keep the big ones open.
      const byId = new Map(graph.states.map((s) => [s.id, s]));
      const size = (s) => s.children.reduce((n, c) => n + 1 + (byId.has(c) ? size(byId.get(c)) : 0), 0);
      for (const s of graph.states) if (s.children.length && s.kind !== "scxml" && size(s) <= 10) view.collapsed.add(s.id);
      await view.layout();
      view.fitWidth();
    });
    $("diagram-expand-all").addEventListener("click", async () => {
      view.collapsed.clear();
      await view.layout();
      view.fitWidth();
    });
    const wanted = new URLSearchParams(window.location.search).get("state");
    if (wanted) {
      if (view.searchInput) view.searchInput.value = wanted;
      const found = await view.search(wanted);
      body.dataset.searchResult = found || "";
    }
    loadLint();
  }

  main();
})();
