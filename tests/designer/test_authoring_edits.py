"""Edit operations as minimal text edits (designer/authoring/edits.py), on small charts and on
the shared Composer samples (read from ../shared or ORCHWEB_SHARED, never copied in)."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from designer.authoring import edits
from designer.authoring.edits import EditError, IncomingTransitions
from designer.authoring.xmltext import parse
from simulator.ors.analysis import lint_project
from simulator.ors.project import load_project
from tests.conftest import locate_shared, require_shared

SAMPLES = (locate_shared() or Path("shared-not-found")) / "ors-samples"
PROJECT = SAMPLES / "crd-gvp-wf"
IPD = "src-gen/IPD_default_MainWorkflow.scxml"
MAIN = "src-gen/Main.scxml"


@pytest.fixture
def needs_samples() -> None:
    require_shared()  # skips on a developer machine without them, fails in CI


SMALL = """<?xml version="1.0"?>
<!-- a comment that must survive -->
<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="a">
  <state id="a"   initial='a1'>
    <state id="a1">
      <transition event="go" cond="In('b') &amp;&amp; x" target="b"/>
    </state>
    <transition event="e1" target="b a"/>
  </state>
  <state id="b">
    <transition event="back" target="a"/>
  </state>
  <final id="done"/>
</scxml>
"""


def read_sample(path: str) -> str:
    return (PROJECT / path).read_bytes().decode("utf-8")


def differing_lines(old: str, new: str) -> list[str]:
    """Lines removed or added (keepends, so line endings count)."""
    diff = difflib.ndiff(old.splitlines(keepends=True), new.splitlines(keepends=True))
    return [line for line in diff if line[:1] in "+-"]


def lint_with(files: dict[str, bytes], path: str, text: str) -> list[tuple[str, str]]:
    changed = {**files, path: text.encode("utf-8")}
    return sorted((f["rule"], f["message"]) for f in lint_project(changed, IPD))


# -- samples ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("needs_samples")
def test_an_attribute_edit_of_the_composer_ipd_changes_exactly_one_line() -> None:
    text = read_sample(IPD)
    ref = {"line": 95, "tag": "transition"}
    result = edits.set_attribute(text, ref, "event", "application.started")
    removed_added = differing_lines(text, result.text)
    assert len(removed_added) == 2
    assert removed_added[0].startswith("- ") and 'event="application.start"' in removed_added[0]
    assert removed_added[1] == removed_added[0].replace("application.start", "application.started").replace(
        "- ", "+ ", 1
    )
    assert edits.changed_lines(text, result.text, result.changes) == [95]
    assert len(result.text) == len(text) + 2
    parse(result.text)  # re-parses (tokenizer and lxml agree)


@pytest.mark.usefixtures("needs_samples")
def test_setting_a_cond_on_the_ipd_keeps_crlf_lines_and_lints_like_before() -> None:
    files = load_project(PROJECT)
    text = read_sample(IPD)
    assert "\r\n" in text
    result = edits.set_attribute(text, {"line": 95, "tag": "transition"}, "cond", "typeof system == 'object'")
    assert len(differing_lines(text, result.text)) == 2
    line = result.text.splitlines(keepends=True)[94]
    assert line.endswith("\r\n") == text.splitlines(keepends=True)[94].endswith("\r\n")
    assert "cond=\"typeof system == 'object'\"" in line
    assert lint_with(files, IPD, result.text) == lint_with(files, IPD, text)


@pytest.mark.usefixtures("needs_samples")
def test_renaming_a_composer_block_changes_only_its_references_and_still_lints_clean() -> None:
    files = load_project(PROJECT)
    text = read_sample(MAIN)
    references = text.count("$$_MY_PREFIX_$$.Exit1")
    assert references > 3
    result = edits.rename_state(text, "Exit1", "ExitMain")
    assert "$$_MY_PREFIX_$$.Exit1" not in result.text
    assert result.text.count("$$_MY_PREFIX_$$.ExitMain") == references
    changed = differing_lines(text, result.text)
    # every changed line differs only by the name
    removed = [line[2:] for line in changed if line.startswith("- ")]
    added = [line[2:] for line in changed if line.startswith("+ ")]
    assert [line.replace("Exit1", "ExitMain") for line in removed] == added
    assert all("Exit1" in line for line in removed)
    # the marker comment follows, the reserved helper states keep their names
    assert "<!-- This is the ExitMain State -->" in result.text
    assert 'id="_reserved_Exit1_final"' in result.text
    assert lint_with(files, MAIN, result.text) == lint_with(files, MAIN, text)


@pytest.mark.usefixtures("needs_samples")
def test_every_sample_file_round_trips_through_the_tokenizer() -> None:
    for path in sorted(SAMPLES.rglob("*.scxml")):
        text = path.read_bytes().decode("utf-8")
        doc = parse(text)
        assert doc.root.local == "scxml"
        assert edits.apply_changes(text, []) == text


# -- small charts ----------------------------------------------------------------------------


def test_rename_follows_targets_initial_and_in_conditions() -> None:
    result = edits.rename_state(SMALL, "b", "busy")
    assert 'cond="In(\'busy\') &amp;&amp; x" target="busy"' in result.text
    assert 'target="busy a"' in result.text
    assert '<state id="busy">' in result.text
    assert result.info["references"] == 3
    result = edits.rename_state(SMALL, "a", "alpha")
    assert 'initial="alpha"' in result.text and 'target="b alpha"' in result.text
    assert "<state id=\"alpha\"   initial='a1'>" in result.text
    assert "<!-- a comment that must survive -->" in result.text


def test_rename_refuses_a_duplicate_or_invalid_id() -> None:
    with pytest.raises(EditError, match="already exists"):
        edits.rename_state(SMALL, "a", "b")
    with pytest.raises(EditError, match="not a valid state id"):
        edits.rename_state(SMALL, "a", "1st")
    with pytest.raises(EditError, match="no state"):
        edits.rename_state(SMALL, "zz", "y")


def test_deleting_a_targeted_state_lists_its_incoming_transitions_first() -> None:
    with pytest.raises(IncomingTransitions) as caught:
        edits.delete_state(SMALL, "b")
    incoming = caught.value.incoming
    assert [(t["source"], t["event"]) for t in incoming] == [("a1", "go"), ("a", "e1")]
    assert edits.incoming_transitions(SMALL, "b") == incoming


def test_deleting_a_state_with_delete_removes_the_transitions_or_their_target_token() -> None:
    result = edits.delete_state(SMALL, "b", incoming="delete")
    assert 'id="b"' not in result.text
    assert 'event="go"' not in result.text  # its only target was b
    assert '<transition event="e1" target="a"/>' in result.text  # b dropped from "b a"
    assert result.text.splitlines()[0:3] == SMALL.splitlines()[0:3]
    assert "\n\n" not in result.text  # whole lines removed, no blank left behind


def test_deleting_a_state_with_retarget_points_the_transitions_elsewhere() -> None:
    result = edits.delete_state(SMALL, "b", incoming="retarget", to="done")
    assert 'cond="In(\'b\') &amp;&amp; x" target="done"' in result.text
    assert 'target="done a"' in result.text
    with pytest.raises(EditError, match="deleted with"):
        edits.delete_state(SMALL, "a", incoming="retarget", to="a1")


def test_deleting_the_initial_child_drops_the_initial_attribute() -> None:
    result = edits.delete_state(SMALL, "a", incoming="delete")
    assert '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0">' in result.text
    assert 'target="a"' not in result.text


def test_add_state_goes_last_with_the_siblings_indentation() -> None:
    result = edits.add_state(SMALL, "a", "final", "a2")
    assert '    <final id="a2"/>\n    <transition event="e1"' not in result.text
    assert '    <transition event="e1" target="b a"/>\n    <final id="a2"/>\n  </state>' in result.text
    assert len(differing_lines(SMALL, result.text)) == 1


def test_add_state_inside_a_self_closing_state_opens_it() -> None:
    with pytest.raises(EditError, match="cannot hold states"):
        edits.add_state(SMALL, "done", "state", "x")
    text = SMALL.replace('<state id="b">\n    <transition event="back" target="a"/>\n  </state>', '<state id="b" />')
    result = edits.add_state(text, "b", "parallel", "p", initial=True)
    assert '<state id="b" initial="p">\n    <parallel id="p"/>\n  </state>' in result.text


def test_add_transition_goes_after_the_last_transition() -> None:
    result = edits.add_transition(SMALL, "b", event="again", cond="x > 1", target="a1")
    assert (
        '<transition event="back" target="a"/>\n    <transition event="again" cond="x &gt; 1" target="a1"/>\n'
        in result.text
    )
    with pytest.raises(EditError, match="no state"):
        edits.add_transition(SMALL, "b", target="nowhere")


def test_retarget_and_delete_a_transition_by_line() -> None:
    ref = {"line": 6, "tag": "transition"}
    result = edits.retarget_transition(SMALL, ref, "done")
    assert 'cond="In(\'b\') &amp;&amp; x" target="done"' in result.text
    result = edits.delete_element(SMALL, ref)
    assert "go" not in result.text
    assert len(differing_lines(SMALL, result.text)) == 1


def test_set_attribute_adds_and_removes_keeping_the_rest() -> None:
    result = edits.set_attribute(SMALL, "b", "type", None)
    assert result.text == SMALL
    result = edits.set_attribute(SMALL, {"id": "b", "child": "transition"}, "type", "internal")
    assert '<transition event="back" target="a" type="internal"/>' in result.text
    result = edits.set_attribute(result.text, {"id": "b", "child": "transition"}, "event", None)
    assert '<transition target="a" type="internal"/>' in result.text
    result = edits.set_attribute(SMALL, "a", "initial", 'say "hi"')
    assert "initial='say \"hi\"'" in result.text  # the attribute's own quote kept
    with pytest.raises(EditError, match="rename_state"):
        edits.set_attribute(SMALL, "a", "id", "z")


def test_a_new_attribute_on_a_multi_line_tag_gets_its_own_line() -> None:
    text = '<scxml xmlns="http://www.w3.org/2005/07/scxml"\r\n\t\tversion="1.0">\r\n</scxml>\r\n'
    result = edits.set_attribute(text, {"root": True}, "name", "x")
    assert (
        result.text
        == '<scxml xmlns="http://www.w3.org/2005/07/scxml"\r\n\t\tversion="1.0"\r\n\t\tname="x">\r\n</scxml>\r\n'
    )


def test_set_content_replaces_an_onentry() -> None:
    text = SMALL.replace('<state id="b">', '<state id="b">\n    <onentry><log expr="1"/></onentry>')
    result = edits.set_content(text, {"id": "b", "child": "onentry"}, '<log expr="2"/>')
    assert '<onentry><log expr="2"/></onentry>' in result.text
    result = edits.insert_markup(SMALL, "b", '<onexit>\n\t<log expr="3"/>\n</onexit>')
    assert '    <onexit>\n      <log expr="3"/>\n    </onexit>\n  </state>' in result.text
    with pytest.raises(EditError, match="not well-formed"):
        edits.insert_markup(SMALL, "b", "<onexit>")


def test_operations_refuse_a_broken_document_and_unknown_operations() -> None:
    with pytest.raises(EditError, match="not well-formed"):
        edits.add_state("<scxml><state></scxml>", None, "state", "x")
    with pytest.raises(EditError, match="unknown operation"):
        edits.apply_operation(SMALL, {"op": "explode"})
    with pytest.raises(EditError, match="unexpected keyword"):
        edits.apply_operation(SMALL, {"op": "add_state", "parent": None, "kind": "state", "id": "x", "colour": "red"})
    with pytest.raises(EditError, match="missing a required argument: 'kind'"):
        edits.apply_operation(SMALL, {"op": "add_state", "parent": None, "id": "x"})


def test_rename_and_delete_accept_a_reference_by_line() -> None:
    result = edits.rename_state(SMALL, new_id="busy", element={"line": 10, "tag": "state"})
    assert '<state id="busy">' in result.text and 'target="busy a"' in result.text
    with pytest.raises(IncomingTransitions):
        edits.delete_state(SMALL, element={"line": 10, "tag": "state"})
    with pytest.raises(EditError, match="not a state"):
        edits.rename_state(SMALL, new_id="x", element={"line": 6, "tag": "transition"})


def test_set_kind_changes_only_the_element_name() -> None:
    result = edits.set_kind(SMALL, "b", "parallel")
    assert '<parallel id="b">\n    <transition event="back" target="a"/>\n  </parallel>' in result.text
    assert len(differing_lines(SMALL, result.text)) == 4
    assert '<state id="done"/>' in edits.set_kind(SMALL, "done", "state").text
    with pytest.raises(EditError, match="no child states"):
        edits.set_kind(SMALL, "a", "final")
    with pytest.raises(EditError, match="inside a compound state"):
        edits.set_kind(SMALL, "b", "history")


@pytest.mark.usefixtures("needs_samples")
def test_renaming_every_sample_state_and_back_gives_the_original_bytes() -> None:
    for path in sorted(SAMPLES.rglob("*.scxml")):
        text = path.read_bytes().decode("utf-8")
        for sid in list(edits.Editor(text).states)[::5]:  # every 5th: the big workflow has ~100
            renamed = edits.rename_state(text, sid, "Zz_renamed").text
            assert "Zz_renamed" in renamed
            assert edits.rename_state(renamed, "Zz_renamed", sid).text == text, (path.name, sid)


@pytest.mark.usefixtures("needs_samples")
def test_setting_and_removing_an_attribute_on_every_sample_element_round_trips() -> None:
    text = read_sample(MAIN)
    doc = parse(text)
    for node in list(doc.elements())[::20]:
        ref = {
            "line": node.line,
            "tag": node.name,
            "nth": [n for n in doc.elements() if n.line == node.line and n.name == node.name].index(node),
        }
        added = edits.set_attribute(text, ref, "_orchweb_probe", "a<b & 'c'")
        assert len(edits.changed_lines(text, added.text, added.changes)) == 1
        assert len(added.text.splitlines()) - len(text.splitlines()) in (0, 1)  # +1: one attribute per line
        assert edits.set_attribute(added.text, ref, "_orchweb_probe", None).text == text


@pytest.mark.usefixtures("needs_samples")
def test_renaming_a_composer_block_whole_renames_its_helpers_events_and_request_object() -> None:
    files = load_project(PROJECT)
    text = read_sample(MAIN)
    result = edits.rename_state(text, "TargetByAG", "TargetAgents", block=True)
    assert re.search(r"(?<![A-Za-z0-9])TargetByAG(?![A-Za-z0-9])", result.text) is None
    assert 'id="_reserved_TargetAgents_redirect"' in result.text
    assert "requestid=\"App_TargetAgents['requestid']\"" in result.text
    assert "var App_TargetAgents = new Object();" in result.text
    assert "event=\"'TargetAgents.aftersubmit.timeout.elapsed'\"" in result.text
    assert result.info["renamed"]["_reserved_TargetByAG_submit"] == "_reserved_TargetAgents_submit"
    assert edits.rename_state(result.text, "TargetAgents", "TargetByAG", block=True).text == text
    assert lint_with(files, MAIN, result.text) == [
        (rule, message.replace("TargetByAG", "TargetAgents")) for rule, message in lint_with(files, MAIN, text)
    ]
