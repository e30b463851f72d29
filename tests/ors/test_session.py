"""Session module: fetch/start/terminate/updatestart and the ``_genesys.session`` functions (ors-core.md s2)."""

from __future__ import annotations

import pytest

from simulator.ors.extensions import session

from .strategies import block_strategy, document, run, value


def block(element: str, action: str) -> str:
    return f"""
    <onentry>{element}</onentry>
    <transition event="session.{action}.done" cond="_event.data.requestid==App_B['requestid']" target="ok">
      <assign location="out.done" expr="_event.data"/>
    </transition>
    <transition event="error.session.{action}" cond="_event.data.requestid==App_B['requestid']" target="failed">
      <assign location="out.error" expr="_event.data"/>
    </transition>
    """


GET = """<script>var customHeaders = new Object(); customHeaders['api_key'] = 'k';</script>
<session:fetch requestid="App_B['requestid']" srcexpr="'https://api.example.com/v1/caller'" method="'get'"
    enctype="'application/x-www-form-urlencoded'" maxage="0" maxstale="0" type="'application/json'"
    gdelivery="false" gd_retries="1" gd_retry_interval="0" timeout="10" headers="customHeaders">
  <param name="number" expr="system.ThisDN"/><param name="ivr_menu" expr="''"/>
</session:fetch>"""
POST = """<session:fetch requestid="App_B['requestid']" srcexpr="'https://api.example.com/v1/score'"
    method="'post'" enctype="'application/json'" type="'application/json'" timeout="10">
  <content _expr="({number: 5})"/>
</session:fetch>"""


def test_fetch_answers_the_default_200_with_the_body_as_a_string():
    doc = block(GET, "fetch").replace(
        '<assign location="out.done" expr="_event.data"/>',
        '<assign location="out.done" expr="_event.data"/>'
        "<script>out.parsed = eval('(' + _event.data.content + ')');</script>",
    )
    r = run(block_strategy(doc))
    assert r.session.final_state == "ok"
    assert value(r, "out.done.content") == "{}"
    assert value(r, "out.done.hints") == {"Content-Type": "application/json"}
    assert value(r, "out.parsed") == {}
    request = r.summary()["requests"][0]
    assert request["attributes"]["headers"] == {"api_key": "k"}
    assert request["attributes"]["gdelivery"] is False and request["attributes"]["timeout"] == 10
    assert session.request_url(r.platform.requests[request["id"]]) == (
        "https://api.example.com/v1/caller?number=9000&ivr_menu="
    )


def test_fetch_uses_the_first_matching_response_of_the_profile():
    fakes = {
        "http": {
            "responses": [
                {"url": "https://api.example.com/v1/score", "method": "get", "body": "no"},
                {"url": "re:/v1/sco", "body": {"saved": True}, "headers": {"X-Id": "1"}, "delay": 1.5},
            ]
        }
    }
    r = run(block_strategy(block(POST, "fetch")), fakes)
    assert value(r, "out.done.content") == '{"saved": true}'
    assert value(r, "out.done.hints") == {"X-Id": "1"}
    assert r.group.clock.now == pytest.approx(1.5)
    assert r.summary()["requests"][0]["children"][0]["attributes"] == {"expr": {"number": 5}}


def test_an_http_error_status_is_error_session_fetch_with_the_status():
    r = run(block_strategy(block(GET, "fetch")), {"http": {"responses": [{"url": "https://api.", "status": 404}]}})
    assert r.session.final_state == "failed"
    assert value(r, "[out.error.error, out.error.description]") == [
        "404",
        "HTTP 404 from https://api.example.com/v1/caller?number=9000&ivr_menu=",
    ]


def test_the_error_code_format_is_configurable():
    fakes = {"http": {"responses": [{"url": "https://api.", "status": 500}], "error_format": "protocol.status"}}
    r = run(block_strategy(block(GET, "fetch")), fakes)
    assert value(r, "out.error.error") == "http.500"


def test_a_connection_failure_is_error_zero():
    r = run(block_strategy(block(GET, "fetch")), {"http": {"default": {"status": 0}}})
    assert value(r, "out.error.error") == "0"


