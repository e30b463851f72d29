"""ELK on the server: the diagram's layout of a version computed before a browser opens it.

One `ServerElk` is a QuickJS context (our binding, native/quickjs) holding two scripts the
browser runs too, unchanged: elkjs's worker script (static/vendor/elkjs/elk-worker.min.js, driven
through its `onmessage` as elk-api.js drives it in the page's Web Worker) and the diagram's own
script (static/orchweb/diagram.js), whose `Diagram.elkInput` builds ELK's input as the page does,
with a browser's reported character widths instead of its canvas, and whose `Diagram.layoutKey`
is the key the page checks. One piece of code builds ELK's input, wherever it runs; ELK is
deterministic, so the layout is the one that browser's worker would make (tests/e2e compares them).

Only data goes in (the graph JSON the server built, and a font table checked by
designer.serverlayouts.clean_font_table); the context still runs with a memory limit and a
deadline per call, so no graph or table makes a layout cost unbounded memory or time.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import orchweb_quickjs
from django.conf import settings

from simulator.scxml import jsbytecode

#: memory of one context: ELK's script (1.6 MB of source) and a 100-state chart's layout take ~20 MB
MEMORY_LIMIT = 256 * 1024 * 1024
STACK_SIZE = 4 * 1024 * 1024
#: seconds of one call (loading the scripts, or one input and layout)
SECONDS = 60.0
#: algorithms registered as elk-api.js registers them by default (the page's worker gets these)
ALGORITHMS = [
    *("layered", "stress", "mrtree", "radial", "force", "disco"),
    *("sporeOverlap", "sporeCompaction", "rectpacking"),
]

_SHIM = """
var window = globalThis, self = globalThis, __answers = [];
self.postMessage = function (message) { __answers.push(message); };
"""

_RUN = """
(function (request) {
  request = JSON.parse(request);
  var input = Diagram.elkInput(request.graph, request.table);
  var key = Diagram.layoutKey(input);
  if (request.inputOnly) return JSON.stringify({ key: key, input: JSON.stringify(input) });
  __answers = [];
  self.onmessage({ data: { id: 1, cmd: "layout", graph: input, layoutOptions: {},
                           options: { logging: false, measureExecutionTime: false } } });
  var answer = __answers.pop();
  if (!answer || answer.error) throw new Error("ELK: " + JSON.stringify(answer && answer.error));
  return JSON.stringify({ key: key, result: answer.data });
})(__request)
"""


class ElkError(RuntimeError):
    """The layout could not be computed (a character without a width, a limit, ELK's own error)."""


def _static(path: str) -> Path:
    return Path(settings.BASE_DIR) / "static" / path


class ServerElk:
    """A QuickJS context with ELK and the diagram's ELK-input builder (see the module docstring)."""

    def __init__(self, seconds: float = SECONDS, memory_limit: int = MEMORY_LIMIT) -> None:
        self.seconds = seconds
        self.ctx = orchweb_quickjs.Context()
        self.ctx.set_memory_limit(memory_limit)
        self.ctx.set_max_stack_size(STACK_SIZE)
        try:
            self._eval(_SHIM)
            self._load("vendor/elkjs/elk-worker.min.js")
            self._load("orchweb/diagram.js")
            self.ctx.set("__request", json.dumps({"id": 0, "cmd": "register", "algorithms": ALGORITHMS}))
            self._eval("self.onmessage({ data: JSON.parse(__request) }); __answers = [];")
            self.ctx.set("__request", None)
        except BaseException:
            self.ctx.close()
            raise

    def _eval(self, source: str) -> Any:
        return self._limited(self.ctx.eval, source)

    def _limited(self, run: Any, *args: Any) -> Any:
        """`run(*args)` under the call's deadline; JS errors and limits raise ElkError."""
        self.ctx.deadline = time.monotonic() + self.seconds
        try:
            return run(*args)
        except orchweb_quickjs.JSException as exc:
            raise ElkError(str(exc)[:500]) from None
        except MemoryError:
            raise ElkError("out of memory") from None

    def _load(self, path: str) -> None:
        """Run a static script from its bytecode, compiled once per process and file contents:
        parsing ELK's 1.6 MB took ~0.15-0.2 s of every layout job, reading its bytecode ~0.02 s."""
        source = _static(path).read_text(encoding="utf-8")
        code = jsbytecode.compile_program(source, filename=path)
        if code is None:
            self._eval(source)  # raises its SyntaxError
        else:
            self._limited(jsbytecode.run_program, self.ctx, code)

    def _run(self, graph: dict[str, Any], table: dict[str, Any], input_only: bool) -> dict[str, Any]:
        self.ctx.set("__request", json.dumps({"graph": graph, "table": table, "inputOnly": input_only}))
        try:
            answer: dict[str, Any] = json.loads(self._eval(_RUN))
        finally:
            self.ctx.set("__request", None)
            self.ctx.gc()
        return answer

    def elk_input(self, graph: dict[str, Any], table: dict[str, Any]) -> tuple[str, str]:
        """(layout key, ELK's input as JSON text) of `graph` measured with `table`, as the page
        builds and hashes them."""
        answer = self._run(graph, table, True)
        return answer["key"], answer["input"]

    def layout(self, graph: dict[str, Any], table: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """(layout key, ELK's layout) of `graph` measured with `table`."""
        answer = self._run(graph, table, False)
        return answer["key"], answer["result"]

    def close(self) -> None:
        self.ctx.close()
