/*
 * Visual diff page: draws version B's graph with what changed since version A coloured
 * (added green, removed red, changed amber) using Diagram.diff, plus the per-file text diff.
 *
 * Element #diagram carries data-graph-a-url, data-graph-b-url, data-source-url (version B source)
 * and optionally data-file-diff-url (API diff JSON {files: [{path, status, diff}]}), drawn in
 * #diff-files when the page has that element.
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const el = $("diagram");
  const body = document.body;

  function jump(item) {
    if (!item || !item.file || String(item.id).startsWith("old-")) return;
    const u = new URL(el.dataset.sourceUrl, window.location.href);
    u.searchParams.set("file", item.file);
    if (item.line) u.searchParams.set("line", item.line);
    window.location.href = u.pathname + u.search;
  }

  function summary(result) {
    const count = (map, kind) => Object.values(map).filter((v) => v === kind).length;
    const box = $("diff-summary");
    box.textContent = "";
    for (const kind of ["added", "removed", "changed"]) {
      const s = document.createElement("span");
      s.className = kind;
      s.dataset.kind = kind;
      s.textContent = kind + ": " + count(result.states, kind) + " state(s), " + count(result.transitions, kind) + " transition(s)";
      box.appendChild(s);
      body.dataset["diff" + kind[0].toUpperCase() + kind.slice(1)] = String(count(result.states, kind) + count(result.transitions, kind));
    }
  }

  /** Renders a unified diff text with added/removed lines marked. */
  function renderFileDiffs(files) {
    const box = $("diff-files");
    if (!box) return;
    box.textContent = "";
    const changed = (files || []).filter((f) => f.status !== "unchanged");
    if (!changed.length) box.textContent = "No file differs.";
    for (const f of changed) {
      const h = document.createElement("h3");
      h.textContent = f.path + " (" + f.status + ")";
      box.appendChild(h);
      const pre = document.createElement("pre");
      for (const line of String(f.diff || f.text || "").split("\n")) {
        const span = document.createElement("span");
        if (line.startsWith("+") && !line.startsWith("+++")) span.className = "ins";
        else if (line.startsWith("-") && !line.startsWith("---")) span.className = "del";
        span.textContent = line + "\n";
        pre.appendChild(span);
      }
      box.appendChild(pre);
    }
    body.dataset.fileDiffCount = String(changed.length);
  }

  async function main() {
    let a;
    let b;
    try {
      [a, b] = await Promise.all([window.orchweb.getJSON(el.dataset.graphAUrl), window.orchweb.getJSON(el.dataset.graphBUrl)]);
    } catch (err) {
      el.textContent = "The diagrams cannot be compared: " + err.message;
      body.dataset.diagramError = err.message;
      return;
    }
    const result = Diagram.diff(a, b);
    summary(result);
    const view = await Diagram.render(el, result.graph, { status: result, onStateClick: jump, onEdgeClick: jump });
    window.diagramView = view;
    // Open on the first change (document order): a changed state, or a changed transition's own
    // drawing (centring on its source could show only the empty frame of a large compound state).
    for (const st of result.graph.states) {
      if (result.states[st.id]) {
        view.centerOn(view._effective(st.id));
        break;
      }
      const t = result.graph.transitions.find((x) => x.source === st.id && result.transitions[x.id]);
      if (t) {
        if (!view.centerOnTransition(t.id)) view.centerOn(view._effective(st.id));
        break;
      }
    }
    if ($("diagram-fit")) $("diagram-fit").addEventListener("click", () => view.fit());
    if (el.dataset.fileDiffUrl && $("diff-files")) {
      try {
        const payload = await window.orchweb.getJSON(el.dataset.fileDiffUrl);
        renderFileDiffs(Array.isArray(payload) ? payload : payload.files);
      } catch (err) {
        $("diff-files").textContent = "File diff unavailable: " + err.message;
      }
    }
  }

  main();
})();
