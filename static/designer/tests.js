/*
 * Tests tab: the scenarios' coverage on the diagram. #tests-diagram carries data-graph-url; the
 * json_script #tests-heat is designer.scenario_suite.visit_counts ({runs, states: {id: n},
 * transitions: {tid: n}}): drawn by Diagram.renderHeat (the more scenarios, the greener; zero =
 * never visited, outlined red; el.dataset.heatReady = "1" once drawn).
 */
(function () {
  "use strict";

  const el = document.getElementById("tests-diagram");
  const heatEl = document.getElementById("tests-heat");
  if (!el || !heatEl) return;
  Diagram.renderHeat(el, el.dataset.graphUrl, JSON.parse(heatEl.textContent));
})();
