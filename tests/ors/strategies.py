"""Small strategies written in Composer's style, and a helper to run them with a fakes profile.

Each test strategy waits for ``interaction.added`` like a Composer IPD, runs one block (the
``block`` state, whose content the test gives) and ends in ``ok`` or ``failed``; the test then
reads variables from the session's datamodel.
"""

from __future__ import annotations

from typing import Any

from simulator.runners.driver import OrsRun
from simulator.runners.limits import DEFAULT_LIMITS, Limits

NAMESPACES = (
    'xmlns="http://www.w3.org/2005/07/scxml" xmlns:xi="http://www.w3.org/2001/XInclude" '
    'xmlns:ws="http://www.genesyslab.com/modules/ws" '
    'xmlns:queue="http://www.genesyslab.com/modules/queue" '
    'xmlns:dialog="http://www.genesyslab.com/modules/dialog" '
    'xmlns:session="http://www.genesyslab.com/modules/session" '
    'xmlns:ixn="http://www.genesyslab.com/modules/interaction" '
    'xmlns:statistic="http://www.genesyslab.com/modules/statistic" '
    'xmlns:classification="http://www.genesyslab.com/modules/classification"'
)


def document(body: str, initial: str = "wait", name: str = "T", top: str = "") -> bytes:
    """A whole SCXML document in the ORS dialect with every module namespace declared."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<scxml version="1.0" {NAMESPACES} initial="{initial}" '
        f'profile="ecmascript" _persist="false" name="{name}">\n{top}\n{body}\n</scxml>\n'
    ).encode()


def block_strategy(block: str, on_entry_script: str = "") -> bytes:
    """The standard test harness around one Composer block (state ``block``)."""
    return document(
        f"""
  <state id="wait">
    <onentry><script>var App_B = new Object(); var out = {{}}; var system = {{}}; {on_entry_script}</script></onentry>
    <transition event="interaction.added" target="block">
      <assign location="system.InteractionID" expr="_event.data.interactionid"/>
      <assign location="system.ThisDN" expr="_event.data.focusdeviceid"/>
    </transition>
  </state>
  <state id="block">
{block}
  </state>
  <final id="ok"/>
  <final id="failed"/>
"""
    )


def run(
    doc: bytes | dict[str, bytes],
    fakes: Any = None,
    max_time: float = 3600.0,
    entry: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> OrsRun:
    """Run a strategy (a document, or project files) to completion on the virtual clock."""
    files = {"main.scxml": doc} if isinstance(doc, bytes) else doc
    entry = entry or ("main.scxml" if isinstance(doc, bytes) else None)
    r = OrsRun(files, entry=entry, fakes=fakes, trace=True, limits=limits)
    r.run(max_time=max_time)
    return r


def value(r: OrsRun, expr: str) -> Any:
    """Evaluate a JS expression in the (finished) session."""
    return r.session.datamodel.evaluate(expr)


def events(r: OrsRun) -> list[str]:
    """Names of the events the session processed (external and internal), in order."""
    out = []
    for rec in r.records:
        if rec["type"] == "macrostep" and rec.get("event"):
            out.append(rec["event"]["name"])
    return out


def entered(r: OrsRun) -> list[str]:
    """Every state entered, in order."""
    return [s for rec in r.records if rec["type"] == "macrostep" for s in rec["entered"]]


def assert_failed_on_error(r: OrsRun, name: str, text: str) -> None:
    """The run took its error path: final state `failed`, `out.e` = [the error event's `name`,
    a detail mentioning `text`], and the trace's error record names `text` too."""
    assert r.session.final_state == "failed", r.session.errors
    event, detail = value(r, "out.e")
    assert event == name
    assert text in detail
    assert any(text in str(rec) for rec in r.records if rec["type"] == "error")
