"""Web module: HTTP requests as events answered by <ws:response> (spec ors-core.md section 3)."""

from __future__ import annotations

import pytest

from simulator.ors.extensions import module_for_namespace, web
from simulator.ors.fakes import FakesError, load_fakes
from simulator.runners.driver import OrsRun
from simulator.scxml.errors import DocumentError

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<scxml version="1.0" xmlns="http://www.w3.org/2005/07/scxml" xmlns:xi="http://www.w3.org/2001/XInclude"
    xmlns:ws="http://www.genesyslab.com/modules/ws" xmlns:queue="http://www.genesyslab.com/modules/queue"
    xmlns:dialog="http://www.genesyslab.com/modules/dialog" xmlns:session="http://www.genesyslab.com/modules/session"
    xmlns:ixn="http://www.genesyslab.com/modules/interaction"
    xmlns:classification="http://www.genesyslab.com/modules/classification"
    initial="Listen" _persist="false" profile="ecmascript">
  <datamodel>
    <data id="balance" expr="125.5"/>
    <data id="notallowed" expr="[]"/>
    <data id="failed" expr="null"/>
    <data id="sendids" expr="[]"/>
  </datamodel>
"""

#: a session that answers web requests until it is told to stop (Composer "Response" blocks)
LISTENER = (
    HEAD
    + """
  <state id="Listen">
    <transition event="getBalance">
      <script>sendids.push(_event.sendid);</script>
      <ws:response requestid="_event.sendid" type="'positive'" resultcode="'ok'">
        <param name="balance" expr="_data.balance"/>
        <param name="account" expr="_event.data.account"/>
        <param name="detail" expr="({currency: 'EUR', pending: [1, 2]})"/>
      </ws:response>
    </transition>
    <transition event="badRequest">
      <ws:response requestid="_event.sendid" type="'negative'" resultcode="'invalidparameter'"/>
    </transition>
    <transition event="defaultType">
      <ws:response requestid="_event.sendid"/>
    </transition>
    <transition event="answerTwice">
      <ws:response requestid="_event.sendid"/>
      <ws:response requestid="_event.sendid" type="'negative'"/>
    </transition>
    <transition event="strangeType">
      <ws:response requestid="_event.sendid" type="'maybe'"/>
    </transition>
    <transition event="unknownId">
      <ws:response requestid="'WS-NOT-OPEN'"/>
    </transition>
    <transition event="error.notallowed"><script>notallowed.push(_event.data);</script></transition>
    <transition event="error.ws.response"><assign location="_data.failed" expr="_event.data"/></transition>
    <transition event="stop" target="Exit"/>
  </state>
  <final id="Exit"/>
</scxml>"""
)


@pytest.fixture
def listener():
    """A started listener session (no interaction) and its platform."""
    runs: list[OrsRun] = []

    def make(fakes: dict | None = None) -> OrsRun:
        r = OrsRun({"Listener.scxml": LISTENER.encode()}, fakes={"none": True, **(fakes or {})})
        r.run()
        runs.append(r)
        return r

    yield make
    for r in runs:
        if r.session.datamodel is not None:
            r.session.datamodel.close()


def ask(r: OrsRun, name: str, params: dict | None = None) -> str:
    """Send a web request to the session, run until idle; the request's sendid."""
    sendid = web.send_request(r.platform, name, params)
    r.run()
    return sendid


# -- declarations -----------------------------------------------------------------------------


def test_it_is_selected_by_both_namespace_spellings():
    assert module_for_namespace("http://www.genesyslab.com/modules/ws") is web.MODULE
    assert module_for_namespace("www.genesyslab.com/modules/ws") is web.MODULE


def test_it_declares_response_with_its_attributes_and_param_children():
    response = web.MODULE.actions["response"]
    assert [a.name for a in response.attributes] == ["requestid", "type", "resultcode"]
    assert response.attr("requestid").required and response.attr("requestid").kind == "expression"
    assert response.attr("type").default == "positive"
    assert response.attr("type").values == ("positive", "negative")
    assert [c.tag for c in response.children] == ["param"]
    assert list(web.MODULE.actions) == ["response"]


def test_its_js_surface_exists_and_is_empty(listener):
    r = listener()
    assert r.session.datamodel.evaluate("JSON.stringify(_genesys.ws)") == "{}"


# -- <ws:response> ----------------------------------------------------------------------------


def test_a_request_becomes_an_event_with_its_sendid_and_params(listener):
    r = listener()
    sendid = ask(r, "getBalance", {"account": "A-17"})
    assert r.session.datamodel.evaluate("sendids") == [sendid]
    assert web.response_for(r.platform, sendid) == {
        "type": "positive",
        "resultcode": "ok",
        "params": {"balance": 125.5, "account": "A-17", "detail": {"currency": "EUR", "pending": [1, 2]}},
        "answered_at": 0.0,
    }
    (request,) = r.platform.requests.values()
    assert request.module == "ws" and request.action == "response"
    assert request.attributes["requestid"] == sendid
    assert request.status == "answered"
    assert r.platform.pending() == []


def test_a_negative_response_carries_its_result_code(listener):
    r = listener()
    sendid = ask(r, "badRequest")
    answer = web.response_for(r.platform, sendid)
    assert (answer["type"], answer["resultcode"], answer["params"]) == ("negative", "invalidparameter", {})


