"""On a multi-file Composer-style project (an IPD including its workflow with parse="xml" and a
library with parse="text"), log, action, response and error records name the file and line of
their own element (docs/trace.md)."""

from __future__ import annotations

from simulator.runners.driver import OrsRun

IPD = b"""<?xml version="1.0" encoding="UTF-8"?>
<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:xi="http://www.w3.org/2001/XInclude"
       xmlns:session="http://www.genesyslab.com/modules/session" version="1.0" initial="wf" datamodel="ecmascript">
  <script><xi:include href="../include/lib.js" parse="text"/></script>
  <state id="wf">
    <xi:include href="Main.scxml" parse="xml" xpointer="body"/>
  </state>
  <final id="ok"/>
  <final id="failed"/>
</scxml>
"""
WF = b"""<?xml version="1.0" encoding="UTF-8"?>
<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:session="http://www.genesyslab.com/modules/session" version="1.0">
  <state id="body" initial="wait">
    <onentry>
      <log label="here" expr="1"/>
      <session:fetch requestid="App_B['requestid']" srcexpr="'https://api.example.com/x'" method="'get'"/>
    </onentry>
    <transition event="session.fetch.done" target="check" type="internal"/>
    <transition event="error" target="failed"/>
    <state id="wait"/>
    <state id="check">
      <onentry><script>check(_event.data);</script></onentry>
      <transition event="error" target="failed"/>
    </state>
  </state>
</scxml>
"""
LIB = b"""var App_B = {};
function check(data) {
  // the answer has no such field
  return data.nothing.here;
}
"""


def located(records: list[dict], type_: str) -> list[tuple[str, int]]:
    return [(r["file"], r["line"]) for r in records if r["type"] == type_]


def test_each_record_names_its_own_element_in_its_own_file() -> None:
    files = {"src-gen/IPD.scxml": IPD, "src-gen/Main.scxml": WF, "include/lib.js": LIB}
    run = OrsRun(files, entry="src-gen/IPD.scxml", trace=True)
    run.run(max_time=10)
    assert run.session.final_state == "failed"
    records = run.records
    assert located(records, "log") == [("src-gen/Main.scxml", 5)]
    assert located(records, "action") == [("src-gen/Main.scxml", 6)]  # the <session:fetch>
    fetch = [r for r in records if r["type"] == "response" and r["event"] == "session.fetch.done"]
    assert [(r["file"], r["line"]) for r in fetch] == [("src-gen/Main.scxml", 6)]
    # the failing statement of check(), written in the library, not the <script> that called it
    assert located(records, "error") == [("include/lib.js", 4)]
