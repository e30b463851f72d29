"""The statechart graph (Graph JSON contract) of small documents and of the sample IPD."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from simulator.scxml.graph import build_graph

SCXML = "http://www.w3.org/2005/07/scxml"
EXT = "urn:example:ext"


def doc(body: str, attrs: str = 'initial="a"') -> dict[str, bytes]:
    """A one-file project whose body starts on line 3 of main.scxml."""
    text = (
        f'<scxml xmlns="{SCXML}" xmlns:ext="{EXT}" xmlns:xi="http://www.w3.org/2001/XInclude"\n'
        f'       version="1.0" name="machine" {attrs}>\n{body}\n</scxml>\n'
    )
    return {"main.scxml": text.encode()}


def by_id(graph: dict) -> dict[str, dict]:
    return {s["id"]: s for s in graph["states"]}


HIERARCHY = """\
<state id="a">
  <initial><transition target="a2"/></initial>
  <state id="a1"/>
  <state id="a2"/>
  <history id="h" type="deep"><transition target="a1"/></history>
</state>
<parallel id="p">
  <state id="r1"/>
  <state id="r2" initial="r2b"><state id="r2a"/><state id="r2b"/></state>
</parallel>
<state id="c"><state id="c1"/><state id="c2"/><history id="hs"/></state>
<final id="done"/>"""


def test_it_nests_states_with_their_kind_parent_and_children():
    graph = build_graph(doc(HIERARCHY), "main.scxml")
    states = by_id(graph)
    assert graph["root"] == "machine"
    assert graph["errors"] == []
    assert states["machine"]["kind"] == "scxml"
    assert states["machine"]["children"] == ["a", "p", "c", "done"]
    assert states["p"]["kind"] == "parallel"
    assert states["p"]["children"] == ["r1", "r2"]
    assert states["r2a"]["parent"] == "r2"
    assert states["done"]["kind"] == "final"
    assert states["h"]["kind"] == "history"
    assert states["h"]["history"] == "deep"
    assert states["hs"]["history"] == "shallow"
    assert states["a1"]["history"] is None
    assert (states["r2b"]["file"], states["r2b"]["line"]) == ("main.scxml", 11)


def test_it_gives_each_compound_state_its_default_initial_children():
    states = by_id(build_graph(doc(HIERARCHY), "main.scxml"))
    pseudo = states["a"]["initial"][0]
    assert states[pseudo]["kind"] == "initial"
    assert states[pseudo]["parent"] == "a"
    assert states["r2"]["initial"] == ["r2b"]  # the attribute
    assert states["c"]["initial"] == ["c1"]  # the first child in document order
    assert states["machine"]["initial"] == ["a"]
    assert states["p"]["initial"] == []  # every region is entered
    assert states["a1"]["initial"] == []


def test_it_describes_transitions_with_event_cond_type_and_flags():
    body = """\
<state id="a">
  <transition event="go  go.on" cond="x &gt; 1" target="b c" type="internal"/>
  <transition cond="y"/>
  <transition event="tick"/>
</state>
<state id="b"/><state id="c"/>"""
    graph = build_graph(doc(body), "main.scxml")
    first, second, third = graph["transitions"]
    assert first == {
        "id": "t1",
        "source": "a",
        "targets": ["b", "c"],
        "event": "go  go.on",
        "cond": "x > 1",
        "type": "internal",
        "eventless": False,
        "targetless": False,
        "file": "main.scxml",
        "line": 4,
        "actions": [],
    }
    assert (second["eventless"], second["targetless"], second["type"], second["event"]) == (
        True,
        True,
        "external",
        None,
    )
    assert (third["eventless"], third["targetless"], third["id"]) == (False, True, "t3")


def test_it_lists_each_extension_call_on_the_state_or_transition_that_makes_it():
    body = """\
<state id="a">
  <onentry>
    <ext:submit queue="'VQ'" route="true"><ext:targets><ext:target name="'G'"/></ext:targets></ext:submit>
    <log expr="'no extension call'"/>
  </onentry>
  <onexit><if cond="true"><ext:cancel requestid="r"/></if></onexit>
  <invoke type="scxml" src="child.scxml"><finalize><ext:note/></finalize></invoke>
  <transition event="e" target="b"><foreach array="[1]" item="i"><ext:attach id="'x'"/></foreach></transition>
