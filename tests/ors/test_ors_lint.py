"""ORS lint rules on small Composer-style strategies, and no false positives on the sample IPD."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.ors.analysis import lint_project, module_names
from simulator.ors.lint import descriptor_matches

HEADER = """\
<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" profile="ecmascript" initial="start"
       xmlns:queue="http://www.genesyslab.com/modules/queue"
       xmlns:ixn="http://www.genesyslab.com/modules/interaction"
       xmlns:dialog="http://www.genesyslab.com/modules/dialog"
       xmlns:session="http://www.genesyslab.com/modules/session"
       xmlns:foo="http://www.genesyslab.com/modules/foo">
"""  # the body starts on line 7


def strategy(body: str) -> dict[str, bytes]:
    return {"src-gen/IPD_test.scxml": (HEADER + body + "\n</scxml>\n").encode()}


def lint(body: str, rule: str | None = None) -> list[dict]:
    found = lint_project(strategy(body), "src-gen/IPD_test.scxml")
    return [f for f in found if rule is None or f["rule"] == rule]


def lines(items: list[dict]) -> list[int | None]:
    return [f["line"] for f in items]


CONFORMING = """\
<datamodel><data id="App" expr="new Object()"/></datamodel>
<state id="start">
  <transition event="interaction.added" target="route"/>
</state>
<state id="route">
  <onentry>
    <queue:submit route="false" requestid="App['requestid']" interactionid="_genesys.ixn.interactions[0]"
                  timeout="10" clearontimeout="true" ordertype="'max'" orderstat="'StatAgentLoading'">
      <queue:targets><queue:target name="'GHB'" type="agentgroup" statserver="'Stat_Server'"/></queue:targets>
    </queue:submit>
  </onentry>
  <transition event="queue.submit.done" cond="_event.data.requestid == App['requestid']" target="redirect"/>
  <transition event="error.queue.submit" target="done"/>
  <transition event="interaction.deleted" target="done"/>
</state>
<state id="redirect" initial="redirect.run">
  <state id="redirect.run">
    <onentry>
      <ixn:redirect requestid="App['requestid']" interactionid="'ixn1'" to="_event.data.targetselected"
                    detach="true" type="_genesys.queue.rType.RouteTypeDefault"/>
    </onentry>
    <transition event="interaction.redirect.done" target="redirect.end"/>
    <transition event="error" target="redirect.end"/>
  </state>
  <final id="redirect.end"><onentry><raise event="app.finished"/></onentry></final>
  <transition event="done.state.redirect" target="done"/>
  <transition event="app.finished"/>
</state>
<final id="done"/>"""


def test_a_conforming_strategy_has_no_findings():
    assert lint(CONFORMING) == []


def test_it_reports_an_unknown_action_of_a_module():
    body = '<state id="start"><onentry>\n<queue:submitt requestid="r"/>\n</onentry></state>'
    (item,) = lint(body, "unknown-action")
    assert (item["file"], item["line"], item["severity"]) == ("src-gen/IPD_test.scxml", 8, "error")
    assert "submitt" in item["message"]


def test_it_reports_an_action_of_a_genesys_namespace_no_module_declares():
    body = '<state id="start"><onentry>\n<foo:bar/>\n</onentry></state>'
    (item,) = lint(body, "unknown-action")
    assert item["line"] == 8
    assert "modules/foo" in item["message"]


def test_it_reports_a_missing_required_attribute():
    body = '<state id="start"><onentry>\n<ixn:redirect interactionid="x"/>\n</onentry></state>'
    (item,) = lint(body, "missing-attribute")
    assert item["line"] == 8
    assert "'to'" in item["message"]


def test_it_reports_a_missing_required_attribute_of_a_child_element():
    body = """\
<state id="start"><onentry>
<queue:submit requestid="r">
  <queue:targets>
    <queue:targetid/>
  </queue:targets>
