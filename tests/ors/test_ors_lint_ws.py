"""unproducible-event and the Web API: a strategy answering web requests (`<ws:response>`)
receives events named by its HTTP clients, so those names are not reported."""

from __future__ import annotations

from simulator.ors.analysis import lint_project

HEADER = """\
<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" profile="ecmascript" initial="start"
       xmlns:ws="http://www.genesyslab.com/modules/ws"
       xmlns:queue="http://www.genesyslab.com/modules/queue">
"""  # the body starts on line 4


def unproducible(body: str) -> list[dict]:
    files = {"src-gen/IPD_ws.scxml": (HEADER + body + "\n</scxml>\n").encode()}
    return [f for f in lint_project(files, "src-gen/IPD_ws.scxml") if f["rule"] == "unproducible-event"]


SERVER = """\
<state id="start">
  <transition event="getBalance" target="answer"/>
  <transition event="account.lookup" target="answer"/>
  {extra}
</state>
<state id="answer">
  <onentry>
    <ws:response requestid="_event.sendid" type="'positive'" resultcode="'200'">
      <param name="balance" expr="42"/>
    </ws:response>
  </onentry>
  <transition target="start"/>
</state>"""


def test_web_request_names_of_a_ws_response_strategy_are_not_reported():
    assert unproducible(SERVER.format(extra="")) == []


def test_a_strategy_without_ws_response_still_gets_the_warning():
    body = SERVER.replace('<ws:response requestid="_event.sendid" type="\'positive\'" resultcode="\'200\'">', "")
    body = body.replace('<param name="balance" expr="42"/>', "").replace("</ws:response>", "")
    items = unproducible(body.format(extra=""))
    assert [(f["line"], f["severity"]) for f in items] == [(5, "warning"), (6, "warning")]
    assert "'getBalance'" in items[0]["message"]


def test_platform_event_families_are_still_checked_in_a_ws_response_strategy():
    extra = '<transition event="queue.submit.done" target="answer"/>'
    (item,) = unproducible(SERVER.format(extra=extra))
    assert item["line"] == 7
    assert "'queue.submit.done'" in item["message"]  # no queue:submit: a web client cannot send it
