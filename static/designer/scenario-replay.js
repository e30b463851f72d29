/*
 * Scenario replay page: a read-only, rewindable view of one scenario's trace. The range input
 * picks a record: later records are dimmed, the selected one is highlighted and scrolled to, and
 * the active configuration after it is shown, as text and on the diagram (#replay-diagram,
 * data-graph-url). ?record=N (the failing record) is the start.
 */
(function () {
  "use strict";

  const range = document.getElementById("replay-record");
  const table = document.getElementById("replay-trace");
  if (!range || !table) return;
  const rows = Array.from(table.querySelectorAll("tbody tr"));
  const out = document.getElementById("replay-record-value");
  const config = document.getElementById("replay-configuration");
  const diagramEl = document.getElementById("replay-diagram");
  let view = null;

  function show(seq, scroll) {
    let configuration = "";
    for (const row of rows) {
      const n = Number(row.dataset.seq);
      row.classList.toggle("designer-future", n > seq);
      row.classList.toggle("designer-selected", n === seq);
      if (n === seq) row.setAttribute("aria-current", "step");
      else row.removeAttribute("aria-current");
      if (n <= seq && row.dataset.configuration) configuration = row.dataset.configuration;
    }
    out.textContent = "#" + seq;
    config.textContent = configuration || "-";
    if (view) view.highlight(configuration ? configuration.split(" ") : []);
    const selected = rows.find((r) => Number(r.dataset.seq) === seq);
    if (scroll && selected) selected.scrollIntoView({ block: "center" });
  }

  async function drawDiagram() {
    if (!diagramEl || typeof Diagram === "undefined") return;
    const response = await fetch(diagramEl.dataset.graphUrl, { credentials: "same-origin" });
    if (!response.ok) {
      diagramEl.textContent = "The diagram is not available (" + response.status + ").";
      return;
    }
    diagramEl.textContent = "";
    view = await Diagram.render(diagramEl, await response.json(), {});
    show(Number(range.value), false);
    diagramEl.dataset.replayReady = "1";
  }

  range.addEventListener("input", () => show(Number(range.value), true));
  show(Number(range.value), true);
  drawDiagram();
})();