</queue:submit>
</onentry></state>"""
    (item,) = lint(body, "missing-attribute")
    assert item["line"] == 10
    assert "'expr'" in item["message"]


def test_it_reports_an_unknown_attribute_but_accepts_ors_underscore_attributes():
    body = '<state id="start"><onentry>\n<queue:submit requestid="r" priorty="2" _persist="true"/>\n</onentry></state>'
    (item,) = lint(body, "unknown-attribute")
    assert (item["line"], item["column"], item["severity"]) == (8, 1, "warning")
    assert "'priorty'" in item["message"]


@pytest.mark.parametrize(
    ("action", "attribute"),
    [
        (
            '<queue:submit requestid="r"><queue:targets><queue:target type="agentgrp"/></queue:targets></queue:submit>',
            "type",
        ),
        ('<queue:submit requestid="r" ordertype="\'maximum\'"/>', "ordertype"),
        ('<queue:submit requestid="r" timeout="\'soon\'"/>', "timeout"),
        ('<queue:submit requestid="r" route="\'maybe\'"/>', "route"),
    ],
    ids=["literal-value", "expression-literal-value", "number-type", "boolean-type"],
)
def test_it_reports_bad_literal_values(action, attribute):
    (item,) = lint(f'<state id="start"><onentry>\n{action}\n</onentry></state>', "bad-value")
    assert (item["line"], item["severity"]) == (8, "error")
    assert f"'{attribute}'" in item["message"]


def test_it_accepts_values_known_only_at_run_time():
    body = (
        '<state id="start"><onentry>\n<queue:submit requestid="r" timeout="toNumber(t)" ordertype="kind"/>\n'
        "</onentry></state>"
    )
    assert lint(body, "bad-value") == []


def test_it_reports_a_child_element_the_action_does_not_accept():
    body = (
        '<state id="start"><onentry>\n<queue:submit requestid="r">\n  <queue:bogus/>\n</queue:submit>\n'
        "</onentry></state>"
    )
    (item,) = lint(body, "bad-child")
    assert item["line"] == 9


def test_it_reports_syntax_errors_in_action_expressions():
    body = '<state id="start"><onentry>\n<queue:submit requestid="r" queue="\'VQ\' +"/>\n</onentry></state>'
    (item,) = lint(body, "js-syntax")
    assert item["line"] == 8
    assert "queue" in item["message"]


def test_it_reports_events_nothing_can_produce():
    body = """\
<state id="start">
  <transition event="Block1.done" target="start"/>
  <transition event="queue.submit.done" target="start"/>
  <transition event="dialog.start.done error.dialog.start" target="start"/>
</state>"""
    items = lint(body, "unproducible-event")
    assert [(f["line"], f["severity"]) for f in items] == [(8, "warning"), (9, "warning"), (10, "warning")]
    assert "'Block1.done'" in items[0]["message"]
    assert "'queue.submit.done'" in items[1]["message"]  # no queue:submit in the strategy
    assert "'dialog.start.done'" in items[2]["message"]  # error.* events are always possible


def test_events_of_the_strategy_the_platform_and_the_core_are_producible():
    body = """\
<state id="start">
  <onentry>
    <raise event="Raised.done"/>
    <script>if (x) { __Raise('Scripted.done', {a: 1}); } __Raise(stored.name, stored.params);</script>
    <send eventexpr="'Sent.done'" delay="'1s'"/>
    <session:fetch requestid="r" srcexpr="'http://x'"/>
  </onentry>
  <transition event="Raised" target="start"/>
  <transition event="Sent.done" target="start"/>
  <transition event="Scripted.done" target="start"/>
  <transition event="session.fetch.done" target="start"/>
  <transition event="error.session.fetch" target="start"/>
  <transition event="interaction.deleted interaction.partystatechanged" target="start"/>
  <transition event="error.script.TypeError error.* error" target="start"/>
  <transition event="done.state.wrap cancel.successful *" target="start"/>
</state>
<state id="wrap"><final id="wrap.end"/></state>"""
    assert lint(body, "unproducible-event") == []


def test_ors_send_event_attributes_are_expressions():
    body = """\
<state id="start">
  <onentry><send event="'Block1.done'"/></onentry>
  <transition event="Block1.done" target="start"/>
  <transition event="Block2.done" target="start"/>
</state>"""
    (item,) = lint(body, "unproducible-event")
    assert item["line"] == 10  # the quoted name is the event sent; Block2.done is not


def test_a_send_with_a_computed_event_name_can_produce_anything():
    body = """\
<state id="start">
  <onentry><send eventexpr="prefix + '.done'"/></onentry>
  <transition event="Whatever.done" target="start"/>