</state>
<state id="b"/>"""
    graph = build_graph(doc(body), "main.scxml", modules={EXT: "queue"})
    actions = by_id(graph)["a"]["actions"]
    assert [(a["action"], a["phase"], a["line"]) for a in actions] == [
        ("submit", "onentry", 5),
        ("cancel", "onexit", 8),
        ("note", "invoke", 9),
    ]
    assert actions[0] == {
        "namespace": EXT,
        "module": "queue",
        "action": "submit",
        "phase": "onentry",
        "attributes": {"queue": "'VQ'", "route": "true"},
        "file": "main.scxml",
        "line": 5,
        "children": [
            {
                "element": "targets",
                "attributes": {},
                "line": 5,
                "children": [{"element": "target", "attributes": {"name": "'G'"}, "line": 5, "children": []}],
            }
        ],
    }
    (transition,) = graph["transitions"]
    assert [(a["action"], a["phase"], a["attributes"]) for a in transition["actions"]] == [
        ("attach", "transition", {"id": "'x'"})
    ]
    assert by_id(graph)["b"]["actions"] == []


def test_actions_of_an_inline_invoked_document_are_not_the_invoking_states():
    body = f"""\
<state id="a">
  <invoke type="scxml"><content><scxml xmlns="{SCXML}" initial="c">
    <state id="c"><onentry><ext:inner/></onentry></state>
  </scxml></content><finalize><ext:outer/></finalize></invoke>
