/*
 * Lint panel: lists findings ({rule, severity, file, line, column, message}: the Finding schema of
 * /api/schema/) as "severity file:line message",
 * each clickable. Also converts findings into CodeMirror lint annotations for one file.
 *
 *   Lint.renderPanel(el, findings, {onSelect(finding, ev), hrefFor(finding)})
 *     (findings naming a _reserved_* / _composer_* id are grouped apart, folded: Composer's plumbing)
 *   Lint.annotations(findings, file, CodeMirror) -> [{from, to, message, severity}]
 */
(function (global) {
  "use strict";

  function location(f) {
    return (f.file || "?") + (f.line ? ":" + f.line : "") + (f.column ? ":" + f.column : "");
  }

  /** Errors first, then by file and line. */
  function sorted(findings) {
    const rank = { error: 0, warning: 1 };
    return findings.slice().sort(
      (a, b) =>
        (rank[a.severity] ?? 2) - (rank[b.severity] ?? 2) ||
        String(a.file).localeCompare(String(b.file)) ||
        (a.line || 0) - (b.line || 0),
    );
  }

  /** Fills `el` with the findings list; returns the number of findings drawn. */
  function renderPanel(el, findings, opts) {
    const options = opts || {};
    el.textContent = "";
    el.classList.add("lint-panel");
    const list = findings || [];
    const errors = list.filter((f) => f.severity === "error").length;
    const h = document.createElement("h2");
    h.textContent = "Lint: " + errors + " error(s), " + (list.length - errors) + " warning(s)";
    el.appendChild(h);
    if (!list.length) {
      const ok = document.createElement("p");
      ok.className = "lint-empty";
      ok.textContent = "No problems found.";
      el.appendChild(ok);
    }
    // Findings about Composer's generated plumbing (_reserved_*, _composer_* states) would drown
    // the author's own: they go in a group of their own, folded by default.
    const own = sorted(list.filter((f) => !isGenerated(f)));
    const generated = sorted(list.filter(isGenerated));
    el.appendChild(listOf(own, options));
    if (generated.length) {
      const group = document.createElement("details");
      group.className = "lint-generated";
      const summary = document.createElement("summary");
      summary.textContent =
        generated.length + " finding(s) in Composer-generated code (_reserved_*, _composer_* states)";
      group.append(summary, listOf(generated, options));
      el.appendChild(group);
    }
    el.dataset.findingCount = String(list.length);
    el.dataset.generatedCount = String(generated.length);
    return list.length;
  }

  /** Whether a finding is about Composer's generated plumbing: it names a _reserved_/_composer_ id. */
  function isGenerated(f) {
    return GENERATED_ID.test(f.message || "");
  }
  const GENERATED_ID = /['"]([^'"]*\.)?_(reserved|composer)_[^'"]*['"]/;

  function listOf(findings, options) {
    const ul = document.createElement("ul");
    for (const f of findings) {
      const li = document.createElement("li");
      li.dataset.rule = f.rule || "";
      const a = document.createElement("a");
      a.href = options.hrefFor ? options.hrefFor(f) || "#" : "#";
      a.className = "lint-item";
      a.dataset.file = f.file || "";
      a.dataset.line = f.line || "";
      const sev = document.createElement("span");
      sev.className = "lint-severity-" + (f.severity || "warning");
      sev.textContent = f.severity || "warning";
      const loc = document.createElement("span");
      loc.className = "lint-location";
      loc.textContent = location(f);
      loc.title = location(f);
      const msg = document.createElement("span");
      msg.className = "lint-message";
      msg.textContent = (f.rule ? f.rule + ": " : "") + f.message;
      a.append(sev, loc, msg);
      if (options.onSelect) {
        a.addEventListener("click", (ev) => {
          if (ev.ctrlKey || ev.metaKey || ev.shiftKey) return; // let the browser open a new tab
          ev.preventDefault();
          options.onSelect(f, ev);
        });
      }
      li.appendChild(a);
      ul.appendChild(li);
    }
    return ul;
  }

  /** CodeMirror lint-addon annotations of the findings located in `file`. */
  function annotations(findings, file, CodeMirror) {
    const out = [];
    for (const f of findings || []) {
      if (f.file !== file || !f.line) continue;
      const line = f.line - 1;
      const ch = f.column ? f.column - 1 : 0;
      out.push({
        from: CodeMirror.Pos(line, ch),
        to: CodeMirror.Pos(line, f.column ? ch + 1 : 10000),
        message: (f.rule ? f.rule + ": " : "") + f.message,
        severity: f.severity === "error" ? "error" : "warning",
      });
    }
    return out;
  }

  /** Number of findings per file (for the file tree). */
  function countByFile(findings) {
    const counts = {};
    for (const f of findings || []) counts[f.file] = (counts[f.file] || 0) + 1;
    return counts;
  }

  global.Lint = {
    isGenerated: isGenerated,
    renderPanel: renderPanel,
    annotations: annotations,
    countByFile: countByFile,
    location: location,
  };
})(window);
