"""Composer-style blocks (designer/authoring/blocks.py): each block's SCXML loads, lints clean
with the ORS lint and simulates; a strategy built only from blocks routes with the default fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from designer.authoring import blocks, edits
from simulator.ors.analysis import lint_project
from simulator.runners.driver import OrsRun

PATH = "strategy.scxml"


class Builder:
    """Applies edit operations one after the other, as the browser does."""

    def __init__(self, text: str | None = None) -> None:
        self.text = text or blocks.new_document()

    def block(self, kind: str, params: dict[str, Any], **kwargs: Any) -> Builder:
        self.text = edits.add_block(self.text, kind, params, **kwargs).text
        return self

    def files(self) -> dict[str, bytes]:
        return {PATH: self.text.encode("utf-8")}

    def lint(self) -> list[dict[str, Any]]:
        return lint_project(self.files(), PATH)

    def run(self, fakes: dict[str, Any] | None = None) -> dict[str, Any]:
        run = OrsRun(self.files(), PATH, fakes=fakes or {})
        run.run(max_time=600)
        return run.summary()


def routing_strategy() -> Builder:
    """Entry -> Web request -> Branching -> Target with a fallback -> Exit, only from blocks."""
    return (
        Builder()
        .block("entry", {"name": "Entry1", "variables": [{"name": "profile", "value": ""}]})
        .block(
            "webrequest",
            {"name": "GetProfile", "url": "'http://crm.example/profile'", "result": "profile"},
            connect_from="Entry1",
        )
        .block("exit", {"name": "Exit1"})
        .block("redirect", {"name": "Fallback", "to": "'5000'", "next": "Exit1", "error": "Exit1"})
        .block(
            "target",
            {
                "name": "ToSupport",
                "targets": [{"type": "agentgroup", "name": "'Support'"}],
                "next": "Exit1",
                "error": "Fallback",
            },
        )
        .block(
            "branching",
            {
                "name": "IsVip",
                "conditions": [{"cond": "profile.vip == true", "target": "Fallback"}],
                "default": "ToSupport",
            },
            connect_from="GetProfile",
        )
    )


def test_a_strategy_built_only_from_blocks_lints_clean_and_routes_with_the_default_fakes() -> None:
    strategy = routing_strategy()
    assert strategy.lint() == []
    summary = strategy.run()
    assert summary["status"] == "final"
    assert summary["outcome"] == {"status": "routed", "target": "7001@SIPSwitch.DN", "via": "queue:submit"}
    assert [r["action"] for r in summary["requests"]][:2] == ["fetch", "submit"]


def test_the_target_fallback_routes_when_no_agent_is_available() -> None:
    summary = routing_strategy().run({"queue": {"available": False}})
    assert summary["status"] == "final"
    assert summary["outcome"]["via"] == "ixn:redirect"


def test_the_branching_takes_the_first_condition_that_holds() -> None:
    fakes = {"http": {"default": {"status": 200, "body": {"vip": True}}}}
    summary = routing_strategy().run(fakes)
    assert summary["outcome"]["via"] == "ixn:redirect"
    assert "submit" not in [r["action"] for r in summary["requests"]]


def test_the_generated_blocks_have_composers_shape() -> None:
    text = routing_strategy().text
    assert "<!-- This is the ToSupport State -->" in text
    assert "<send event=\"'Entry1.done'\">" in text
    assert "cond=\"_event.data.requestid==App_GetProfile['requestid']\"" in text
    assert '<state id="_reserved_ToSupport_submit">' in text
    assert (
        'event="queue.cancel.done" cond="_event.data.requestid==App_ToSupport[\'queue.submit.requestid\']"'
        ' target="Fallback"' in text
    )
    assert text.count("var App_") == 6  # one declaration per block, in the frame's script
    assert "xmlns:session=" in text


#: one strategy per block: Entry -> the block (every port to Exit1) -> Exit1
BLOCK_PARAMS: dict[str, dict[str, Any]] = {
    "assign": {"assignments": [{"variable": "x", "expr": "1 + 2"}], "next": "Exit1", "error": "Exit1"},
    "ecmascript": {"script": "if (x < 3) { x = 'a&b'; }", "next": "Exit1", "error": "Exit1"},
    "log": {"message": "'hello ' + x", "level": 2, "next": "Exit1"},
    "branching": {"conditions": [{"cond": "x == 1", "target": "Exit1"}], "default": "Exit1"},
    "webrequest": {
        "method": "post",
        "url": "'http://svc.example/a'",
        "body": "JSON.stringify({n: 1})",
        "enctype": "application/json",
        "parameters": [{"name": "ani", "expr": "'555'"}],
        "timeout": 5,
        "result": "x",
        "next": "Exit1",
        "error": "Exit1",
    },
    "target": {
        "targets": [{"type": "skill", "name": "'Loan > 1'"}, {"type": "agent", "name": "'A1'"}],
        "virtual_queue": "'VQ_Sales'",
        "priority": 5,
        "route": False,
        "next": "Exit1",
        "error": "Exit1",
    },
    "redirect": {"to": "'5000'", "next": "Exit1", "error": "Exit1"},
    "play_message": {"prompt": "'Welcome'", "language": "'English (US)'", "next": "Exit1", "error": "Exit1"},
    "play_application": {"application": "'gvp:welcome'", "result": "x", "next": "Exit1", "error": "Exit1"},
    "menu": {
        "prompt": "'Press 1'",
        "branches": [{"digit": "1", "target": "Exit1"}],
        "result": "x",
        "default": "Exit1",
        "error": "Exit1",
    },
    "user_input": {"prompt": "'Your PIN'", "max_digits": 4, "result": "x", "next": "Exit1", "error": "Exit1"},
    "user_data": {"pairs": [{"key": "segment", "value": "'gold'"}], "next": "Exit1", "error": "Exit1"},
    "disconnect": {},
}


@pytest.mark.parametrize("kind", sorted(BLOCK_PARAMS))
def test_each_block_loads_lints_clean_and_simulates(kind: str) -> None:
    strategy = Builder().block("entry", {"name": "Entry1", "variables": [{"name": "x", "value": "1"}]})
    if kind != "disconnect":  # a Disconnect ends the workflow itself
        strategy.block("exit", {"name": "Exit1"})
    strategy.block(kind, {"name": "Block1", **BLOCK_PARAMS[kind]})
    strategy.text = edits.retarget_transition(strategy.text, {"id": "Entry1", "child": "transition"}, "Block1").text
    assert strategy.lint() == []
    summary = strategy.run()
    assert summary["status"] == "final", summary
    assert summary["errors"] == []
    assert "Block1" in _visited(strategy)


def _visited(strategy: Builder) -> list[str]:
    run = OrsRun(strategy.files(), PATH, fakes={}, trace=True)
    run.run(max_time=600)
    return [s for r in run.records for s in r.get("entered", [])]


def test_blocks_added_to_a_composer_workflow_use_its_prefix_helpers_and_declarations() -> None:
    text = Builder().block("entry", {"name": "Entry1"}).text
    composer = text.replace('initial="Entry1"', 'initial="$$_MY_PREFIX_$$.Entry1"').replace(
        "if (typeof system", "storeEvent(_event); if (typeof system"
    )
    result = edits.add_block(
        composer, "assign", {"name": "SetX", "assignments": [{"variable": "x", "expr": "1"}]}, connect_from="Entry1"
    )
    assert 'target="$$_MY_PREFIX_$$.SetX"' in result.text
    assert '<script>storeEvent("SetX", _event);</script>' in result.text
    assert "var App_Entry1 = new Object();\n\t\t\t\tvar App_SetX = new Object();" in result.text


def test_a_block_in_a_file_without_declarations_declares_its_request_object() -> None:
    text = blocks.new_document().replace("</scxml>", '\t<state id="main"/>\n</scxml>')
    result = edits.add_block(text, "redirect", {"name": "R", "to": "'1'"}, parent="main")
    assert "var App_R = new Object();" in result.text


def test_block_parameters_are_checked() -> None:
    with pytest.raises(edits.EditError, match="url: required"):
        edits.add_block(blocks.new_document(), "webrequest", {"name": "W"})
    with pytest.raises(edits.EditError, match="method: one of"):
        edits.add_block(blocks.new_document(), "webrequest", {"name": "W", "url": "'x'", "method": "patch"})
    with pytest.raises(edits.EditError, match="no state 'Nowhere'"):
        edits.add_block(blocks.new_document(), "log", {"name": "L", "message": "'m'", "next": "Nowhere"})
    with pytest.raises(edits.EditError, match="unknown parameter"):
        edits.add_block(blocks.new_document(), "log", {"name": "L", "message": "'m'", "colour": "red"})
    with pytest.raises(edits.EditError, match="already exists"):
        Builder().block("entry", {"name": "Entry1"}).block("log", {"name": "Entry1", "message": "'m'"})


def test_a_namespace_the_block_needs_is_declared_on_the_root() -> None:
    text = '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0">\n\t<state id="s"/>\n</scxml>\n'
    result = edits.add_block(text, "play_message", {"name": "P", "prompt": "'hi'"}, parent="s")
    assert result.text.startswith(
        '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" xmlns:dialog="http://www.genesyslab.com/modules/dialog">'
    )
    other = text.replace('version="1.0"', 'version="1.0" xmlns:d="http://www.genesyslab.com/modules/dialog"')
    result = edits.add_block(other, "play_message", {"name": "P", "prompt": "'hi'"}, parent="s")
    assert "<d:play " in result.text and "xmlns:dialog" not in result.text


def test_the_palette_describes_every_block() -> None:
    kinds = [b["kind"] for b in blocks.palette()]
    assert kinds[0] == "entry" and "target" in kinds and "exit" in kinds
    target = next(b for b in blocks.palette() if b["kind"] == "target")
    assert [p["name"] for p in target["params"]][:3] == ["name", "targets", "timeout"]


def test_the_designer_docs_describe_every_block() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "designer.md").read_text(encoding="utf-8")
    for kind, spec in blocks.BLOCKS.items():
        assert f"### {spec.label} (`{kind}`)" in docs
        for param in spec.params:
            assert f"| `{param.name}`" in docs
        # the example shown is what the block generates today
        shown = spec.snippet(blocks.Style(frame=kind == "entry")).replace("\t", "  ")
        assert f"```xml\n{shown}\n```" in docs, kind


def test_the_palette_offers_each_blocks_example_as_a_snippet_for_the_text_editor() -> None:
    for entry in blocks.palette():
        spec = blocks.BLOCKS[entry["kind"]]
        assert f'id="{spec.example["name"]}"' in entry["snippet"]
        assert "_composer_start" not in entry["snippet"]  # no workflow frame in a snippet


def test_connecting_from_a_user_data_block_links_every_way_out_of_it() -> None:
    strategy = (
        Builder()
        .block("entry", {"name": "Entry1"})
        .block("user_data", {"name": "Tag", "pairs": [{"key": "segment", "value": "'gold'"}]}, connect_from="Entry1")
        .block("exit", {"name": "Exit1"}, connect_from="Tag")
    )
    assert strategy.text.count('target="Exit1"') == 4  # timeout, nothing to change, cancel done / refused
    assert strategy.lint() == []
    summary = strategy.run()
    assert summary["status"] == "final" and summary["errors"] == []
    with pytest.raises(edits.EditError, match="no unconnected output"):
        strategy.block("log", {"name": "L", "message": "'m'"}, connect_from="Tag")


def test_an_entry_block_added_to_a_document_with_a_start_state_becomes_where_it_starts() -> None:
    text = blocks.new_document().replace('profile="ecmascript"', 'profile="ecmascript" initial="start"')
    text = text.replace("</scxml>", '\t<state id="start"/>\n</scxml>')
    strategy = Builder(text).block("entry", {"name": "Entry1"}).block("exit", {"name": "Exit1"}, connect_from="Entry1")
    assert 'initial="_composer_start"' in strategy.text and 'initial="start"' not in strategy.text
    assert strategy.run()["status"] == "final"
