/*
 * Editor page: file tree + CodeMirror (XML/JS highlighting), lint gutter markers and panel,
 * save draft / save as new version (conflicts shown, typed text kept), add/rename/delete files,
 * deep link ?file=PATH&line=N, "show in diagram".
 *
 * Search/replace (Ctrl-F, Shift-Ctrl-F, Shift-Ctrl-R), go to line (Alt-G), completion (Ctrl-Space,
 * after "<"; static/designer/completion.js) and block snippets ("Insert block").
 *
 * Page data (json_script "editor-data", built by designer.views): {mode, readOnly, label, entry,
 *   files: {path: text|null}, urls: {self, editor, diagram, graph, lint, page, palette?, edit?, writeFile?
 *   (POST {path, content}: new file), fileUrls? ({path: url}, PUT {content}: existing file),
 *   renameFile? (POST {path, new_path}), deleteFile? (POST {path}), setEntry? (POST {path}),
 *   saveVersion? (POST {message}; 201 version JSON, 409 {detail, latest} on a stale parent),
 *   rebase? (POST: keep the draft's files, base it on the latest version)}}
 * Every URL comes from the server; the page only adds query parameters (?file, ?line, ?state).
 * Readiness flags on <body>: editorReady, currentFile, currentLine, lintReady, lintCount, saveState.
 */
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("editor-data").textContent);
  const urls = data.urls || {};
  const body = document.body;
  const $ = (id) => document.getElementById(id);

  const docs = new Map(); // path -> {doc, clean generation}
  let current = null;
  let findings = [];
  let jumpMark = null;

  function modeFor(path) {
    if (/\.(js)$/i.test(path)) return "javascript";
    if (/\.(json)$/i.test(path)) return { name: "javascript", json: true };
    if (/\.(scxml|xml|svg|html?)$/i.test(path)) return "xml";
    return null;
  }

  const cm = CodeMirror($("editor-code"), {
    value: "",
    lineNumbers: true,
    readOnly: Boolean(data.readOnly),
    styleActiveLine: true,
    gutters: ["CodeMirror-lint-markers", "CodeMirror-linenumbers"],
    lint: { getAnnotations: () => (current ? Lint.annotations(findings, current, CodeMirror) : []), lintOnChange: false },
    indentUnit: 2,
    tabSize: 4,
  });

  for (const [path, text] of Object.entries(data.files || {})) {
    addDoc(path, text == null ? "(binary file: not editable here)" : text);
    if (text == null) docs.get(path).binary = true;
  }

  /** The file's dominant line ending, kept on save (Composer files use CRLF, often mixed with LF). */
  function lineEnding(text) {
    const crlf = (text.match(/\r\n/g) || []).length;
    const lf = (text.match(/\n/g) || []).length - crlf;
    return crlf > lf ? "\r\n" : "\n";
  }

  function addDoc(path, text) {
    const doc = CodeMirror.Doc(text, modeFor(path));
    // CodeMirror splits lines on any line break; remember each original line's own terminator
    // (by line handle, which survives edits elsewhere) so saving rewrites only the edited lines.
    const ends = new WeakMap();
    (text.match(/\r\n|\n|\r/g) || []).forEach((end, i) => ends.set(doc.getLineHandle(i), end));
    const tabbed = (text.match(/^\t/gm) || []).length > (text.match(/^ {2}/gm) || []).length;
    docs.set(path, { doc: doc, clean: doc.changeGeneration(), eol: lineEnding(text), ends: ends, tabs: tabbed });
    doc.on("change", () => markDirty(path));
  }

  /** The document's text with the original line terminators (new lines get the dominant one). */
  function textOf(d) {
    const parts = [];
    const last = d.doc.lineCount() - 1;
    let i = 0;
    d.doc.eachLine((handle) => {
      parts.push(handle.text);
      if (i++ < last) parts.push((d.ends && d.ends.get(handle)) || d.eol);
    });
    return parts.join("");
  }

  function isDirty(path) {
    const d = docs.get(path);
    return d ? !d.doc.isClean(d.clean) : false;
  }

  function dirtyPaths() {
    return Array.from(docs.keys()).filter(isDirty);
  }

  function markDirty(path) {
    const a = document.querySelector('.editor-files a[data-path="' + CSS.escape(path) + '"]');
    if (a) a.classList.toggle("dirty", isDirty(path));
    body.dataset.dirty = String(dirtyPaths().length);
    markLintStale();
  }

  /**
   * Lint runs on the saved draft (server side), so while edits are unsaved the panel may say
   * "No problems found" about text that has an error: say so in the panel.
   */
  function markLintStale() {
    const panel = $("lint-panel");
    if (!panel || data.readOnly) return;
    const stale = dirtyPaths().length > 0;
    let note = panel.querySelector(".lint-stale");
    if (stale && !note) {
      note = document.createElement("p");
      note.className = "lint-stale";
      note.textContent = "Unsaved changes: these results are for the last saved draft. Save the draft (Ctrl-S) to check your edits.";
      const heading = panel.querySelector("h2");
      if (heading) heading.after(note);
      else panel.prepend(note);
    } else if (!stale && note) {
      note.remove();
    }
    panel.dataset.stale = stale ? "1" : "0";
  }

  /* ---------- messages ---------- */

  /** Shows a message; `link` adds {href, text}, `action` adds a button {text, run}. */
  function say(kind, message, link, action) {
    const el = $("editor-message");
    el.textContent = message;
    el.className = "designer-message " + kind;
    el.hidden = false;
    el.dataset.kind = kind;
    if (link) {
      const a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      el.append(" ", a);
    }
    if (action) {
      const b = document.createElement("button");
      b.type = "button";
      b.id = "editor-message-action";
      b.textContent = action.text;
      b.addEventListener("click", action.run);
      el.append(" ", b);
    }
  }

  /* ---------- file tree ---------- */

  function renderTree() {
    const root = $("editor-tree");
    root.textContent = "";
    const counts = Lint.countByFile(findings);
    const tree = {};
    for (const path of Array.from(docs.keys()).sort()) {
      let node = tree;
      const parts = path.split("/");
      parts.slice(0, -1).forEach((p) => (node = node[p + "/"] = node[p + "/"] || {}));
      node[parts[parts.length - 1]] = path;
    }
    const build = (node, ul) => {
      const names = Object.keys(node).sort((a, b) => (b.endsWith("/") - a.endsWith("/")) || a.localeCompare(b));
      for (const name of names) {
        const li = document.createElement("li");
        if (typeof node[name] === "string") {
          const path = node[name];
          const a = document.createElement("a");
          a.href = withParams(urls.self, { file: path });
          a.dataset.path = path;
          a.textContent = name;
          a.title = path;
          if (path === data.entry) {
            a.title = path + " (entry document)";
            a.classList.add("entry");
          }
          if (path === current) a.classList.add("current");
          if (isDirty(path)) a.classList.add("dirty");
          if (counts[path]) {
            const c = document.createElement("span");
            c.className = "lint-count";
            c.textContent = " (" + counts[path] + ")";
            a.appendChild(c);
          }
          a.addEventListener("click", (ev) => {
            ev.preventDefault();
            openFile(path);
          });
          li.appendChild(a);
        } else {
          const span = document.createElement("div");
          span.className = "dir";
          span.textContent = name;
          li.appendChild(span);
          const sub = document.createElement("ul");
          build(node[name], sub);
          li.appendChild(sub);
        }
        ul.appendChild(li);
      }
    };
    const ul = document.createElement("ul");
    build(tree, ul);
    root.appendChild(ul);
  }

  /* ---------- URLs: only query parameters are added to server-given URLs ---------- */

  function withParams(base, params) {
    const u = new URL(base || window.location.href, window.location.href);
    for (const k of ["file", "line", "state"]) u.searchParams.delete(k);
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) u.searchParams.set(k, v);
    return u.pathname + u.search;
  }

  /* ---------- open / jump ---------- */

  function openFile(path, line) {
    const d = docs.get(path);
    if (!d) {
      say("error", "No file " + path + " in " + data.label + ".");
      return false;
    }
    if (current !== path) {
      cm.swapDoc(d.doc);
      cm.setOption("indentWithTabs", d.tabs); // follow the file's indentation style
      cm.setOption("readOnly", Boolean(data.readOnly || d.binary));
      current = path;
      $("editor-current").textContent = path;
      renderTree();
      cm.performLint();
    }
    body.dataset.currentFile = path;
    if (line) jumpTo(line);
    else body.dataset.currentLine = "";
    syncLocation();
    return true;
  }

  /** Keeps ?file=&line= in the address bar and on the "edit in my draft" link. */
  function syncLocation() {
    const line = body.dataset.currentLine || null;
    history.replaceState(null, "", withParams(window.location.href, { file: current, line: line }));
    const edit = $("edit-in-draft");
    if (edit && urls.edit) edit.href = withParams(urls.edit, { file: current, line: line });
  }

  function jumpTo(line) {
    const n = Math.max(0, Math.min(cm.lineCount() - 1, line - 1));
    // The mark may belong to another file's document: remove it through that document.
    if (jumpMark) jumpMark.doc.removeLineClass(jumpMark.handle, "wrap", "cm-jump-line");
    jumpMark = { doc: cm.getDoc(), handle: cm.addLineClass(n, "wrap", "cm-jump-line") };
    cm.setCursor({ line: n, ch: 0 });
    cm.scrollIntoView({ line: n, ch: 0 }, cm.getScrollInfo().clientHeight / 2);
    cm.focus();
    body.dataset.currentLine = String(n + 1);
  }

  /* ---------- lint ---------- */

  async function refreshLint() {
    if (!urls.lint) return;
    if (!data.entry) {
      // Nothing to lint before the project has an entry document (its first .scxml becomes it).
      findings = [];
      $("lint-panel").textContent = "Lint: no entry document yet; add a .scxml file.";
      body.dataset.lintReady = "1";
      return;
    }
    body.dataset.lintReady = "0";
    try {
      const payload = await window.orchweb.getJSON(urls.lint);
      findings = Array.isArray(payload) ? payload : payload.findings || [];
    } catch (err) {
      findings = [];
      $("lint-panel").textContent = "Lint unavailable: " + err.message;
      body.dataset.lintReady = "1";
      return;
    }
    Lint.renderPanel($("lint-panel"), findings, {
      hrefFor: (f) => withParams(urls.self, { file: f.file, line: f.line }),
      onSelect: (f) => openFile(f.file, f.line),
    });
    renderTree();
    cm.performLint();
    markLintStale();
    body.dataset.lintCount = String(findings.length);
    body.dataset.lintReady = "1";
  }

  /* ---------- server calls ---------- */

  const post = (url, payload) => window.orchweb.fetchJSON(url, { method: "POST", body: payload });
  const put = (url, payload) => window.orchweb.fetchJSON(url, { method: "PUT", body: payload });
  const errorText = window.orchweb.errorText;

  /** Writes one file of the draft: PUT to its own URL when the server gave one, else POST. */
  function writeFile(path, content) {
    const own = (urls.fileUrls || {})[path];
    return own ? put(own, { content: content }) : post(urls.writeFile, { path: path, content: content });
  }

  /** Writes every modified file into the draft; returns false (and says why) on failure. */
  async function saveDraft() {
    body.dataset.saveState = "saving";
    for (const path of dirtyPaths()) {
      const d = docs.get(path);
      const gen = d.doc.changeGeneration();
      const res = await writeFile(path, textOf(d));
      if (!res.ok) {
        say(res.status === 409 ? "conflict" : "error", "Could not save " + path + ": " + errorText(res) + " Your text is kept in the editor.");
        body.dataset.saveState = "error";
        return false;
      }
      d.clean = gen;
      markDirty(path);
    }
    body.dataset.saveState = "saved";
    renderTree();
    await refreshLint();
    return true;
  }

  async function saveVersion(ev) {
    ev.preventDefault();
    const message = $("version-message").value.trim();
    if (!message) {
      say("error", "Write a message describing the change.");
      $("version-message").focus();
      return;
    }
    if (!(await saveDraft())) return;
    // Ask before saving a version whose lint has errors, listing them (the lint of what was just saved).
    await refreshLint();
    const errors = findings.filter((f) => f.severity === "error");
    if (errors.length) {
      const listed = errors.slice(0, 10).map((f) => "- " + (f.file || "?") + ":" + (f.line || "?") + " " + f.message);
      if (errors.length > 10) listed.push("- ... and " + (errors.length - 10) + " more");
      const question = "The draft has " + errors.length + " lint error(s):\n" + listed.join("\n") + "\n\nSave the version anyway?";
      if (!window.confirm(question)) {
        body.dataset.saveState = "cancelled";
        return say("error", "Not saved: fix the lint errors, or save again and confirm.");
      }
    }
    body.dataset.saveState = "saving";
    const res = await post(urls.saveVersion, { message: message });
    if (!res.ok) {
      // A stale parent (someone saved meanwhile) is a 409: the draft and the editor keep the text.
      const conflict = res.status === 409 && res.json.conflict === true;
      const latest = conflict && res.json.latest ? res.json.latest.label : null;
      const action =
        conflict && urls.rebase
          ? { text: "Keep my files, base the draft on " + (latest || "the latest version"), run: rebase }
          : null;
      say(conflict ? "conflict" : "error", errorText(res) + " Your text is still here in the editor.", null, action);
      body.dataset.saveState = conflict ? "conflict" : "error";
      return;
    }
    const v = res.json.version || res.json;
    const page = (v.urls && v.urls.page) || v.url;
    $("version-message").value = "";
    say("ok", "Saved as " + (v.label || "a new version") + ".", page ? { href: page, text: "Open " + (v.label || "the version") } : null);
    if (v.label) $("editor-label").textContent = "draft based on " + v.label;
    body.dataset.saveState = "version-saved";
    body.dataset.savedVersion = v.label || "";
  }

  /** After a conflict: base the draft on the latest version, keeping every file as typed. */
  async function rebase() {
    const res = await post(urls.rebase, {});
    if (!res.ok) return say("error", errorText(res));
    const base = res.json.base;
    if (base) $("editor-label").textContent = "draft based on " + base.label;
    say("ok", "Your draft is now based on " + (base ? base.label : "the latest version") + ". Review and save again.");
    body.dataset.saveState = "rebased";
  }

  async function setEntry() {
    if (!current || !urls.setEntry) return;
    const res = await post(urls.setEntry, { path: current });
    if (!res.ok) return say("error", errorText(res));
    data.entry = res.json.entry || current;
    renderTree();
    say("ok", data.entry + " is now the entry document.");
    refreshLint();
  }

  async function addFile() {
    const path = (window.prompt("Path of the new file (e.g. src-gen/NewFlow.scxml or include/user/helpers.js):") || "").trim();
    if (!path) return;
    if (docs.has(path)) return say("error", path + " already exists.");
    // An empty new .scxml becomes an ORS document on the server (one template: designer.authoring.blocks.new_document).
    const res = await post(urls.writeFile, { path: path, content: "" });
    if (!res.ok) return say("error", errorText(res));
    if (res.json.url) urls.fileUrls = Object.assign(urls.fileUrls || {}, { [res.json.path || path]: res.json.url });
    let content = "";
    if (res.json.size && res.json.url) {
      try {
        content = (await window.orchweb.getJSON(res.json.url)).content || "";
      } catch (err) {
        return say("error", "Added " + path + " but could not read it back: " + err.message);
      }
    }
    addDoc(res.json.path || path, content);
    // The first document an empty draft gets becomes its entry (the server chose it).
    if (res.json.entry && !data.entry) data.entry = res.json.entry;
    openFile(res.json.path || path);
    say("ok", "Added " + (res.json.path || path) + ".");
    refreshLint();
  }

  async function renameFile() {
    if (!current) return;
    const target = (window.prompt("New path for " + current + ":", current) || "").trim();
    if (!target || target === current) return;
    if (isDirty(current) && !(await saveDraft())) return;
    const res = await post(urls.renameFile, { path: current, new_path: target });
    if (!res.ok) return say("error", errorText(res));
    const d = docs.get(current);
    docs.delete(current);
    const newPath = res.json.path || target;
    docs.set(newPath, d);
    if (urls.fileUrls) {
      delete urls.fileUrls[current];
      if (res.json.url) urls.fileUrls[newPath] = res.json.url;
    }
    current = null;
    openFile(newPath);
    say("ok", "Renamed to " + newPath + ".");
    refreshLint();
  }

  async function deleteFile() {
    if (!current || !window.confirm("Delete " + current + " from the draft?")) return;
    const res = await post(urls.deleteFile, { path: current });
    if (!res.ok) return say("error", errorText(res));
    const gone = current;
    docs.delete(gone);
    current = null;
    const next = docs.has(data.entry) ? data.entry : Array.from(docs.keys())[0];
    if (next) openFile(next);
    else cm.swapDoc(CodeMirror.Doc(""));
    renderTree();
    say("ok", "Deleted " + gone + ".");
    refreshLint();
  }

  /* ---------- show in diagram ---------- */

  let graphPromise = null;
  async function showInDiagram(ev) {
    ev.preventDefault();
    if (!urls.graph || !urls.diagram) return;
    graphPromise = graphPromise || window.orchweb.getJSON(urls.graph);
    let graph;
    try {
      graph = await graphPromise;
    } catch (err) {
      graphPromise = null;
      return say("error", "Diagram unavailable: " + err.message);
    }
    const line = cm.getCursor().line + 1;
    // The state whose element starts closest above the cursor in this file (innermost wins).
    let best = null;
    for (const s of graph.states || []) {
      if (s.file === current && s.line && s.line <= line && (!best || s.line > best.line)) best = s;
    }
    for (const t of graph.transitions || []) {
      if (t.file === current && t.line && t.line <= line && (!best || t.line > best.line)) best = { id: t.source, line: t.line };
    }
    window.location.href = withParams(urls.diagram, best ? { state: best.id } : {});
  }

  /* ---------- search, go to line, completion, block snippets ---------- */

  let completion = null;

  /** Completion and snippets come from the palette API (extension declarations and blocks). */
  async function setupCompletion() {
    if (!urls.palette || !window.EditorCompletion) return;
    let palette;
    try {
      palette = await window.orchweb.getJSON(urls.palette);
    } catch (err) {
      return say("error", "Completion unavailable: " + err.message);
    }
    completion = window.EditorCompletion.create(palette);
    cm.setOption("hintOptions", { hint: (editor, options) => (modeFor(current) === "xml" ? completion.hint(editor, options) : null), completeSingle: false });
    const select = $("insert-block");
    if (select) {
      for (const b of completion.blocks) {
        const opt = document.createElement("option");
        opt.value = b.kind;
        opt.textContent = b.label;
        opt.title = b.help || "";
        select.appendChild(opt);
      }
      select.hidden = false;
      select.addEventListener("change", () => {
        if (select.value) completion.insertSnippet(cm, select.value);
        select.value = "";
      });
    }
    body.dataset.completionReady = "1";
  }

  for (const [id, command] of [
    ["editor-find", "find"],
    ["editor-replace", "replace"],
    ["editor-goto-line", "jumpToLine"],
  ]) {
    if ($(id)) $(id).addEventListener("click", () => cm.execCommand(command));
  }

  /* ---------- wire up ---------- */

  if (data.readOnly) {
    for (const id of ["save-draft", "add-file", "rename-file", "delete-file", "set-entry"]) if ($(id)) $(id).hidden = true;
    if ($("version-form")) $("version-form").hidden = true;
  } else {
    $("save-draft").addEventListener("click", async () => {
      if (await saveDraft()) say("ok", "Draft saved.");
    });
    $("version-form").addEventListener("submit", saveVersion);
    $("add-file").addEventListener("click", addFile);
    $("rename-file").addEventListener("click", renameFile);
    $("delete-file").addEventListener("click", deleteFile);
    if ($("set-entry")) $("set-entry").addEventListener("click", setEntry);
    cm.setOption("extraKeys", {
      "Ctrl-S": () => saveDraft().then((ok) => ok && say("ok", "Draft saved.")),
      "Cmd-S": () => saveDraft().then((ok) => ok && say("ok", "Draft saved.")),
      "Ctrl-Space": "autocomplete",
      "'<'": (editor) => {
        editor.replaceSelection("<");
        if (completion && modeFor(current) === "xml") editor.showHint({ completeSingle: false });
      },
    });
    setupCompletion();
    window.addEventListener("beforeunload", (ev) => {
      if (dirtyPaths().length) ev.preventDefault();
    });
  }
  if ($("show-in-diagram")) $("show-in-diagram").addEventListener("click", showInDiagram);

  const params = new URLSearchParams(window.location.search);
  const first = params.get("file") && docs.has(params.get("file")) ? params.get("file") : docs.has(data.entry) ? data.entry : Array.from(docs.keys())[0];
  renderTree();
  if (first) openFile(first, parseInt(params.get("line") || "0", 10) || null);
  if (params.get("file") && !docs.has(params.get("file"))) say("error", "No file " + params.get("file") + " in " + data.label + ".");
  body.dataset.editorReady = "1";
  refreshLint();
})();
