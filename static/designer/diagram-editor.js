/*
 * Diagram editor of the draft's diagram page: the diagram becomes an editor. It hooks into the
 * view that diagram_page.js draws (window.diagramView, static/orchweb/diagram.js): clicking a
 * state or a transition selects it instead of opening its source, and the side panel shows
 *
 *   - the inspector: a state's id (rename), kind, initial child, onentry/onexit content, its
 *     extension actions and outgoing transitions; a transition's event, cond, target, type;
 *     every extension action's attributes as a form generated from the extension declarations
 *     (required/optional, expression vs literal, allowed values, help), bad values flagged;
 *   - the palette: plain states and Composer-style blocks, added inside a chosen compound state
 *     and connected from a chosen block;
 *   - the source of the edited file, kept in sync (editable: "Apply text");
 *   - lint after every edit.
 *
 * Every change is one edit operation of the API (data-edit-url, designer/authoring_api.py): the
 * server changes only the bytes it must and answers the new text and lint. Undo/redo
 * (Ctrl-Z / Ctrl-Shift-Z, or the buttons) restore the texts kept here, so they are edits too.
 *
 * Readiness for tests: body.dataset.editorReady = "1" once loaded; body.dataset.editCount counts
 * applied edits; body.dataset.editError holds the last refusal ("" when the last edit applied).
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const panel = $("authoring");
  const diagramEl = $("diagram");
  if (!panel || !diagramEl) return;
  const body = document.body;
  const urls = {
    edit: panel.dataset.editUrl,
    palette: panel.dataset.paletteUrl,
    graph: diagramEl.dataset.graphUrl,
    layout: panel.dataset.layoutUrl,
  };
  const SCXML_NS = "http://www.w3.org/2005/07/scxml";
  const STATE_KINDS = ["state", "parallel", "final", "history"];

  const files = new Map(); // path -> {text, sha, ids: [local state ids], doc}
  const history = { undo: [], redo: [] };
  let graph = null;
  let palette = { blocks: [], extensions: [] };
  let selection = null; // {type: "state"|"transition", file, line, tag, id?}
  let currentPath = panel.dataset.entry || "";
  let edits = 0;
  let layout = { files: {} }; // the sidecar .orchweb/layout.json: {files: {path: {local id: {x, y}}}}

  /* ---------- small DOM helpers ---------- */

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function field(label, input, help) {
    return h("label", { class: "au-field", title: help || null }, h("span", { text: label }), input);
  }

  function select(id, options, value, attrs) {
    const s = h("select", Object.assign({ id: id }, attrs || {}));
    for (const o of options) {
      const [v, label] = Array.isArray(o) ? o : [o, o === "" ? "(none)" : o];
      const opt = h("option", { value: v, text: label });
      if (v === value) opt.selected = true;
      s.append(opt);
    }
    return s;
  }

  function message(text, kind) {
    const box = $("authoring-message");
    box.textContent = text || "";
    box.className = "designer-message" + (kind ? " " + kind : "");
    box.hidden = !text;
  }

  /* ---------- files and graph ---------- */

  function parseFile(path, text, sha) {
    const doc = new DOMParser().parseFromString(text, "application/xml");
    const ids = [];
    if (!doc.getElementsByTagName("parsererror").length) {
      for (const el of doc.getElementsByTagNameNS(SCXML_NS, "*")) {
        if (STATE_KINDS.includes(el.localName) && el.getAttribute("id")) ids.push(el.getAttribute("id"));
      }
    }
    files.set(path, { text: text, sha: sha, ids: ids, doc: doc });
  }

  async function loadFile(path) {
    if (files.has(path)) return files.get(path);
    const u = new URL(urls.edit, window.location.href);
    u.searchParams.set("path", path);
    const answer = await window.orchweb.getJSON(u.pathname + u.search);
    parseFile(path, answer.text, answer.sha256);
    renderLint(answer.lint);
    return files.get(path);
  }

  /** The id a graph state has in its own file (included files are prefixed by their resolveid). */
  function localId(s) {
    const f = files.get(s.file);
    if (!f) return s.id;
    if (f.ids.includes(s.id)) return s.id;
    let best = null;
    for (const id of f.ids) if (s.id.endsWith("." + id) && (!best || id.length > best.length)) best = id;
    return best || s.id;
  }

  function graphState(sel) {
    return graph.states.find((s) => s.file === sel.file && (s.line === sel.line || localId(s) === sel.id));
  }

  async function redraw() {
    graph = await window.orchweb.getJSON(urls.graph);
    const view = window.diagramView;
    const drawnBefore = view.stateEls.size;
    // Index the new graph with the module's own code, then lay the existing view out again so
    // the page's toolbar (search, fit, zoom) keeps working on it.
    const scratch = new Diagram.DiagramView(document.createElement("div"), graph, {});
    view.graph = graph;
    view.idx = scratch.idx;
    await view.layout();
    if (drawnBefore < 4) view.initialView(); // a strategy taking shape: keep it in view
    const paths = new Set(graph.states.map((s) => s.file).filter(Boolean));
    await Promise.all(Array.from(paths).map((p) => loadFile(p).catch(() => null)));
    restoreSelection();
  }

  /* ---------- edits, undo, redo ---------- */

  async function apply(path, op, opts) {
    const options = opts || {};
    const f = await loadFile(path);
    const answer = await window.orchweb.fetchJSON(urls.edit, {
      method: "POST",
      body: Object.assign({ path: path, base_sha256: f.sha }, op),
    });
    if (!answer.ok) {
      body.dataset.editError = window.orchweb.errorText(answer);
      if (!(answer.status === 409 && answer.json.incoming)) message(body.dataset.editError, "error");
      return answer;
    }
    body.dataset.editError = "";
    message("");
    if (options.record !== false) {
      history.undo.push({ path: path, before: f.text, after: answer.json.text });
      history.redo = [];
    }
    parseFile(path, answer.json.text, answer.json.sha256);
    currentPath = path;
    renderLint(answer.json.lint);
    if (answer.json.info && answer.json.info.id && selection && options.follow) selection.id = answer.json.info.id;
    await redraw();
    renderSource();
    updateHistoryButtons();
    body.dataset.editCount = String(++edits);
    return answer;
  }

  // Undo and redo are one move: restore the step's text (before or after it), and the step goes
  // to the other stack when that worked, back where it was when it did not.
  async function replay(from, to, text) {
    const step = history[from].pop();
    if (!step) return;
    const answer = await apply(step.path, { op: "restore", text: step[text] }, { record: false });
    history[answer.ok ? to : from].push(step);
    updateHistoryButtons();
  }

  function undo() {
    return replay("undo", "redo", "before");
  }

  function redo() {
    return replay("redo", "undo", "after");
  }

  function updateHistoryButtons() {
    $("authoring-undo").disabled = !history.undo.length;
    $("authoring-redo").disabled = !history.redo.length;
  }

  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return; // their own keys
    if (ev.key === "Delete" && selection) {
      ev.preventDefault();
      const button = $(selection.type === "state" ? "inspector-delete" : "inspector-transition-delete");
      if (button) button.click();
      return;
    }
    if (!(ev.ctrlKey || ev.metaKey) || ev.key.toLowerCase() !== "z") return;
    ev.preventDefault();
    if (ev.shiftKey) redo();
    else undo();
  });

  /* ---------- lint and source ---------- */

  function renderLint(findings) {
    const lintPanel = $("lint-panel");
    if (lintPanel && window.Lint) Lint.renderPanel(lintPanel, findings || [], { hrefFor: () => "#" });
    body.dataset.lintReady = "1";
    body.dataset.lintErrors = String((findings || []).filter((f) => f.severity === "error").length);
  }

  function renderSource() {
    const f = files.get(currentPath);
    $("authoring-source-path").textContent = currentPath;
    $("authoring-source").value = f ? f.text : "";
  }

  /* ---------- selection and inspector ---------- */

  function restoreSelection() {
    if (!selection) return renderInspector();
    if (selection.type === "state") {
      const s = graphState(selection);
      if (!s) selection = null;
      else selection = { type: "state", file: s.file, line: s.line, tag: s.kind, id: localId(s), graphId: s.id };
    } else {
      const t = graph.transitions.find((x) => x.file === selection.file && x.line === selection.line);
      if (!t) selection = null;
      else selection.graphId = t.id;
    }
    renderInspector();
  }

  function selectState(s) {
    if (s.kind === "initial" || dragging) return;
    selection = { type: "state", file: s.file, line: s.line, tag: s.kind, id: localId(s), graphId: s.id };
    if (s.file) currentPath = s.file;
    renderSource();
    renderInspector();
  }

  function selectTransition(t) {
    if (dragging) return;
    selection = { type: "transition", file: t.file, line: t.line, tag: "transition", graphId: t.id };
    if (t.file) currentPath = t.file;
    renderSource();
    renderInspector();
  }

  function mark() {
    const view = window.diagramView;
    if (!view) return;
    // The selected state is marked as the view's "active" state (nothing else is active while editing).
    view.highlight(selection && selection.type === "state" ? [selection.graphId] : []);
    const els = selection && selection.type === "transition" ? view.edgeEls.get(selection.graphId) || [] : [];
    for (const el of view.svg.querySelectorAll(".dg-selected")) el.classList.remove("dg-selected");
    for (const el of els) el.classList.add("dg-selected");
    drawHandle(view, els);
  }

  /* ---------- drag handles: new transition from a state, retarget a transition's end ---------- */

  let dragging = false;
  const SVG = "http://www.w3.org/2000/svg";

  function svgNode(tag, attrs, parent) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    parent.appendChild(node);
    return node;
  }

  /** Where the handle goes: a state's right edge, or the end of a transition's first path. */
  function handlePoint(view, els) {
    if (selection && selection.type === "state") {
      const g = view.stateEls.get(selection.graphId);
      const shape = g && g.querySelector(".dg-shape");
      if (!shape) return null;
      const b = shape.getBBox();
      return { x: b.x + b.width, y: b.y + Math.min(b.height / 2, 11), mode: "new" };
    }
    const path = els.map((el) => el.querySelector && el.querySelector("path.dg-edge")).find(Boolean);
    if (!path) return null;
    const numbers = (path.getAttribute("d") || "").match(/-?\d+(\.\d+)?/g) || [];
    if (numbers.length < 2) return null;
    return { x: Number(numbers[numbers.length - 2]), y: Number(numbers[numbers.length - 1]), mode: "retarget" };
  }

  function drawHandle(view, els) {
    for (const old of view.viewport.querySelectorAll(".au-handle, .au-drag-line")) old.remove();
    drawMoveHandle(view);
    const point = handlePoint(view, els);
    if (!point) return;
    const handle = svgNode("circle", { class: "au-handle", cx: point.x, cy: point.y, r: 6, "data-mode": point.mode }, view.viewport);
    svgNode("title", {}, handle).textContent =
      point.mode === "new" ? "Drag to a state to add a transition" : "Drag to a state to retarget this transition";
    handle.addEventListener("pointerdown", (ev) => startDrag(ev, view, point));
  }

  /* ---------- hand-moved nodes, kept in the layout sidecar ---------- */

  function shapeBox(view, graphId) {
    return DiagramLayout.shapeBox(view, graphId);
  }

  function offsets(view) {
    return DiagramLayout.offsets(view, graph, layout);
  }

  function applyPositions(view, extra) {
    const moved = DiagramLayout.apply(view, graph, layout, extra);
    body.dataset.movedStates = String(moved);
  }

  function drawMoveHandle(view) {
    if (!selection || selection.type !== "state") return;
    const box = shapeBox(view, selection.graphId);
    if (!box) return;
    const o = offsets(view).get(selection.graphId) || { dx: 0, dy: 0 };
    const handle = svgNode("rect", { class: "au-handle au-move", x: box.x + o.dx - 5, y: box.y + o.dy - 5, width: 10, height: 10, "data-mode": "move" }, view.viewport);
    svgNode("title", {}, handle).textContent = "Drag to move this state (kept in .orchweb/layout.json)";
    handle.addEventListener("pointerdown", (ev) => startMove(ev, view, box, o));
  }

  function startMove(ev, view, box, start) {
    if (ev.button !== 0) return;
    ev.stopPropagation();
    ev.preventDefault();
    dragging = true;
    const s = graphState(selection);
    const from = toViewport(view, ev);
    const ids = graph.states.filter((x) => x.id === s.id || isDescendant(x, s.id)).map((x) => x.id);
    let delta = { dx: 0, dy: 0 };
    const move = (e) => {
      const p = toViewport(view, e);
      delta = { dx: p.x - from.x, dy: p.y - from.y };
      const o = { dx: start.dx + delta.dx, dy: start.dy + delta.dy };
      applyPositions(view, new Map(ids.map((id) => [id, o])));
    };
    const up = async () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      setTimeout(() => {
        dragging = false;
      }, 0);
      if (Math.abs(delta.dx) + Math.abs(delta.dy) < 2) return;
      const files = layout.files || (layout.files = {});
      const mine = files[s.file] || (files[s.file] = {});
      mine[DiagramLayout.localId(graph, s)] = { x: Math.round(box.x + start.dx + delta.dx), y: Math.round(box.y + start.dy + delta.dy) };
      await saveLayout();
      applyPositions(view);
      mark();
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }

  function isDescendant(s, ancestorId) {
    let p = s.parent;
    while (p) {
      if (p === ancestorId) return true;
      const parent = graph.states.find((x) => x.id === p);
      p = parent ? parent.parent : null;
    }
    return false;
  }

  async function saveLayout() {
    const answer = await window.orchweb.fetchJSON(urls.layout, { method: "PUT", body: layout });
    if (!answer.ok) message("The layout was not saved: " + window.orchweb.errorText(answer), "error");
    else layout = answer.json;
    body.dataset.layoutSaved = String(Number(body.dataset.layoutSaved || 0) + 1);
  }

  async function resetLayout() {
    if (layout.files) delete layout.files[currentPath];
    await saveLayout();
    applyPositions(window.diagramView);
    mark();
  }

  function toViewport(view, ev) {
    const r = view.svg.getBoundingClientRect();
    const t = view.transform;
    return { x: (ev.clientX - r.left - t.x) / t.k, y: (ev.clientY - r.top - t.y) / t.k };
  }

  function startDrag(ev, view, point) {
    if (ev.button !== 0) return;
    ev.stopPropagation(); // not a pan of the diagram
    ev.preventDefault();
    dragging = true;
    const line = svgNode("line", { class: "au-drag-line", x1: point.x, y1: point.y, x2: point.x, y2: point.y }, view.viewport);
    const move = (e) => {
      const p = toViewport(view, e);
      line.setAttribute("x2", p.x);
      line.setAttribute("y2", p.y);
    };
    const up = async (e) => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      line.remove();
      const under = document.elementFromPoint(e.clientX, e.clientY);
      const hit = under && under.closest && under.closest("#diagram [data-state-id]");
      setTimeout(() => {
        dragging = false;
      }, 0);
      const target = hit && graph.states.find((s) => s.id === hit.dataset.stateId);
      if (!target || !selection || target.kind === "initial") return;
      const path = selection.file;
      if (target.file !== path) {
        message("A transition can only lead to a state of the same file.", "error");
        return;
      }
      if (point.mode === "new") {
        await apply(path, { op: "add_transition", source: elementRef(selection), target: localId(target) });
      } else {
        await apply(path, { op: "retarget_transition", transition: elementRef(selection), target: localId(target) });
      }
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }

  function elementRef(sel) {
    return { line: sel.line, tag: sel.tag };
  }

  function targetOptions(path) {
    const f = files.get(path);
    return [""].concat(f ? f.ids.slice().sort() : []);
  }

  /** States a block links to or connects from: the blocks, not Composer's plumbing. */
  function blockOptions(path) {
    return targetOptions(path).filter((id) => !id.startsWith("_reserved_") && !id.startsWith("_composer_"));
  }

  function renderInspector() {
    const box = $("authoring-inspector");
    box.textContent = "";
    mark();
    body.dataset.selection = selection ? selection.type + ":" + (selection.id || selection.line) : "";
    if (!selection) {
      box.append(h("p", { class: "au-hint", text: "Select a state or a transition on the diagram to edit it." }));
      return;
    }
    if (selection.type === "state") renderStateInspector(box);
    else renderTransitionInspector(box);
  }

  function domElement(sel) {
    const f = files.get(sel.file);
    if (!f) return null;
    for (const el of f.doc.getElementsByTagNameNS(SCXML_NS, sel.tag)) {
      if (sel.id && el.getAttribute("id") === sel.id) return el;
    }
    return null;
  }

  /** The DOM element of a graph transition: the graph lists a file's transitions in document order. */
  function transitionElement(t) {
    const f = files.get(t.file);
    if (!f) return null;
    const ours = graph.transitions.filter((x) => x.file === t.file);
    const theirs = f.doc.getElementsByTagNameNS(SCXML_NS, "transition");
    if (ours.length !== theirs.length) return null;
    const order = ours.map((x, i) => [x, i]).sort((a, b) => a[0].line - b[0].line || a[1] - b[1]);
    const index = order.findIndex(([x]) => x === t);
    return index >= 0 ? theirs[index] : null;
  }

  function innerMarkup(el) {
    if (!el) return "";
    const out = [];
    for (const child of el.childNodes) out.push(new XMLSerializer().serializeToString(child));
    return out.join("").replace(/ xmlns(:\w+)?="[^"]*"/g, "").trim();
  }

  function renderStateInspector(box) {
    const s = graphState(selection);
    if (!s) return;
    if (s.kind === "scxml") {
      const kind = select("new-state-kind", STATE_KINDS.filter((k) => k !== "history"), "state");
      const nid = h("input", { id: "new-state-id", placeholder: "new state id" });
      box.append(
        h("h3", {}, "Document ", h("small", { text: s.file })),
        h("p", { class: "au-hint", text: "Add blocks from the palette, or a plain state here." }),
        h("div", { class: "au-row" }, kind, nid, h("button", { type: "button", text: "Add", onclick: () => apply(s.file, { op: "add_state", parent: { root: true }, kind: kind.value, id: nid.value.trim() }) })),
      );
      return;
    }
    const path = s.file;
    const sid = selection.id;
    const dom = domElement(selection);
    box.append(
      h("h3", {}, "State ", h("code", { id: "inspector-state-id", text: sid }), " ", h("small", { text: s.kind + " · " + path + ":" + s.line })),
    );
    const kind = select("inspector-kind", STATE_KINDS, s.kind);
    box.append(
      h(
        "div",
        { class: "au-row" },
        field("Kind", kind),
        h("button", { type: "button", id: "inspector-kind-apply", text: "Change kind", onclick: () => apply(path, { op: "set_kind", element: elementRef(selection), kind: kind.value }) }),
      ),
    );
    const renameInput = h("input", { id: "inspector-rename", value: sid, "aria-label": "New id" });
    // A Composer block (it has its App_ request object) is renamed whole by default.
    const whole = h("input", { type: "checkbox", id: "inspector-rename-block" });
    whole.checked = new RegExp("\\bApp_" + sid.replace(/[.$]/g, "\\$&") + "\\b").test((files.get(path) || {}).text || "");
    box.append(
      h(
        "div",
        { class: "au-row" },
        field("Id", renameInput),
        h("button", { type: "button", id: "inspector-rename-apply", text: "Rename", onclick: () => rename(path, sid, renameInput.value.trim(), whole.checked) }),
      ),
      h("label", { class: "au-hint", title: "also its _reserved_ helper states, App_ object, events and log lines" }, whole, " the whole block"),
    );
    const childStates = (s.children || []).map((c) => graph.states.find((x) => x.id === c)).filter((c) => c && c.kind !== "initial" && c.kind !== "history");
    if (childStates.length && dom) {
      const initial = select(
        "inspector-initial",
        [["", "(first child)"]].concat(childStates.map((c) => [localId(c), localId(c)])),
        (dom.getAttribute("initial") || "").replace("$$_MY_PREFIX_$$.", ""),
      );
      box.append(
        h(
          "div",
          { class: "au-row" },
          field("Initial", initial),
          h("button", {
            type: "button",
            text: "Set",
            onclick: () => {
              const f = files.get(path);
              const prefix = f.text.includes("$$_MY_PREFIX_$$") ? "$$_MY_PREFIX_$$." : "";
              apply(path, { op: "set_attribute", element: elementRef(selection), name: "initial", value: initial.value ? prefix + initial.value : null });
            },
          }),
        ),
      );
    }
    for (const phase of ["onentry", "onexit"]) {
      const el = dom ? Array.from(dom.children).find((c) => c.localName === phase) : null;
      const area = h("textarea", { id: "inspector-" + phase, rows: 4, spellcheck: "false" });
      area.value = innerMarkup(el);
      const shown = area.value;
      box.append(
        h(
          "details",
          { class: "au-content", open: el ? true : null },
          h("summary", { text: phase + (el ? "" : " (none)") }),
          area,
          h("button", {
            type: "button",
            text: "Apply " + phase,
            onclick: () => {
              if (area.value === shown) return message("Nothing changed in " + phase + ".");
              if (el) apply(path, { op: "set_content", element: { id: sid, child: phase }, markup: area.value });
              else if (area.value.trim()) apply(path, { op: "insert_markup", parent: { id: sid }, markup: "<" + phase + ">\n\t" + area.value.trim() + "\n</" + phase + ">" });
            },
          }),
        ),
      );
    }
    for (const a of s.actions || []) box.append(actionForm(a));
    const outgoing = graph.transitions.filter((t) => t.source === s.id);
    const list = h("ul", { class: "au-transitions", id: "inspector-transitions" });
    for (const t of outgoing) {
      list.append(
        h("li", {}, h("button", { type: "button", class: "au-link", onclick: () => selectTransition(t), text: Diagram.transitionLabel(t) || "(eventless)" }), " → " + (t.targets.join(" ") || "(targetless)")),
      );
    }
    box.append(h("h4", { text: "Outgoing transitions" }), list);
    const ev = h("input", { id: "new-transition-event", placeholder: "event" });
    const cond = h("input", { id: "new-transition-cond", placeholder: "cond" });
    const target = select("new-transition-target", targetOptions(path), "");
    box.append(
      h(
        "div",
        { class: "au-row au-wrap" },
        ev,
        cond,
        target,
        h("button", {
          type: "button",
          id: "new-transition-add",
          text: "Add transition",
          onclick: () => apply(path, { op: "add_transition", source: elementRef(selection), event: ev.value || null, cond: cond.value || null, target: target.value || null }),
        }),
      ),
    );
    if (["state", "parallel"].includes(s.kind)) {
      const kind = select("new-state-kind", STATE_KINDS, "state");
      const nid = h("input", { id: "new-state-id", placeholder: "new state id" });
      box.append(
        h("div", { class: "au-row" }, kind, nid, h("button", { type: "button", text: "Add inside", onclick: () => apply(path, { op: "add_state", parent: elementRef(selection), kind: kind.value, id: nid.value.trim() }) })),
      );
    }
    box.append(h("button", { type: "button", id: "inspector-delete", class: "danger", text: "Delete state…", onclick: () => deleteState(path, sid) }));
  }

  function renderTransitionInspector(box) {
    const t = graph.transitions.find((x) => x.id === selection.graphId);
    if (!t) return;
    const path = t.file;
    const source = graph.states.find((s) => s.id === t.source);
    box.append(h("h3", {}, "Transition ", h("small", { text: (source ? localId(source) : t.source) + " · " + path + ":" + t.line })));
    const ev = h("input", { id: "inspector-event", value: t.event || "" });
    const cond = h("input", { id: "inspector-cond", value: t.cond || "" });
    const f = files.get(path);
    const targets = t.targets.map((g) => {
      const s = graph.states.find((x) => x.id === g);
      return s ? localId(s) : g;
    });
    const target = select("inspector-target", targetOptions(path), targets[0] || "");
    const type = select("inspector-type", ["external", "internal"], t.type || "external");
    box.append(field("Event", ev), field("Cond", cond), field("Target", target), field("Type", type));
    box.append(
      h("button", {
        type: "button",
        id: "inspector-transition-apply",
        text: "Apply",
        onclick: async () => {
          const ref = elementRef(selection);
          const changes = [];
          if ((t.event || "") !== ev.value) changes.push({ op: "set_attribute", element: ref, name: "event", value: ev.value || null });
          if ((t.cond || "") !== cond.value) changes.push({ op: "set_attribute", element: ref, name: "cond", value: cond.value || null });
          if ((targets[0] || "") !== target.value) changes.push({ op: "retarget_transition", transition: ref, target: target.value || null });
          if ((t.type || "external") !== type.value) changes.push({ op: "set_attribute", element: ref, name: "type", value: type.value === "external" ? null : type.value });
          for (const op of changes) {
            const answer = await apply(path, op);
            if (!answer.ok) break;
          }
        },
      }),
      " ",
      h("button", {
        type: "button",
        id: "inspector-transition-delete",
        class: "danger",
        text: "Delete transition",
        onclick: async () => {
          const answer = await apply(path, { op: "delete_element", element: elementRef(selection) });
          if (answer.ok) {
            selection = null;
            renderInspector();
          }
        },
      }),
    );
    if (f && !f.ids.length) box.append(h("p", { class: "au-hint", text: "No states in this file to target." }));
    const dom = transitionElement(t);
    if (dom) {
      const area = h("textarea", { id: "inspector-transition-content", rows: 4, spellcheck: "false" });
      area.value = innerMarkup(dom);
      const shown = area.value; // as the browser serialises it: sent only when edited
      box.append(
        h(
          "details",
          { class: "au-content", open: area.value ? true : null },
          h("summary", { text: "executable content" }),
          area,
          h("button", {
            type: "button",
            text: "Apply content",
            onclick: () => (area.value === shown ? message("Nothing changed.") : apply(path, { op: "set_content", element: elementRef(selection), markup: area.value })),
          }),
        ),
      );
    }
    for (const a of t.actions || []) box.append(actionForm(a));
  }

  /* ---------- extension action inspector (from the declarations) ---------- */

  function declaration(a) {
    const module = palette.extensions.find((m) => m.namespaces.includes(a.namespace));
    return module ? module.actions.find((x) => x.name === a.action) : null;
  }

  /** Problems of a value against its declaration, before anything is saved. */
  function attributeProblem(decl, raw) {
    const value = raw.trim();
    if (!value) return decl.required ? "required" : "";
    const literal = decl.kind === "literal" || /^-?\d+(\.\d+)?$/.test(value) || /^'[^']*'$/.test(value);
    const plain = value.replace(/^'(.*)'$/, "$1");
    if (decl.values && literal && !decl.values.map(String).includes(plain)) return "one of " + decl.values.join(", ");
    if ((decl.type === "integer" || decl.type === "number") && /^'/.test(value)) return "a number, not a string";
    if (decl.type === "integer" && /^-?\d+\.\d+$/.test(value)) return "a whole number";
    if (decl.kind === "location" && !/^[A-Za-z_$][\w$.]*(\[[^\]]+\])*$/.test(value)) return "a variable (location)";
    return "";
  }

  /** Inputs for the declared attributes of one element (an action or one of its children). */
  function attributeFields(container, declared, attributes, ref, inputs) {
    const names = new Set(declared.map((d) => d.name));
    for (const d of declared) {
      const current = attributes[d.name] !== undefined ? attributes[d.name] : "";
      let input;
      if (d.values && d.kind === "literal") input = select(null, [""].concat(d.values.map(String)), current);
      else input = h("input", { value: current, placeholder: d.default !== null && d.default !== undefined ? "default " + JSON.stringify(d.default) : "" });
      input.name = d.name;
      const problem = h("span", { class: "au-problem" });
      const check = () => {
        problem.textContent = attributeProblem(d, input.value);
      };
      input.addEventListener("input", check);
      input.addEventListener("change", check);
      check();
      const help = [d.help, d.kind + (d.type && d.type !== "any" ? ", " + d.type : ""), d.values ? "values: " + d.values.join(", ") : ""].filter(Boolean).join(" · ");
      container.append(h("label", { class: "au-field", title: help }, h("span", { text: d.name + (d.required ? " *" : "") }), input, h("small", { class: "au-kind", text: d.kind }), problem));
      inputs.push({ decl: d, input: input, current: current, ref: ref });
    }
    for (const [name, value] of Object.entries(attributes)) {
      if (!names.has(name)) container.append(h("p", { class: "au-hint", text: name + "=" + value + " (not declared)" }));
    }
  }

  /** Fieldsets for an element's nested children (queue:targets > queue:target, param...). */
  function childFields(container, declChildren, children, inputs) {
    const seen = new Map();
    for (const child of children || []) {
      const key = child.line + ":" + child.element;
      const nth = seen.get(key) || 0;
      seen.set(key, nth + 1);
      const decl = (declChildren || []).find((c) => c.tag === child.element);
      const set = h("fieldset", { class: "au-child", "data-element": child.element }, h("legend", { text: "<" + child.element + ">" }));
      if (decl) attributeFields(set, decl.attributes, child.attributes || {}, { line: child.line, tag: child.element, nth: nth }, inputs);
      childFields(set, decl ? decl.children : [], child.children, inputs);
      if (set.children.length > 1) container.append(set);
    }
  }

  function actionForm(a) {
    const decl = declaration(a);
    const form = h("form", { class: "au-action", "data-action": (a.module || "") + ":" + a.action });
    form.append(h("h4", {}, h("span", { class: "au-badge", text: (a.module || a.namespace) + ":" + a.action }), " ", h("small", { text: a.file + ":" + a.line })));
    if (!decl) {
      form.append(h("p", { class: "au-hint", text: "No declaration for this action: edit it in the source." }));
      return form;
    }
    if (decl.help) form.append(h("p", { class: "au-hint", text: decl.help }));
    const inputs = [];
    attributeFields(form, decl.attributes, a.attributes, { line: a.line, tag: a.action }, inputs);
    childFields(form, decl.children, a.children, inputs);
    form.append(h("button", { type: "submit", text: "Apply " + a.action }));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const problems = inputs.filter((f) => attributeProblem(f.decl, f.input.value)).map((f) => f.decl.name + ": " + attributeProblem(f.decl, f.input.value));
      if (problems.length) {
        message("Not saved: " + problems.join("; "), "error");
        body.dataset.editError = problems.join("; ");
        return;
      }
      for (const f of inputs) {
        if (f.input.value === f.current) continue;
        const answer = await apply(a.file, { op: "set_attribute", element: f.ref, name: f.decl.name, value: f.input.value === "" ? null : f.input.value });
        if (!answer.ok) break;
      }
    });
    return form;
  }

  /* ---------- rename / delete ---------- */

  async function rename(path, sid, newId, block) {
    if (!newId || newId === sid) return;
    const answer = await apply(path, { op: "rename_state", element: elementRef(selection), new_id: newId, block: !!block });
    if (answer.ok && selection) {
      selection.id = newId;
      restoreSelection();
    }
  }

  async function deleteState(path, sid) {
    const dialog = $("authoring-delete");
    const answer = await apply(path, { op: "delete_state", element: elementRef(selection) });
    if (answer.ok) {
      selection = null;
      renderInspector();
      return;
    }
    if (!(answer.status === 409 && answer.json.incoming)) return;
    const list = $("authoring-delete-list");
    list.textContent = "";
    for (const t of answer.json.incoming) {
      list.append(h("li", { text: (t.source || "?") + ": " + (t.event || "(eventless)") + (t.cond ? " [" + t.cond + "]" : "") + " → " + t.target + " (line " + t.line + ")" }));
    }
    $("authoring-delete-state").textContent = sid;
    const to = $("authoring-delete-to");
    to.textContent = "";
    for (const id of targetOptions(path).filter((x) => x && x !== sid)) to.append(h("option", { value: id, text: id }));
    dialog.dataset.path = path;
    dialog.showModal();
  }

  function bindDeleteDialog() {
    const dialog = $("authoring-delete");
    const finish = async (incoming) => {
      const op = { op: "delete_state", element: elementRef(selection), incoming: incoming };
      if (incoming === "retarget") op.to = $("authoring-delete-to").value;
      dialog.close();
      const answer = await apply(dialog.dataset.path, op);
      if (answer.ok) {
        selection = null;
        renderInspector();
      }
    };
    $("authoring-delete-transitions").addEventListener("click", () => finish("delete"));
    $("authoring-delete-retarget").addEventListener("click", () => finish("retarget"));
    $("authoring-delete-cancel").addEventListener("click", () => dialog.close());
  }

  /* ---------- palette ---------- */

  function compoundOptions(path) {
    const f = files.get(path);
    const out = [["", "(default: the workflow)"]];
    if (!f) return out;
    for (const el of f.doc.getElementsByTagNameNS(SCXML_NS, "*")) {
      if ((el.localName === "state" || el.localName === "parallel") && el.getAttribute("id") && !el.getAttribute("id").startsWith("_reserved_")) {
        out.push([el.getAttribute("id"), el.getAttribute("id")]);
      }
    }
    return out;
  }

  function paramInput(p, path, prefix) {
    const id = prefix + p.name;
    if (p.type === "choice") return select(id, p.choices, p.default || p.choices[0]);
    if (p.type === "bool") {
      const c = h("input", { type: "checkbox", id: id });
      c.checked = p.default !== false;
      return c;
    }
    if (p.type === "target") return select(id, blockOptions(path), "");
    if (p.type === "script") return h("textarea", { id: id, rows: 4, spellcheck: "false" });
    return h("input", { id: id, value: p.default !== null && p.default !== undefined ? String(p.default) : "", type: p.type === "int" ? "number" : "text" });
  }

  function readParam(p, input) {
    if (p.type === "bool") return input.checked;
    if (p.type === "int") return input.value === "" ? null : Number(input.value);
    return input.value === "" ? null : input.value;
  }

  function rowsEditor(p, path, prefix) {
    const wrap = h("div", { class: "au-rows", id: prefix + p.name });
    const rows = [];
    const add = () => {
      const index = rows.length;
      const cells = p.fields.map((f) => {
        const input = paramInput(f, path, prefix + p.name + "-" + index + "-");
        input.setAttribute("aria-label", f.label);
        input.setAttribute("placeholder", f.label);
        return [f, input];
      });
      rows.push(cells);
      wrap.insertBefore(h("div", { class: "au-row" }, cells.map(([, input]) => input)), addButton);
    };
    const addButton = h("button", { type: "button", class: "au-link", id: prefix + p.name + "-add", text: "+ " + p.label.toLowerCase().replace(/s$/, ""), onclick: add });
    wrap.append(addButton);
    wrap.read = () => rows.map((cells) => Object.fromEntries(cells.map(([f, input]) => [f.name, readParam(f, input)]))).filter((r) => Object.values(r).some((v) => v !== null && v !== ""));
    return wrap;
  }

  function openBlock(block) {
    const box = $("authoring-block-form");
    box.textContent = "";
    const path = currentPath;
    const prefix = "block-" + block.kind + "-";
    const form = h("form", { class: "au-block-form", "data-block": block.kind });
    form.append(h("h4", { text: block.label }), h("p", { class: "au-hint", text: block.help }));
    const readers = [];
    for (const p of block.params) {
      if (p.type === "rows") {
        const rows = rowsEditor(p, path, prefix);
        form.append(h("fieldset", {}, h("legend", { text: p.label }), rows));
        readers.push([p, () => rows.read()]);
      } else {
        const input = paramInput(p, path, prefix);
        form.append(field(p.label + (p.required ? " *" : ""), input, p.help));
        readers.push([p, () => readParam(p, input)]);
      }
    }
    const selected = selection && selection.type === "state" && selection.file === path ? selection.id : "";
    const inside = select(prefix + "parent", compoundOptions(path), selectedContainer(path));
    const from = select(prefix + "connect", blockOptions(path), selected);
    form.append(field("Inside", inside, "compound state the block goes in"), field("Connect from", from, "block whose free output leads to this one"));
    form.append(h("button", { type: "submit", id: prefix + "add", text: "Add " + block.label }));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const params = {};
      for (const [p, read] of readers) {
        const v = read();
        if (v !== null && !(Array.isArray(v) && !v.length)) params[p.name] = v;
      }
      const op = { op: "add_block", block: block.kind, params: params };
      if (inside.value) op.parent = { id: inside.value };
      if (from.value) op.connect_from = from.value;
      const answer = await apply(path, op);
      if (answer.ok) {
        box.textContent = "";
        selection = { type: "state", file: path, tag: block.kind === "disconnect" ? "final" : "state", id: answer.json.info.id, line: -1 };
        restoreSelection();
      }
    });
    box.append(form);
    const first = form.querySelector("input, select, textarea");
    if (first) first.focus();
  }

  /** The selected state when it is a compound state of the author's (not a block's helper). */
  function selectedContainer(path) {
    if (!selection || selection.type !== "state" || selection.file !== path) return "";
    const s = graphState(selection);
    if (!s || !["state", "parallel"].includes(s.kind)) return "";
    const kids = (s.children || []).map((c) => graph.states.find((x) => x.id === c)).filter((c) => c && c.kind !== "initial");
    return kids.length && !kids.some((c) => localId(c).startsWith("_reserved_")) ? selection.id : "";
  }

  function openPlainState(kind) {
    const box = $("authoring-block-form");
    box.textContent = "";
    const path = currentPath;
    const prefix = "plain-" + kind + "-";
    const form = h("form", { class: "au-block-form", "data-block": kind });
    const id = h("input", { id: prefix + "id" });
    const inside = select(prefix + "parent", [["", "(the document)"]].concat(compoundOptions(path).slice(1)), selectedContainer(path));
    const initial = h("input", { type: "checkbox", id: prefix + "initial" });
    form.append(
      h("h4", { text: "New " + kind }),
      field("Id *", id),
      field("Inside", inside),
      h("label", {}, initial, " initial state of its parent"),
      h("button", { type: "submit", id: prefix + "add", text: "Add " + kind }),
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const op = { op: "add_state", kind: kind, id: id.value.trim(), initial: initial.checked };
      op.parent = inside.value ? { id: inside.value } : { root: true };
      const answer = await apply(path, op);
      if (answer.ok) box.textContent = "";
    });
    box.append(form);
    id.focus();
  }

  function renderPalette() {
    const box = $("authoring-palette");
    box.textContent = "";
    for (const kind of STATE_KINDS) {
      box.append(h("button", { type: "button", class: "au-block au-plain", "data-block": "plain-" + kind, title: "A plain <" + kind + ">", text: kind, onclick: () => openPlainState(kind) }));
    }
    for (const block of palette.blocks) {
      box.append(h("button", { type: "button", class: "au-block", "data-block": block.kind, title: block.help, text: block.label, onclick: () => openBlock(block) }));
    }
  }

  /* ---------- start ---------- */

  async function waitForView() {
    for (let i = 0; i < 600 && !window.diagramView; i++) await new Promise((r) => setTimeout(r, 50));
    return window.diagramView;
  }

  async function main() {
    bindDeleteDialog();
    $("authoring-undo").addEventListener("click", undo);
    $("authoring-redo").addEventListener("click", redo);
    $("authoring-source-apply").addEventListener("click", () => apply(currentPath, { op: "restore", text: $("authoring-source").value }));
    updateHistoryButtons();
    try {
      palette = await window.orchweb.getJSON(urls.palette);
    } catch (err) {
      message("The palette is unavailable: " + err.message, "error");
    }
    renderPalette();
    const view = await waitForView();
    if (!view) {
      message("The diagram could not be drawn; edit the source instead.", "error");
      return;
    }
    graph = view.graph;
    try {
      layout = await window.orchweb.getJSON(urls.layout);
    } catch (err) {
      layout = { files: {} };
    }
    // Every layout (ours after an edit, the toolbar's collapse/expand) puts moved states back.
    const autoLayout = view.layout.bind(view);
    view.layout = async () => {
      await autoLayout();
      applyPositions(view);
      mark();
      return view;
    };
    $("authoring-layout-reset").addEventListener("click", resetLayout);
    view.opts.onStateClick = selectState;
    view.opts.onEdgeClick = selectTransition;
    const paths = new Set(graph.states.map((s) => s.file).filter(Boolean));
    if (currentPath) paths.add(currentPath);
    await Promise.all(Array.from(paths).map((p) => loadFile(p).catch(() => null)));
    applyPositions(view);
    const frame = graph.states.find((s) => localId(s) === "_composer_entry");
    if (frame) currentPath = frame.file;
    renderSource();
    renderInspector();
    body.dataset.editorReady = "1";
  }

  main();
})();