def test_a_body_that_is_not_the_expected_json_is_an_error():
    r = run(block_strategy(block(GET, "fetch")), {"http": {"default": {"body": "<html/>"}}})
    assert (r.session.final_state, value(r, "out.error.error")) == ("failed", "type")


def test_an_allowed_url_without_a_response_is_a_clear_error_and_no_network_is_used():
    fakes = {"http": {"allow_network": ["https://api.example.com/"]}}
    r = run(block_strategy(block(GET, "fetch")), fakes)
    assert r.session.final_state == "failed"
    assert "not implemented by the simulator" in value(r, "out.error.description")


CHILD = document(
    """<datamodel><data id="greeting" expr="'default'"/></datamodel>
  <state id="run"><onentry><send event="'finish'" delay="'3s'"/></onentry>
    <transition event="finish" target="end"/></state>
  <final id="end"><donedata><param name="said" expr="greeting"/></donedata></final>""",
    initial="run",
    name="Child",
)


def test_start_runs_the_document_as_a_new_session_and_reports_its_end():
    parent = block_strategy(
        block(
            """<session:start requestid="App_B['requestid']" srcexpr="'http://ors.example/app/src-gen/child.scxml'"
                idlocation="out.sid"><param name="greeting" expr="'hello'"/></session:start>""",
            "start",
        ).replace('target="ok"', 'target="waiting"')
    ).replace(
        b'<final id="ok"/>',
        b"""<state id="waiting"><transition event="done.scxml.Child" target="ok">
        <assign location="out.end" expr="_event.data"/></transition></state><final id="ok"/>""",
    )
    r = run({"src-gen/main.scxml": parent, "src-gen/child.scxml": CHILD}, entry="src-gen/main.scxml")
    assert r.session.final_state == "ok"
    sid = value(r, "out.done.sessionid")
    assert value(r, "out.sid") == sid and sid in r.group.sessions and sid != r.session.sessionid
    assert value(r, "out.end") == {"sessionid": sid, "reason": "final", "params": {"said": "hello"}}
    assert r.group.sessions[sid].final_state == "end"
    assert r.group.sessions[sid].events_processed == 1  # only its own timer: no interaction events
    assert r.group.clock.now == pytest.approx(3.0)


def test_start_of_a_document_outside_the_project_fails():
    r = run(
        block_strategy(
            block("<session:start requestid=\"App_B['requestid']\" srcexpr=\"'http://h/x.scxml'\"/>", "start")
        )
    )
    assert (r.session.final_state, value(r, "out.error.error")) == ("failed", "invalidsrc")


def test_terminate_stops_a_started_session_and_fails_for_an_unknown_one():
    parent = block_strategy(
        """<onentry><session:start requestid="App_B.s" src="child.scxml"/></onentry>
        <transition event="session.start.done">
          <session:terminate requestid="App_B['requestid']" sessionid="_event.data.sessionid"/></transition>
        <transition event="session.terminate.done" target="ok"/>
        <transition event="error.session.terminate" target="failed"/>"""
    ).replace(
        b'<final id="ok"/>',
        b'<state id="ok"><transition event="done.scxml.Child" target="done"/></state><final id="done"/>',
    )
    r = run({"main.scxml": parent, "child.scxml": CHILD}, entry="main.scxml")
    assert r.session.final_state == "done"
    child = next(s for s in r.group.sessions.values() if s is not r.session)
    assert child.status == "cancelled"
    unknown = run(
        block_strategy(block("<session:terminate requestid=\"App_B['requestid']\" sessionid=\"'S1'\"/>", "terminate"))
    )
    assert (unknown.session.final_state, value(unknown, "out.error.error")) == ("failed", "invalidsession")


def test_updatestart_answers_done():
    r = run(
        block_strategy(
            block("<session:updatestart requestid=\"App_B['requestid']\" sessionid=\"'S1'\"/>", "updatestart")
        )
    )
    assert r.session.final_state == "ok"


@pytest.mark.parametrize("action", ["start", "terminate", "updatestart", "fetch"])
def test_a_rule_can_fail_any_session_action(action):
    element = f"<session:{action} requestid=\"App_B['requestid']\" srcexpr=\"'http://x'\" sessionid=\"'S'\"/>"
    fakes = {"rules": [{"module": "session", "action": action, "error": {"error": "x", "description": "no"}}]}
    r = run(block_strategy(block(element, action)), fakes)
    assert (r.session.final_state, value(r, "out.error.error")) == ("failed", "x")


