"""The ORS dialect: expression attributes, <raise> params, includes with resolveid, globals, errors."""

from __future__ import annotations

from dataclasses import replace

import pytest

from simulator.ors.dialect import ORSProfile, replace_identifier, rewrite_const
from simulator.runners.limits import DEFAULT_LIMITS
from simulator.scxml.errors import DocumentError

from .strategies import block_strategy, document, entered, events, run, value


def test_send_event_and_delay_are_expressions_and_self_sends_go_through_the_external_queue():
    doc = block_strategy("""
    <onentry><send event="'Block1' + '.done'" delay="'1.5s'"><param name="resolveid" expr="'P'"/></send></onentry>
    <transition event="Block1.done" cond="_event.data.resolveid == 'P'" target="ok"/>
    """)
    r = run(doc)
    assert r.session.final_state == "ok"
    assert r.group.clock.now == pytest.approx(1.5)
    assert "Block1.done" in events(r)


def test_cancel_sendid_is_an_expression_answered_by_cancel_successful_or_error_notallowed():
    doc = block_strategy("""
    <onentry><send event="'X.wait.timeout'" idlocation="App_B['requestid']" delay="'10s'"/>
      <cancel sendid="App_B['requestid']"/></onentry>
    <transition event="cancel.successful" target="again"><assign location="out.c" expr="_event.data.sendid"/>
    </transition>
    """).replace(
        b'<final id="ok"/>',
        b"""<state id="again"><onentry><cancel sendid="App_B['requestid']"/></onentry>
        <transition event="error.notallowed" target="ok"/></state><final id="ok"/>""",
    )
    r = run(doc)
    assert r.session.final_state == "ok"
    assert value(r, "out.c") == value(r, "App_B['requestid']")
    assert r.group.clock.now == 0


def test_raise_carries_its_params_in_event_data_and_the_event_name_is_literal():
    doc = block_strategy("""
    <onentry><raise event="application.start"><param name="interactionid" expr="system.InteractionID"/>
      <param name="n" expr="1 + 1"/></raise></onentry>
    <transition event="application.start" target="ok"><assign location="out.d" expr="_event.data"/></transition>
    """)
    r = run(doc)
    assert value(r, "out.d") == {"interactionid": "006502A8E4B1C002", "n": 2}


def test_script_errors_raise_error_script_events_caught_by_the_error_prefix():
    doc = block_strategy("""
    <onentry><script>undefinedFunction();</script></onentry>
    <transition event="error" target="ok"><assign location="out.e" expr="_event.name"/>
      <assign location="out.s" expr="_event.toSource()"/></transition>
    """)
    r = run(doc)
    assert r.session.final_state == "ok"
    assert value(r, "out.e") == "error.script.ReferenceError"
    assert value(r, "out.s").startswith('({name:"error.script.ReferenceError", type:"platform"')


def test_to_source_and_uneval_print_in_spidermonkey_format():
    doc = block_strategy("""<onentry><script>
      out.a = ({a: 1, b: "x\\"y", c: [1, 2, {d: null}], "e f": undefined}).toSource();
      out.b = uneval([1, , 3]); out.c = (5).toSource(); out.d = uneval(-0); out.e = uneval("s");
      var cyc = {}; cyc.self = cyc; out.f = cyc.toSource(); out.g = new Date(7).toSource();
      out.h = Object.keys({}).length; for (var k in {z: 1}) out.k = k;
    </script></onentry><transition target="ok"/>""")
    r = run(doc)
    assert value(r, "out.a") == '({a:1, b:"x\\"y", c:[1, 2, {d:null}], "e f":(void 0)})'
    assert value(r, "[out.b, out.c, out.d, out.e, out.f, out.g]") == [
        "[1, , 3]",
        "(new Number(5))",
        "-0",
        '"s"',
        "({self:{}})",
        "(new Date(7))",
    ]
    assert value(r, "out.k") == "z"  # toSource is not enumerable


def test_log_raise_document_url_and_current_states_globals():
    doc = block_strategy("""<onentry><script>
      __Log('hello', 'label', 4);
      out.url = __GetDocumentURL(); out.states = __GetCurrentStates();
      __Raise('custom.event', {x: 1});
    </script></onentry>
    <transition event="custom.event" target="ok"><assign location="out.x" expr="_event.data.x"/></transition>""")
    r = run(doc)
    assert r.session.final_state == "ok"
    assert value(r, "out.url") == "http://orchweb.invalid/main.scxml"
    assert value(r, "out.states") == ["block"]
    assert value(r, "out.x") == 1
    assert r.platform.logs == [{"message": "hello", "label": "label", "level": 4}]
    assert any(rec["type"] == "log" and rec.get("value") == "hello" for rec in r.records)


