/*
 * Tests tab: the scenarios' coverage on the diagram. #tests-diagram carries data-graph-url; the
 * json_script #tests-heat is designer.scenario_suite.visit_counts ({runs, states: {id: n},
 * transitions: {tid: n}}): drawn with Diagram's heat() (the more scenarios, the greener; zero =
 * never visited, outlined red).
 */
(function () {
  "use strict";

  const el = document.getElementById("tests-diagram");
  const heatEl = document.getElementById("tests-heat");
  if (!el || !heatEl) return;
  const heat = JSON.parse(heatEl.textContent);

  async function draw() {
    const response = await fetch(el.dataset.graphUrl, { credentials: "same-origin" });
    if (!response.ok) {
      el.textContent = "The diagram is not available (" + response.status + ").";
      return;
    }
    const graph = await response.json();
    el.textContent = "";
    const view = await Diagram.render(el, graph, {});
    if (heat) view.heat(heat);
    el.dataset.heatReady = "1";
  }
  draw();
})();
