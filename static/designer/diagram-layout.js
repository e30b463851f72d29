/*
 * Hand-placed state positions on a diagram (the layout sidecar `.orchweb/layout.json` of a
 * project: {files: {path: {state id as written in that file: {x, y}}}}). The automatic layout
 * (ELK, static/orchweb/diagram.js) places every state; a state with a saved position is moved
 * there with its children, and the transitions of moved states are drawn straight.
 *
 *   DiagramLayout.apply(view, graph, layout, extra?) -> number of moved states
 *   DiagramLayout.offsets(view, graph, layout) -> Map(graph id -> {dx, dy})
 *   DiagramLayout.localId(graph, state)  // the id in its own file (included files are prefixed)
 *   DiagramLayout.follow(view, layoutUrl) // read-only pages: fetch the sidecar, keep it applied
 *
 * Used by the draft's editor (diagram-editor.js) and, read-only, by the version's diagram.
 */
(function (global) {
  "use strict";

  /** A state's id in its file: without the resolveid prefix of the include that brought it in. */
  function localId(graph, s) {
    const byId = new Map(graph.states.map((x) => [x.id, x]));
    let parent = s.parent ? byId.get(s.parent) : null;
    while (parent && parent.file === s.file) parent = parent.parent ? byId.get(parent.parent) : null;
    if (parent && s.id.startsWith(parent.id + ".")) return s.id.slice(parent.id.length + 1);
    return s.id;
  }

  function shapeBox(view, graphId) {
    const g = view.stateEls.get(graphId);
    const shape = g && g.querySelector(".dg-shape");
    return shape ? shape.getBBox() : null; // the automatic layout's box (transforms excluded)
  }

  /** Offsets of the moved states (a state moves with its moved ancestor unless placed itself). */
  function offsets(view, graph, layout) {
    const out = new Map();
    const byId = new Map(graph.states.map((s) => [s.id, s]));
    const files = (layout && layout.files) || {};
    const offsetOf = (s) => {
      if (out.has(s.id)) return out.get(s.id);
      const pos = (files[s.file] || {})[localId(graph, s)];
      const box = pos && shapeBox(view, s.id);
      let o = box ? { dx: pos.x - box.x, dy: pos.y - box.y } : null;
      if (!o) o = s.parent && byId.has(s.parent) ? offsetOf(byId.get(s.parent)) : { dx: 0, dy: 0 };
      out.set(s.id, o);
      return o;
    };
    for (const s of graph.states) offsetOf(s);
    return out;
  }

  function numbers(d) {
    return (d.match(/-?\d+(\.\d+)?/g) || []).map(Number);
  }

  /** Moves hand-placed states to their positions; `extra` overrides offsets (a drag in progress). */
  function apply(view, graph, layout, extra) {
    const moved = offsets(view, graph, layout);
    if (extra) for (const [id, o] of extra) moved.set(id, o);
    const shifted = (id) => moved.get(id) || { dx: 0, dy: 0 };
    for (const [id, g] of view.stateEls) {
      const o = shifted(id);
      if (o.dx || o.dy) g.setAttribute("transform", "translate(" + o.dx + "," + o.dy + ")");
      else g.removeAttribute("transform");
    }
    for (const t of graph.transitions) {
      const a = shifted(t.source);
      const b = shifted(t.targets[0] || t.source);
      for (const el of view.edgeEls.get(t.id) || []) {
        if (el.classList.contains("dg-internal")) continue; // drawn inside its state
        for (const path of el.querySelectorAll("path")) {
          if (!path.dataset.auto) path.dataset.auto = path.getAttribute("d");
          const n = numbers(path.dataset.auto);
          if (!(a.dx || a.dy || b.dx || b.dy) || n.length < 4) {
            path.setAttribute("d", path.dataset.auto);
          } else if (a.dx === b.dx && a.dy === b.dy) {
            const pts = [];
            for (let i = 0; i + 1 < n.length; i += 2) pts.push(n[i] + a.dx + "," + (n[i + 1] + a.dy));
            path.setAttribute("d", "M" + pts.join(" L"));
          } else {
            const end = n.length - 2;
            path.setAttribute("d", "M" + (n[0] + a.dx) + "," + (n[1] + a.dy) + " L" + (n[end] + b.dx) + "," + (n[end + 1] + b.dy));
          }
        }
        if (el.classList.contains("dg-edge-label")) {
          const dx = (a.dx + b.dx) / 2;
          const dy = (a.dy + b.dy) / 2;
          if (dx || dy) el.setAttribute("transform", "translate(" + dx + "," + dy + ")");
          else el.removeAttribute("transform");
        }
      }
    }
    return Array.from(moved.values()).filter((o) => o.dx || o.dy).length;
  }

  /** Read-only pages: fetch the sidecar (a version file) and apply it after every layout. */
  async function follow(view, layoutUrl) {
    let layout = { files: {} };
    const answer = await global.orchweb.fetchJSON(layoutUrl);
    if (answer.ok && answer.json && typeof answer.json.content === "string") {
      try {
        layout = JSON.parse(answer.json.content);
      } catch (err) {
        layout = { files: {} };
      }
    }
    const autoLayout = view.layout.bind(view);
    view.layout = async () => {
      await autoLayout();
      document.body.dataset.movedStates = String(apply(view, view.graph, layout));
      return view;
    };
    document.body.dataset.movedStates = String(apply(view, view.graph, layout));
    return layout;
  }

  global.DiagramLayout = { apply: apply, offsets: offsets, shapeBox: shapeBox, localId: localId, follow: follow };

  // The version's diagram (read-only): <div id="diagram" data-layout-url> names its sidecar file.
  const el = document.getElementById("diagram");
  if (el && el.dataset.layoutUrl) {
    (async () => {
      for (let i = 0; i < 600 && !global.diagramView; i++) await new Promise((r) => setTimeout(r, 50));
      if (global.diagramView) await follow(global.diagramView, el.dataset.layoutUrl);
      document.body.dataset.layoutReady = "1";
    })();
  }
})(window);