def test_log_arguments_read_the_same_natively_and_through_json():
    # text-only calls cross natively, the rest (and a lone surrogate the binding cannot convert) as JSON
    doc = block_strategy("""<onentry><script>
      __Log('a'); __Log('b', 'L'); __Log('c', null, undefined); __Log(); __Log(undefined);
      __Log('lone \\ud800'); __Log({a: [1, undefined]}); __Log('x', 'l', 4); __Log('m', 'l', '4', 'extra');
      try { __Log('s', 'l', 's', 1n); } catch (e) { out.err = e.name; }
    </script></onentry><transition target="ok"/>""")
    r = run(doc)
    assert r.session.final_state == "ok"
    assert value(r, "out.err") == "TypeError"  # JSON.stringify of a BigInt, as before
    assert [(log["message"], log["label"], log["level"]) for log in r.platform.logs] == [
        ("a", None, None),
        ("b", "L", None),
        ("c", None, None),
        ("", None, None),
        (None, None, None),
        ("lone \ud800", None, None),
        ({"a": [1, None]}, None, None),
        ("x", "l", 4),
        ("m", "l", "4"),
    ]


def test_data_items_are_reachable_through_data_and_stay_distinct_from_script_vars():
    doc = document(
        """
  <state id="s">
    <datamodel><data id="system" expr="new Object()"/><data id="flag" expr="false"/><data id="pv"/></datamodel>
    <onentry><script>
      if (typeof _data.pv == "undefined") _data.pv = 'default';
      var system = new Object(); system.x = 1; _data.system.context = system;
    </script></onentry>
    <transition cond="_data.system.context.x == 1 &amp;&amp; _data.flag === false" target="ok"/>
  </state>
  <final id="ok"/>""",
        initial="s",
    )
    r = run(doc)
    assert r.session.final_state == "ok"
    assert value(r, "_data.pv") == "default"
    assert value(r, "JSON.stringify(_data.system)") == '{"context":{"x":1}}'


def test_xml_comments_inside_scripts_are_ignored():
    doc = block_strategy("""<onentry><script>out.a = 1;
      <!-- a comment in the middle of a Composer script -->
      out.b = 2;</script></onentry><transition target="ok"/>""")
    r = run(doc)
    assert value(r, "[out.a, out.b]") == [1, 2]


def test_pre_es6_const_can_be_declared_again_like_var():
    doc = block_strategy("""<onentry><script>const days = ['Sun', 'Mon'];</script>
      <script>const days = ['Sun']; out.n = days.length;</script></onentry><transition target="ok"/>""")
    r = run(doc)
    assert r.session.errors == []
    assert value(r, "out.n") == 1


def test_the_identifier_rewriter_leaves_strings_comments_and_properties_alone():
    src = "const a = 'const b'; // const c\nx.const = 1; /* const */ const d = 2;"
    assert rewrite_const(src) == "var a = 'const b'; // const c\nx.const = 1; /* const */ var d = 2;"
    assert replace_identifier("_my_prefix + '_my_prefix' + o._my_prefix", "_my_prefix", "'P'") == (
        "'P' + '_my_prefix' + o._my_prefix"
    )


IPD = b"""<?xml version="1.0" encoding="utf-8"?>
<scxml version="1.0" xmlns="http://www.w3.org/2005/07/scxml" xmlns:xi="http://www.w3.org/2001/XInclude"
    initial="app" profile="ecmascript" name="ipd">
  <script><xi:include href="../include/lib.js" parse="text"/></script>
  <state id="app" initial="Flow">
    <state id="Flow" initial="Flow._composer_entry">
      <xi:include href="Flow.scxml" parse="xml" resolveid="Flow" xpointer="_composer_entry"/>
      <transition event="done.state.Flow._composer_entry" target="end"/>
    </state>
  </state>
  <final id="end"><onentry><script>var outside = _my_prefix;</script></onentry></final>
</scxml>
"""
FLOW = b"""<?xml version="1.0" encoding="utf-8"?>
<scxml version="1.0" xmlns="http://www.w3.org/2005/07/scxml" initial="_composer_noboot" profile="ecmascript">
  <final id="_composer_noboot"/>
  <state id="_composer_entry" initial="$$_MY_PREFIX_$$.Entry1">
    <state id="Entry1">
      <onentry><script>var seen = libValue + ':' + _my_prefix;<!-- a comment -->seen += '/' + _my_prefix;</script>
        <send event="'Entry1.done'"><param name="resolveid" expr="_my_prefix"/></send></onentry>
      <transition event="Entry1.done" cond="_event.data.resolveid == _my_prefix" target="$$_MY_PREFIX_$$.Wait"/>
    </state>
    <state id="Wait">
      <onentry><raise event="$$_MY_PREFIX_$$.go"/></onentry>
      <transition event="$$_MY_PREFIX_$$.go" target="$$_MY_PREFIX_$$.Done"/>
    </state>
    <final id="Done"/>
  </state>
</scxml>
"""


