#!/usr/bin/env python
"""ELK's layout time and quality for layout options (Playwright + Debian chromium): not a test.

    .venv/bin/python bench/layout.py              # the diagram's options and the alternatives below
    .venv/bin/python bench/layout.py --runs 5

For each chart (the ORS samples' documents in ../shared/ors-samples, ../shared/bench's charts and
bench/browser.py's 100-state chain), the ELK input the diagram builds (static/orchweb/diagram.js
`_elkGraph`: the same node sizes, measured in this browser) is laid out by the page's ELK worker
with each option set (the diagram's own, then each alternative on top of it), `--runs` times after
one warm-up, and the result measured:
- time: median ms of `elk.layout` (the worker's layout and the message round trip);
- crossings: pairs of edge segments of different transitions that cross (ELK's orthogonal
  routing: one horizontal, one vertical segment meeting strictly inside both);
- area: the drawing's width x height (px^2); length: the total length of the edges' segments (px).
The page is bench/browser.py's simulation page (DEBUG=0), which loads elk-api.js and diagram.js.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
SHARED = ROOT.parent / "shared"

#: alternatives, each on top of the diagram's own options (diagram.js `_elkGraph`)
OPTIONS: dict[str, dict[str, str]] = {
    "diagram (NETWORK_SIMPLEX)": {},
    "direction RIGHT (a control)": {"elk.direction": "RIGHT"},
    "thoroughness 3": {"elk.layered.thoroughness": "3"},
    "thoroughness 1": {"elk.layered.thoroughness": "1"},
    "BRANDES_KOEPF": {"elk.layered.nodePlacement.strategy": "BRANDES_KOEPF"},
    "LINEAR_SEGMENTS": {"elk.layered.nodePlacement.strategy": "LINEAR_SEGMENTS"},
    "greedy switch off": {"elk.layered.crossingMinimization.greedySwitch.type": "OFF"},
    "BRANDES_KOEPF, thoroughness 3": {
        "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
        "elk.layered.thoroughness": "3",
    },
    "in every compound: BRANDES_KOEPF": {
        "in every compound": "true",
        "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
    },
    "in every compound: thoroughness 1": {"in every compound": "true", "elk.layered.thoroughness": "1"},
    "in every compound: NETWORK_SIMPLEX": {
        "in every compound": "true",
        "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
    },
}

MEASURE = """
async ({graphs, options, runs}) => {
  const tag = document.querySelector("[data-elk-worker]");
  const elk = new ELK({ workerUrl: tag.dataset.elkWorker });
  const segmentsOf = (result) => {
    const out = [];
    const walk = (node) => {
      for (const e of node.edges || []) {
        for (const s of e.sections || []) {
          const points = [s.startPoint, ...(s.bendPoints || []), s.endPoint];
          for (let i = 1; i < points.length; i++) out.push({ edge: e.id, a: points[i - 1], b: points[i] });
        }
      }
      for (const c of node.children || []) walk(c);
    };
    walk(result);
    return out;
  };
  const crossings = (segments) => {
    const h = [], v = [];
    for (const s of segments) {
      if (Math.abs(s.a.y - s.b.y) < 0.01) h.push(s);
      else if (Math.abs(s.a.x - s.b.x) < 0.01) v.push(s);
    }
    let n = 0;
    for (const p of h) {
      const x0 = Math.min(p.a.x, p.b.x), x1 = Math.max(p.a.x, p.b.x), y = p.a.y;
      for (const q of v) {
        if (q.edge === p.edge) continue;
        const y0 = Math.min(q.a.y, q.b.y), y1 = Math.max(q.a.y, q.b.y), x = q.a.x;
        if (x > x0 + 0.5 && x < x1 - 0.5 && y > y0 + 0.5 && y < y1 - 0.5) n += 1;
      }
    }
    return n;
  };
  // The diagram's options go on ELK's root node; an option set named "in every compound: ..." is
  // also put on each compound state's node (ELK reads some options per nested graph).
  const elkInput = (box, graph, extra) => {
    const everywhere = extra["in every compound"] === "true";
    const options = Object.fromEntries(Object.entries(extra).filter(([k]) => k !== "in every compound"));
    const input = new Diagram.DiagramView(box, graph, { layoutOptions: options, searchBar: false })._elkGraph();
    const walk = (node) => {
      for (const c of node.children || []) {
        if (everywhere && c.children && c.children.length) c.layoutOptions = { ...(c.layoutOptions || {}), ...options };
        walk(c);
      }
    };
    walk(input);
    return input;
  };
  const out = [];
  for (const [chart, graph] of Object.entries(graphs)) {
    const box = document.createElement("div");
    document.body.appendChild(box);
    const rows = Object.entries(options).map(([name, extra]) => ({
      chart, name, times: [], states: graph.states.length, transitions: graph.transitions.length,
      input: elkInput(box, graph, extra),
    }));
    box.remove();
    // a warm-up round, then the option sets in turn (the worker's JIT warms up over the first runs)
    for (let i = 0; i <= runs; i++) {
      for (const row of rows) {
        const started = performance.now();
        row.result = await elk.layout(JSON.parse(JSON.stringify(row.input)));
        if (i) row.times.push(performance.now() - started);
      }
    }
    for (const row of rows) {
      const segments = segmentsOf(row.result);
      row.length = segments.reduce((n, s) => n + Math.abs(s.a.x - s.b.x) + Math.abs(s.a.y - s.b.y), 0);
      row.crossings = crossings(segments);
      row.area = row.result.width * row.result.height;
      delete row.input;
      delete row.result;
      out.push(row);
    }
  }
  return out;
}
"""


def charts() -> dict[str, dict]:
    """name -> graph JSON (designer.analysis.project_graph) of each chart measured."""
    from browser import strategy

    from designer.analysis import project_graph

    def files(folder: Path) -> dict[str, bytes]:
        return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    crd = files(SHARED / "ors-samples" / "crd-gvp-wf")
    stock = files(SHARED / "ors-samples" / "composer-stock")
    out = {
        "crd-gvp-wf IPD_default_MainWorkflow": project_graph(crd, "src-gen/IPD_default_MainWorkflow.scxml"),
        "crd-gvp-wf Survey": project_graph(crd, "src/Survey.scxml"),
        "bench chain (100 states)": project_graph({"chain.scxml": strategy(100)}, "chain.scxml"),
    }
    for name in sorted(p for p in stock if p.endswith(".scxml")):
        out["composer-stock " + Path(name).stem] = project_graph(stock, name)
    for name, graph in list(out.items()):
        if not graph["states"]:  # not a chart of its own (Survey.scxml needs what only an IPD includes)
            del out[name]
    for name in ("pingpong", "nested"):
        out["shared/bench " + name] = project_graph(
            {f"{name}.scxml": (SHARED / "bench" / f"{name}.scxml").read_bytes()}, f"{name}.scxml"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.update({"DEBUG": "0", "ORCHWEB_HTTPS": "0", "SECRET_KEY": "bench-layout-" * 5})
    import subprocess

    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)
    from browser import CHROMIUM, prepare
    from playwright.sync_api import sync_playwright

    from tests.servers import daphne_server

    with tempfile.TemporaryDirectory() as tmp:
        cookie, simulation_id, _, _, _ = prepare(Path(tmp) / "bench.sqlite3", 10)
        graphs = charts()
        load = os.getloadavg()
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.runs} runs after a warm-up, medians")
        env = {"DATABASE_URL": os.environ["DATABASE_URL"]}
        with daphne_server("bench-layout", env) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            context = browser.new_context(base_url=server.url, bypass_csp=True)
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": server.url}])
            page = context.new_page()
            page.goto(f"/simulations/{simulation_id}/")
            page.wait_for_function("document.body.dataset.simReady === '1'", timeout=60_000)
            rows = page.evaluate(MEASURE, {"graphs": graphs, "options": OPTIONS, "runs": args.runs})
            browser.close()
    base = {r["chart"]: r for r in rows if r["name"] == next(iter(OPTIONS))}
    for r in rows:
        b = base[r["chart"]]
        if r is b:
            print(f"\n{r['chart']} ({r['states']} states, {r['transitions']} transitions)")
        ms = statistics.median(r["times"])
        print(
            f"  {r['name']:32s} {ms:7.1f} ms ({ms / statistics.median(b['times']):4.2f}x)"
            f"  crossings {r['crossings']:4d}"
            f"  area {r['area'] / 1e6:6.2f} Mpx^2 ({r['area'] / b['area']:4.2f}x)"
            f"  length {r['length']:8.0f} px ({r['length'] / b['length']:4.2f}x)"
        )
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
