"""The workload build.py trains the binding's profile-guided build on (run by build.py, not imported).

    python native/quickjs/pgo_training.py DIRECTORY   # DIRECTORY holds the instrumented module

Runs the starter strategy of the repository (``designer/starters/basic``) through the ORS layer
and the engine from their sources, then, in each session before its close, a script of the
built-ins Composer's strategies lean on (objects and their shapes, JSON both ways, for-in, regular
expressions, strings, arrays, closures, exceptions, ``toSource``). Only which paths are hot
matters: a compiler's guesses, not a result, come out of it, so nothing here is checked beyond the
runs ending as the starter ends. It needs nothing outside the repository (not the shared samples).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: interactions run: enough for every hot path's counts to dwarf the one-off ones (~2 s)
COUNT = 400

#: what Composer's libraries and IPDs do between the crossings, in the proportions of its sample
#: (a library's worth of functions declared, objects kept for the close's collection to free)
LIBRARY = "".join(
    f"function helper{i}(a, b) {{ var o = {{k: a, v: b, n: {i}}}; return o.k + ':' + o.v + o.n; }}\n"
    for i in range(120)
)
SCRIPT = r"""
var kept = [];
for (var n = 0; n < 40; n++) { kept.push({id: n, name: 'n' + n, helper: helper7('x', n), list: [n, n + 1]}); }
(function () {
  var system = {InteractionID: 'ixn-1', StartTime: 0, LastErrorEvent: '', Language: 'en'};
  var data = {system: system, App_Menu: {choice: '1', retries: 0}, queue: [], names: {}};
  for (var i = 0; i < 12; i++) {
    var item = {id: 'id' + i, value: i * 3, flag: i % 2 == 0, text: 'item "' + i + '"'};
    data.queue.push(item);
    data.names[item.id] = item;
  }
  var text = JSON.stringify(data);
  var back = JSON.parse(text);
  var keys = 0;
  for (var k in back.names) { if (back.names.hasOwnProperty(k) && /^id[0-9]+$/.test(k)) keys++; }
  var out = '';
  for (var j = 0; j < back.queue.length; j++) { out += back.queue[j].id + ':' + back.queue[j].value + ';'; }
  var mapped = back.queue.map(function (q) { return q.value; }).filter(function (v) { return v > 6; });
  try { null.x; } catch (e) { out += e.name + e.message.length; }
  var source = typeof _event != 'undefined' ? _event.toSource() : ({a: 1}).toSource();
  return keys + out.length + mapped.length + source.length + String(1.5).length + 'a-b-c'.split('-').join('').length;
})();
"""


def main() -> None:
    sys.path.insert(0, sys.argv[1])  # the instrumented module, before the installed one
    sys.path.insert(1, str(ROOT))
    os.environ["ORCHWEB_NO_MYPYC"] = "1"  # the engine from its sources: its build may not exist yet
    from simulator.ors.fakes import load_fakes
    from simulator.ors.project import find_entry, load_project
    from simulator.runners.driver import OrsRun
    from simulator.scxml.datamodel import RuntimePool

    files = load_project(ROOT / "designer" / "starters" / "basic")
    entry = find_entry(files)
    fakes, runtimes = load_fakes({}), RuntimePool(16)
    for _ in range(COUNT):
        run = OrsRun(files, entry, fakes=fakes, runtimes=runtimes)
        run.run()
        run.session.datamodel.execute(LIBRARY)
        run.session.datamodel.execute(SCRIPT)
        if run.session.final_state != "_composer_global_exit":
            raise SystemExit(f"pgo_training.py: the starter ended in {run.session.final_state!r}")
        run.session.close()


if __name__ == "__main__":
    main()