</state>"""
    assert lint(body, "unproducible-event") == []


@pytest.mark.parametrize(
    ("descriptor", "event", "matches"),
    [
        ("error", "error.queue.submit", True),
        ("error.queue", "error.queue.submit", True),
        ("error.queue.submit", "error.", True),
        ("queue.submit", "queue.submit.done", True),
        ("queue.sub", "queue.submit.done", False),
        ("queue.submit.done.more", "queue.submit.done", False),
        ("done.state.a", "done.state.a", True),
    ],
)
def test_event_descriptors_match_by_token_prefix(descriptor, event, matches):
    assert descriptor_matches(descriptor, event) is matches


def test_every_extension_namespace_has_a_badge_name():
    names = set(module_names().values())
    assert {"queue", "ixn", "dialog", "session", "ws", "statistic", "classification", "resource"} <= names
    assert module_names()["http://www.genesyslab.com/modules/interaction"] == "ixn"


# --- The sample IPD --------------------------------------------------------------------------

IPD = "src-gen/IPD_default_MainWorkflow.scxml"

#: Findings on the sample that are true statements about it. Composer generates the detach /
#: re-attach states of a `route="false"` target block, but with this block's settings the
#: submit goes straight to `_fetch_deviation` -> `_redirect`: no transition enters
#: `_submit_delay` (so neither `_detach`, `_detach_run`, `_detach_delay`), and nothing enters
#: `_attach`. `wreqGetCallerDetail` is a block disabled in Composer (its comment says so) that
#: no transition targets any more.
JUSTIFIED: set[tuple[str, str, int]] = {
    ("unreachable-state", "src-gen/Main.scxml", 855),  # MainWorkflow._reserved_TargetByAG_submit_delay
    ("unreachable-state", "src-gen/Main.scxml", 863),  # MainWorkflow._reserved_TargetByAG_detach
    ("unreachable-state", "src-gen/Main.scxml", 868),  # MainWorkflow._reserved_TargetByAG_detach_run
    ("unreachable-state", "src-gen/Main.scxml", 879),  # MainWorkflow._reserved_TargetByAG_detach_delay
    ("unreachable-state", "src-gen/Main.scxml", 886),  # MainWorkflow._reserved_TargetByAG_attach
    ("unreachable-state", "src-gen/Main.scxml", 1460),  # MainWorkflow.wreqGetCallerDetail (disabled block)
}


def test_the_sample_ipd_has_no_findings_beyond_the_justified_ones(shared_dir: Path):
    root = shared_dir / "ors-samples" / "crd-gvp-wf"
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    found = {(f["rule"], f["file"], f["line"]) for f in lint_project(files, IPD)}
    assert found == JUSTIFIED


def test_it_finds_the_stock_suspend_for_event_waiting_for_a_literal_event_name(shared_dir: Path):
    """Composer's stock SuspendForEvent waits for an event literally named `eventValue`."""
    root = shared_dir / "ors-samples" / "composer-stock"
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    files["src-gen/IPD_harness.scxml"] = b"""\
<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:xi="http://www.w3.org/2001/XInclude" initial="main">
  <state id="main" initial="Wait._composer_entry">
    <xi:include href="../src/subRoutines/SuspendForEvent.scxml" parse="xml"
                resolveid="Wait" xpointer="_composer_entry"/>
    <transition event="done.state.Wait._composer_entry" target="end"/>
  </state>
  <final id="end"/>
</scxml>
"""
    found = lint_project(files, "src-gen/IPD_harness.scxml")
    assert [(f["rule"], f["file"], f["line"]) for f in found] == [
        ("unproducible-event", "src/subRoutines/SuspendForEvent.scxml", 39),
        ("unreachable-state", "src/subRoutines/SuspendForEvent.scxml", 49),  # the `Error` final: never targeted
    ]
    assert "'eventValue'" in found[0]["message"]
    assert "Wait.Error" in found[1]["message"]


def test_a_workflow_linted_on_its_own_gets_one_explanation_instead_of_a_cascade(shared_dir: Path):
    root = shared_dir / "ors-samples" / "crd-gvp-wf"
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    found = lint_project(files, "src-gen/Main.scxml")
    assert [(f["rule"], f["file"], f["line"]) for f in found] == [("composer-fragment", "src-gen/Main.scxml", 1)]
    assert "IPD" in found[0]["message"]