LOOKUPS = """<onentry><script>
  var s = _genesys.session;
  out.server = [s.server.name, s.server.cluster, s.server.url, s.tenant, s.tenantid];
  out.enums = [s.lookupseq.StartFromTserver, s.day.Sunday, s.day.Saturday];
  out.date = s.dateInZone('PST'); out.time = s.timeInZone('PST'); out.day = s.dayInZone('PST');
  out.utc = [s.dateInZone(''), s.timeInZone('UTC'), s.dayInZone('CET')];
  out.special = [s.isSpecialDay('Holidays', 'NewYear'), s.isSpecialDay('Holidays', 'Other', 'PST', true)];
  out.item = s.getListItemValue('GLOBAL', 'OPM'); out.key = s.getListItemValue('GLOBAL', 'OPM', 'mode');
  out.num = s.getListItemValue('GLOBAL', 'OPM', 'n'); out.missing = s.getListItemValue('GLOBAL', 'X', 'y');
  out.lookup = [s.listLookupValue('GLOBAL', 'OPM'), s.listLookupValue('GLOBAL', 'nope')];
  out.option = [s.getConfigOption('0', 'vq', s.lookupseq.StartFromTserver), s.getConfigOption('0', 'no', 0)];
  s.setTenant('Other'); out.tenant = s.tenant;
  try { s.dateInZone('Mars/Olympus'); } catch (e) { out.zoneError = e.message; }
</script></onentry><transition target="ok"/>"""


def test_the_lookup_functions_read_the_profile_and_the_virtual_clock():
    fakes = {
        "time": {"now": "2026-01-04T07:30:00Z"},
        "lists": {"GLOBAL": {"OPM": {"mode": "day", "n": 3}}},
        "options": {"vq": "VQ_Default"},
        "special_days": {"Holidays/NewYear": 1},
        "session": {"tenant": "Acme", "tenantid": 7},
    }
    r = run(block_strategy(LOOKUPS), fakes)
    assert r.session.final_state == "ok"
    assert value(r, "out.server") == ["ORS", "ORS_Cluster", "http://ors.example.invalid:7210", "Acme", 7]
    assert value(r, "out.enums") == [3, 0, 6]
    # 2026-01-04 07:30 UTC is a Sunday; in PST (-8 h) it is still Saturday 2026-01-03 23:30.
    assert value(r, "[out.date, out.time, out.day]") == ["2026-01-03", "23:30:00", 6]
    assert value(r, "out.utc") == ["2026-01-04", "07:30:00", 0]
    assert value(r, "out.special") == [1, 0]
    assert value(r, "[out.item, out.key, out.num, out.missing]") == [{"mode": "day", "n": 3}, "day", "3", ""]
    assert value(r, "out.lookup") == [1, 0]
    assert value(r, "out.option") == ["VQ_Default", ""]
    assert value(r, "out.tenant") == "Other"
    assert value(r, "out.zoneError") == "unknown time zone: Mars/Olympus"


def test_time_in_zone_follows_the_virtual_clock():
    doc = """<onentry><send event="'later'" delay="'90s'"/></onentry>
      <transition event="later" target="ok"><assign location="out.t" expr="_genesys.session.timeInZone('UTC')"/>
      </transition>"""
    r = run(block_strategy(doc), {"time": {"now": "2026-01-05T10:00:00Z"}})
    assert value(r, "out.t") == "10:01:30"


def test_missing_list_values_throw_in_strict_mode():
    doc = """<onentry><script>try { _genesys.session.getListItemValue('L', 'I', 'k'); }
      catch (e) { out.e = e.message; }</script></onentry><transition target="ok"/>"""
    r = run(block_strategy(doc), {"session": {"list_missing": "throw"}})
    assert value(r, "out.e") == "list value not found: L/I/k"


def test_every_declared_js_member_exists_in_the_surface():
    r = run(block_strategy("<transition target='ok'/>"))
    for member in session.MODULE.js_members:
        assert value(r, f"typeof _genesys.session.{member.name}") != "undefined", member.name