def test_composer_includes_prefix_ids_substitute_the_placeholder_and_define_my_prefix():
    files = {"src-gen/IPD_x.scxml": IPD, "src-gen/Flow.scxml": FLOW, "include/lib.js": b"var libValue = 'lib';"}
    r = run(files, fakes={"none": True})
    assert r.entry == "src-gen/IPD_x.scxml"
    assert r.session.final_state == "end"
    assert entered(r) == [
        "app",
        "Flow",
        "Flow._composer_entry",
        "Flow.Entry1",
        "Flow.Wait",
        "Flow.Done",
        "end",
    ]
    assert value(r, "seen") == "lib:Flow/Flow"
    assert value(r, "outside") == ""


def test_a_missing_include_is_a_definition_error_with_its_line():
    with pytest.raises(DocumentError) as info:
        run({"src-gen/IPD_x.scxml": IPD, "include/lib.js": b""})
    assert any(e.file == "src-gen/IPD_x.scxml" and e.line == 7 for e in info.value.errors)


def test_unknown_action_elements_of_a_module_are_definition_errors():
    with pytest.raises(DocumentError, match="unknown action element"):
        run(block_strategy("<onentry><queue:teleport/></onentry>"))


def test_missing_required_attributes_are_definition_errors():
    with pytest.raises(DocumentError, match="missing required attribute 'interactionid'"):
        run(block_strategy("<onentry><ixn:terminate requestid=\"App_B['r']\"/></onentry>"))


def test_underscore_attributes_are_accepted_and_ignored():
    doc = block_strategy("""<onentry><ixn:attach requestid="App_B['r']" interactionid="system.InteractionID"
        _custom="x"/></onentry><transition event="interaction.attach.done" target="ok"/>""")
    r = run(doc)
    assert r.session.final_state == "ok"
    assert "_custom" not in r.summary()["requests"][0]["attributes"]


def test_error_event_names_follow_ors():
    profile = ORSProfile()
    assert profile.error_event_name("execution", "TypeError") == "error.script.TypeError"
    assert profile.error_event_name("execution") == "error.execution"
    assert profile.error_event_name("communication") == "error.send.failed"


def test_wildcard_and_prefix_descriptors_match_like_ors():
    doc = block_strategy("""<onentry><raise event="error.queue.submit"/></onentry>
      <transition event="error.*" target="ok"/>""")
    assert run(doc).session.final_state == "ok"


def test_history_is_not_supported_by_ors():
    doc = document(
        """<state id="s"><history id="h"><transition target="a"/></history><state id="a"/></state>""",
        initial="s",
    )
    with pytest.raises(DocumentError, match="<history> is not supported by the ors profile"):
        run(doc)


def test_an_attribute_written_as_a_labelled_statement_evaluates_to_its_expression():
    doc = block_strategy("""<onentry><send event="'X'"><param name="caller_id" expr="caller_id: system.ThisDN"/>
      </send></onentry><transition event="X" target="ok"><assign location="out.c" expr="_event.data.caller_id"/>
      </transition>""")
    r = run(doc)
    assert value(r, "out.c") == "9000"


def test_log_level_is_kept_in_the_trace():
    doc = block_strategy("""<onentry><log expr="'oops'" level="2"/><log expr="'plain'"/></onentry>
      <transition target="ok"/>""")
    r = run(doc)
    logs = [(rec["value"], rec.get("level")) for rec in r.records if rec["type"] == "log"]
    assert ("oops", 2) in logs and ("plain", None) in logs


def test_send_to_the_ors_internal_target_raises_an_internal_event():
    doc = block_strategy("""<onentry><send event="'inner'" target="'_internal'"/><send event="'outer'"/></onentry>
      <transition event="outer" target="failed"/><transition event="inner" target="ok"/>""")
    r = run(doc)
    assert r.session.final_state == "ok"


def test_a_strategy_looping_on_log_keeps_a_bounded_record():
    doc = block_strategy("""<onentry><script>for (var i = 0; i &lt; 12000; i++) __Log('x' + i);</script></onentry>
      <transition target="ok"/>""")
    # 12,000 calls into Python in one script: the default 1 s deadline is for runaway scripts and
    # was reached on a busy machine; this test is about the record's bound, not speed.
    r = run(doc, limits=replace(DEFAULT_LIMITS, js_time=60.0))
    assert r.session.final_state == "ok"
    assert len(r.platform.logs) == 10_000


def test_the_data_mirror_program_is_made_once_per_document():
    # `_data`'s program is the same text for every session of a document: made by the first
    from simulator.ors import dialect

    doc = document(
        """
  <state id="s">
    <datamodel><data id="b" expr="2"/><data id="a"/></datamodel>
    <transition target="ok"/>
  </state>
  <final id="ok"/>""",
        initial="s",
    )
    first = run(doc)
    assert value(first, "[_data.b, 'a' in _data]") == [2, True]
    model = first.session.model
    assert '["a", "b"]' in dialect._DATA_PROGRAMS[model]
    dialect._DATA_PROGRAMS[model] += " var mirrored_by_the_kept_program = 1;"
    second = run(doc)
    assert second.session.model is model  # the process's model of the document
    assert value(second, "[_data.b, 'a' in _data, mirrored_by_the_kept_program]") == [2, True, 1]