def test_the_response_type_defaults_to_positive(listener):
    r = listener()
    answer = web.response_for(r.platform, ask(r, "defaultType"))
    assert answer["type"] == "positive" and answer["resultcode"] is None


def test_each_request_gets_its_own_sendid(listener):
    r = listener()
    first, second = ask(r, "getBalance", {"account": "1"}), ask(r, "getBalance", {"account": "2"})
    assert first != second
    assert web.response_for(r.platform, first)["params"]["account"] == "1"
    assert web.response_for(r.platform, second)["params"]["account"] == "2"


def test_a_request_can_arrive_later_on_the_virtual_clock(listener):
    r = listener()
    sendid = web.send_request(r.platform, "getBalance", {"account": "9"}, delay=30.0)
    assert web.response_for(r.platform, sendid) is None
    r.run()
    assert web.response_for(r.platform, sendid)["answered_at"] == 30.0


def test_answering_twice_is_not_allowed(listener):
    r = listener()
    sendid = ask(r, "answerTwice")
    assert web.response_for(r.platform, sendid)["type"] == "positive"
    (refusal,) = r.session.datamodel.evaluate("notallowed")
    assert refusal["sendid"] == sendid and "already answered" in refusal["description"]


def test_answering_an_unknown_request_is_not_allowed(listener):
    r = listener()
    r.platform.inject("unknownId")
    r.run()
    (refusal,) = r.session.datamodel.evaluate("notallowed")
    assert refusal["sendid"] == "WS-NOT-OPEN" and "not an open web request" in refusal["description"]


def test_answering_a_fire_and_forget_event_is_not_allowed(listener):
    r = listener()
    r.platform.inject("getBalance", {"account": "X"})  # .../event/<name>: no sendid
    r.run()
    (refusal,) = r.session.datamodel.evaluate("notallowed")
    assert refusal["sendid"] is None


def test_a_bad_response_type_is_an_invalid_attribute_error(listener):
    r = listener()
    sendid = ask(r, "strangeType")
    failed = r.session.datamodel.evaluate("_data.failed")
    assert failed["error"] == "invalidattribute" and "maybe" in failed["description"]
    assert web.response_for(r.platform, sendid) is None


def test_a_fakes_rule_can_fail_the_response(listener):
    rule = {"module": "ws", "action": "response", "error": {"error": "remote", "description": "client went away"}}
    r = listener({"rules": [rule]})
    sendid = ask(r, "getBalance", {"account": "A"})
    assert r.session.datamodel.evaluate("_data.failed.description") == "client went away"
    assert web.response_for(r.platform, sendid) is None


def test_a_response_without_requestid_is_a_definition_error():
    doc = HEAD + '<state id="Listen"><onentry><ws:response type="\'positive\'"/></onentry></state></scxml>'
    with pytest.raises(DocumentError) as caught:
        OrsRun({"Bad.scxml": doc.encode()})
    assert "missing required attribute 'requestid'" in str(caught.value)


def test_the_session_ends_while_requests_wait(listener):
    r = listener()
    r.platform.inject("stop")
    r.run()
    assert r.session.final_state == "Exit"


# -- harness API ------------------------------------------------------------------------------


def test_open_request_returns_the_event_to_queue(listener):
    r = listener()
    event = web.open_request(r.platform, "getBalance", {"account": "Z"})
    assert event["name"] == "getBalance" and event["data"] == {"account": "Z"} and event["sendid"]
    assert web.response_for(r.platform, event["sendid"]) is None


def test_the_harness_api_rejects_bad_input(listener):
    r = listener()
    with pytest.raises(ValueError, match="needs an event name"):
        web.open_request(r.platform, "")
    with pytest.raises(KeyError):
        web.response_for(r.platform, "WS-NEVER-OPENED")


def test_the_profile_section_is_validated_with_clear_errors():
    with pytest.raises(FakesError) as caught:
        load_fakes({"ws": {"timeout": 3}})
    assert caught.value.problems == ["$.ws: unknown key(s) 'timeout'"]


def test_the_profile_can_send_requests_at_virtual_times(listener):
    fakes = {
        "ws": {
            "requests": [
                {"name": "getBalance", "params": {"account": "late"}, "at": 12.5},
                {"name": "badRequest"},
                {"name": "nobodyListens", "at": 3},
            ]
        }
    }
    r = listener(fakes)
    sent = web.web_requests(r.platform)
    assert [(w["name"], w["opened_at"]) for w in sent] == [
        ("getBalance", 12.5),
        ("badRequest", 0.0),
        ("nobodyListens", 3.0),
    ]
    answers = {w["name"]: w["response"] for w in sent}
    assert answers["getBalance"]["params"]["account"] == "late" and answers["getBalance"]["answered_at"] == 12.5
    assert answers["badRequest"]["type"] == "negative" and answers["badRequest"]["answered_at"] == 0.0
    assert answers["nobodyListens"] is None
    assert r.session.datamodel.evaluate("sendids") == [sent[0]["sendid"]]


def test_a_profile_request_needs_a_name():
    with pytest.raises(FakesError) as caught:
        load_fakes({"ws": {"requests": [{"params": {}}]}})
    assert caught.value.problems == ["$.ws.requests[0]: 'name' is required"]