</state>"""
    graph = build_graph(doc(body), "main.scxml")
    assert [a["action"] for a in by_id(graph)["a"]["actions"]] == ["outer"]
    assert "c" not in by_id(graph)


def test_it_leaves_the_module_unknown_without_a_namespace_mapping():
    body = '<state id="a"><onentry><ext:go/></onentry></state>'
    (action,) = by_id(build_graph(doc(body), "main.scxml"))["a"]["actions"]
    assert (action["namespace"], action["module"]) == (EXT, None)


def test_it_generates_stable_ids_for_states_without_one():
    graph = build_graph(doc('<state><state id="x"/></state><final/>', attrs=""), "main.scxml")
    ids = [s["id"] for s in graph["states"]]
    assert len(set(ids)) == len(ids) == 4
    assert ids == [
        s["id"] for s in build_graph(doc('<state><state id="x"/></state><final/>', attrs=""), "main.scxml")["states"]
    ]
    assert by_id(graph)["x"]["parent"] == ids[1]


def test_the_root_takes_the_document_name_unless_a_state_has_that_id():
    assert build_graph(doc('<state id="a"/>'), "main.scxml")["root"] == "machine"
    graph = build_graph(doc('<state id="a"/><state id="machine"/>'), "main.scxml")
    assert graph["root"] == "scxml"
    assert by_id(graph)["machine"]["parent"] == "scxml"


def test_it_draws_included_states_with_the_file_and_line_they_come_from():
    files = doc('<state id="a"><xi:include href="sub/part.scxml" parse="xml" xpointer="inner"/></state>')
    files["sub/part.scxml"] = (
        f'<scxml xmlns="{SCXML}">\n'
        '  <state id="unused"/>\n'
        '  <state id="inner">\n'
        '    <transition event="e" target="inner"/>\n'
        "  </state>\n"
        "</scxml>\n"
    ).encode()
    graph = build_graph(files, "main.scxml")
    states = by_id(graph)
    assert "unused" not in states
    assert (states["inner"]["parent"], states["inner"]["file"], states["inner"]["line"]) == ("a", "sub/part.scxml", 3)
    assert (graph["transitions"][0]["file"], graph["transitions"][0]["line"]) == ("sub/part.scxml", 4)
    assert graph["errors"] == []


def test_it_returns_errors_instead_of_raising_on_malformed_xml():
    graph = build_graph(
        {"main.scxml": b"<scxml xmlns='http://www.w3.org/2005/07/scxml'>\n<state id='a'>\n</scxml>"}, "main.scxml"
    )
    assert graph["root"] is None and graph["states"] == [] and graph["transitions"] == []
    assert graph["errors"] and graph["errors"][0]["file"] == "main.scxml"
    assert graph["errors"][0]["line"] == 3
    assert "syntax" in graph["errors"][0]["message"].lower()


@pytest.mark.parametrize(
    "files",
    [{}, {"main.scxml": b""}, {"main.scxml": b"\xff\xfe\x00garbage"}, {"main.scxml": b"<html/>"}],
    ids=["missing", "empty", "binary", "not-scxml"],
)
def test_it_never_raises_on_bad_input(files):
    graph = build_graph(files, "main.scxml")
    assert graph["errors"]
    assert graph["entry"] == "main.scxml"


def test_it_reports_an_unresolved_include_in_errors_with_its_line():
    graph = build_graph(doc('<state id="a">\n<xi:include href="gone.scxml" parse="xml"/>\n</state>'), "main.scxml")
    assert [(e["file"], e["line"]) for e in graph["errors"]] == [("main.scxml", 4)]
    assert "a" in by_id(graph)


# --- The sample IPD (Composer project) -------------------------------------------------------

IPD = "src-gen/IPD_default_MainWorkflow.scxml"
GENESYS = "http://www.genesyslab.com/modules/"


def sample_project(shared_dir: Path) -> dict[str, bytes]:
    root = shared_dir / "ors-samples" / "crd-gvp-wf"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def raw_extension_calls(element: etree._Element) -> list[tuple[str, int]]:
    """Genesys-namespace elements whose parent is an SCXML element, counted on the raw file."""
    calls = []
    for el in element.iter():
        parent = el.getparent()
        if (
            isinstance(el.tag, str)
            and el.tag.startswith("{" + GENESYS)
            and parent is not None
            and parent.tag.startswith("{" + SCXML)
        ):
            calls.append((etree.QName(el).localname, el.sourceline))
    return calls


def test_the_sample_ipd_graph_lists_every_state_of_the_included_workflow_with_its_prefix(shared_dir):
    from simulator.ors.analysis import build_graph as ors_build_graph

    files = sample_project(shared_dir)
    graph = ors_build_graph(files, IPD)
    main = etree.fromstring(files["src-gen/Main.scxml"])
    entry = next(el for el in main.iter() if el.get("id") == "_composer_entry")
    expected = {
        "MainWorkflow." + el.get("id")
        for el in entry.iter(*(f"{{{SCXML}}}{tag}" for tag in ("state", "parallel", "final", "history")))
    }
    assert len(expected) == 54  # Main.scxml has 55 states; _composer_noboot is outside the xpointer
    states = by_id(graph)
    assert expected <= set(states)
    assert states["MainWorkflow._composer_entry"]["parent"] == "MainWorkflow"
    assert states["MainWorkflow.Entry1"]["file"] == "src-gen/Main.scxml"
    assert states["MainWorkflow.Entry1"]["line"] == 160
    assert graph["errors"] == []


def test_the_sample_ipd_graph_lists_every_extension_call_with_its_module(shared_dir):
    from simulator.ors.analysis import build_graph as ors_build_graph

    files = sample_project(shared_dir)
    graph = ors_build_graph(files, IPD)
    main = etree.fromstring(files["src-gen/Main.scxml"])
    entry = next(el for el in main.iter() if el.get("id") == "_composer_entry")
    expected = sorted(
        [("src-gen/Main.scxml", name, line) for name, line in raw_extension_calls(entry)]
        + [(IPD, name, line) for name, line in raw_extension_calls(etree.fromstring(files[IPD]))]
    )
    drawn = [a for s in graph["states"] for a in s["actions"]] + [a for t in graph["transitions"] for a in t["actions"]]
    assert sorted((a["file"], a["action"], a["line"]) for a in drawn) == expected
    assert len(expected) == 17
    modules = {a["action"]: a["module"] for a in drawn}
    assert modules["submit"] == "queue"
    assert modules["redirect"] == "ixn"
    assert modules["playandcollect"] == "dialog"
    assert modules["fetch"] == "session"
