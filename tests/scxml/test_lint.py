"""Generic lint rules: each finds an error planted in a small document, at the right line."""

from __future__ import annotations

import pytest

from simulator.scxml.lint import lint_project

SCXML = "http://www.w3.org/2005/07/scxml"


def project(body: str, attrs: str = 'initial="a"', **extra: bytes) -> dict[str, bytes]:
    """A project whose entry main.scxml has `body` starting on line 3."""
    text = (
        f'<scxml xmlns="{SCXML}" xmlns:xi="http://www.w3.org/2001/XInclude"\n'
        f'       version="1.0" datamodel="ecmascript" {attrs}>\n{body}\n</scxml>\n'
    )
    return {"main.scxml": text.encode(), **{k.replace("__", "/").replace("_", "."): v for k, v in extra.items()}}


def findings(files: dict[str, bytes], rule: str | None = None) -> list[dict]:
    found = lint_project(files, "main.scxml")
    return [f for f in found if rule is None or f["rule"] == rule]


def where(items: list[dict]) -> list[tuple[str, int | None]]:
    return [(f["file"], f["line"]) for f in items]


CLEAN = """\
<datamodel><data id="n" expr="0"/></datamodel>
<state id="a">
  <onentry><script>var greeting = 'hi';
    n = n + 1;</script></onentry>
  <transition event="go" cond="n &gt; 0" target="b"><assign location="n" expr="n * 2"/></transition>
</state>
<parallel id="b">
  <state id="r1"><transition event="stop" target="end"/></state>
  <state id="r2" initial="r2b"><state id="r2a"/><state id="r2b"><transition target="r2a"/></state></state>
</parallel>
<final id="end"/>"""


def test_a_clean_document_has_no_findings():
    assert findings(project(CLEAN)) == []


def test_findings_follow_the_lint_json_shape():
    (item,) = findings(project('<state id="a"><transition target="nowhere"/></state>'), "unknown-target")
    assert set(item) == {"rule", "severity", "file", "line", "column", "message"}
    assert item["severity"] == "error"
    assert "nowhere" in item["message"]


def test_it_reports_xml_syntax_errors_with_line_and_column():
    files = {
        "main.scxml": b'<scxml xmlns="http://www.w3.org/2005/07/scxml">\n  <state id="a">\n  <final id=b/>\n</scxml>'
    }
    (item,) = findings(files, "xml-syntax")
    assert (item["file"], item["line"]) == ("main.scxml", 3)
    assert item["column"] == 13


def test_it_reports_xml_syntax_errors_of_other_project_files_too():
    files = project('<state id="a"/>')
    files["other.scxml"] = b"<scxml>\n<oops></scxml>"
    assert where(findings(files, "xml-syntax")) == [("other.scxml", 2)]


def test_it_reports_an_include_that_does_not_resolve():
    body = '<state id="a">\n  <xi:include href="missing.scxml" parse="xml"/>\n</state>'
    assert where(findings(project(body), "unresolved-include")) == [("main.scxml", 4)]


def test_it_reports_a_missing_script_include_and_warns_on_one_differing_only_in_case():
    body = (
        '<script><xi:include href="../include/user/Api.js" parse="text"/></script>\n'
        '<state id="a">\n  <xi:include href="Main3.scxml" parse="xml"/>\n</state>'
    )
    files = project(body, main3_scxml=f'<scxml xmlns="{SCXML}"><state id="m"/></scxml>'.encode())
    assert where(findings(files, "unresolved-include")) == [("main.scxml", 3)]
    # Composer is a Windows tool: the include resolves, with a warning for case-sensitive servers.
    (case,) = findings(files, "include-case")
    assert (case["severity"], case["line"]) == ("warning", 5)
    assert "differs in case from 'main3.scxml': a case-sensitive web server will not find it" in case["message"]


def test_it_reports_an_include_whose_xpointer_matches_nothing():
    sub = f'<scxml xmlns="{SCXML}"><state id="x"/></scxml>'.encode()
    body = '<state id="a">\n  <xi:include href="sub.scxml" parse="xml" xpointer="y"/>\n</state>'
    assert where(findings(project(body, sub_scxml=sub), "unresolved-include")) == [("main.scxml", 4)]


def test_it_reports_duplicate_state_ids():
    body = '<state id="a"><state id="x"/></state>\n<state id="x"/>'
    (item,) = findings(project(body), "duplicate-id")
    assert (item["line"], item["severity"]) == (4, "error")
    assert "main.scxml:3" in item["message"]


def test_it_reports_unknown_transition_targets():
    body = '<state id="a">\n  <transition event="e" target="a b missing"/>\n</state>\n<state id="b"/>'
    (item,) = findings(project(body), "unknown-target")
    assert (item["line"], item["column"]) == (4, 3)
    assert "'missing'" in item["message"]


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ('<state id="a" initial="nope"><state id="a1"/></state>', 3),
        ('<state id="a" initial="b1"><state id="a1"/></state>\n<state id="b"><state id="b1"/></state>', 3),
        ('<state id="a">\n<state id="a1" initial="a"/></state>', 4),
        ('<state id="a"><initial>\n<transition target="b"/></initial><state id="a1"/></state>\n<state id="b"/>', 4),
    ],
    ids=["unknown", "not-a-descendant", "atomic", "initial-element"],
)
def test_it_reports_invalid_initial_states(body, line):
    assert where(findings(project(body), "invalid-initial")) == [("main.scxml", line)]


def test_it_reports_an_invalid_initial_of_the_root():
    assert where(findings(project('<state id="a"/>', attrs='initial="zzz"'), "invalid-initial")) == [("main.scxml", 2)]


def test_it_reports_states_no_transition_can_enter():
    body = """\
<state id="a" initial="a2">
  <state id="a1"/>
  <state id="a2"><transition event="e" target="c"/></state>
</state>
<state id="b"><state id="b1"/></state>
<final id="c"/>"""
    items = findings(project(body), "unreachable-state")
    assert [(f["line"], f["severity"]) for f in items] == [(4, "warning"), (7, "warning"), (7, "warning")]
    assert {f["message"].split("'")[1] for f in items} == {"a1", "b", "b1"}


def test_reachability_enters_parallel_regions_history_defaults_and_targets_ancestors():
    body = """\
<state id="a"><transition event="e" target="p1x"/><transition event="h" target="hist"/></state>
<parallel id="p">
  <state id="p1"><state id="p1a"/><state id="p1x"/></state>
  <state id="p2"><state id="p2a"/><state id="p2b"/></state>
</parallel>
<state id="q"><history id="hist"><transition target="q2"/></history><state id="q1"/><state id="q2"/></state>"""
    unreachable = {f["message"].split("'")[1] for f in findings(project(body), "unreachable-state")}
    assert unreachable == {"p1a", "p2b", "q1"}


def test_it_reports_states_with_no_way_out():
    body = """\
<state id="a"><transition event="e" target="stuck"/><transition event="f" target="p"/></state>
<state id="stuck">
  <transition event="x"><log expr="'looping'"/></transition>
</state>
<parallel id="p">
  <state id="leg"/>
  <state id="other"><transition event="quit" target="end"/></state>
</parallel>
<final id="end"/>"""
    items = findings(project(body), "no-way-out")
    assert [(f["line"], f["severity"]) for f in items] == [(4, "warning")]
    assert "'stuck'" in items[0]["message"]


def test_a_state_left_through_an_ancestor_has_a_way_out():
    body = '<state id="a"><state id="a1"/><transition event="e" target="end"/></state><final id="end"/>'
    assert findings(project(body), "no-way-out") == []


def test_it_reports_script_syntax_errors_at_the_line_inside_the_script():
    body = '<state id="a">\n  <onentry><script>\n    var ok = 1;\n    var broken = ;\n  </script></onentry>\n</state>'
    (item,) = findings(project(body), "js-syntax")
    assert (item["file"], item["line"]) == ("main.scxml", 6)
    assert item["column"] is not None
    assert "SyntaxError" in item["message"]


def test_it_reports_expression_syntax_errors_in_cond_expr_and_location():
    body = """\
<datamodel><data id="d" expr="{a: 1,}"/><data id="e" expr="[1,,"/></datamodel>
<state id="a">
  <transition event="e" cond="x === = 1" target="a"/>
  <onentry><assign location="a..b" expr="1"/><log expr="'ok'"/></onentry>
</state>"""
    assert where(findings(project(body), "js-syntax")) == [("main.scxml", 3), ("main.scxml", 5), ("main.scxml", 6)]


def test_it_reports_the_simulators_private_names_where_a_document_uses_them():
    body = """\
<datamodel><data id="__orchweb_h"/><data id="ok" expr="__orchweb_t"/></datamodel>
<state id="a">
  <onentry><foreach array="[1]" item="__orchweb_i"/><assign location="ok" expr="'__orchweb_ in text'"/></onentry>
  <onentry><script>var fine = 1, my__orchweb_k = 1;
    var __orchweb_k = 2;</script></onentry>
</state>"""
    items = findings(project(body), "js-syntax")
    assert where(items) == [
        ("main.scxml", 3),
        ("main.scxml", 3),
        ("main.scxml", 5),
        ("main.scxml", 5),
        ("main.scxml", 7),
    ]
    assert all("reserved by the simulator" in item["message"] for item in items), items
    assert items[-1]["column"] == 9  # the script's own `__orchweb_k`, not the one inside `my__orchweb_k`
    assert {item["message"].split(":")[0] for item in items} == {
        "<data id>",
        "<data expr>",
        "<foreach item>",
        "<assign expr>",
        "<script>",
    }


def test_it_reports_syntax_errors_of_an_included_script_in_the_included_file():
    body = '<script><xi:include href="lib/util.js" parse="text"/></script>\n<state id="a"/>'
    files = project(body, lib__util_js=b"function ok() {}\n\nfunction bad( {\n  return 1;\n}\n")
    (item,) = findings(files, "js-syntax")
    assert item["file"] == "lib/util.js"
    assert item["line"] is not None and item["line"] >= 3


def test_it_reports_syntax_errors_of_every_project_script_file_even_when_not_included():
    files = project('<state id="a"/>', lib__orphan_js=b"var a = 1;\nvar b = {;\n")
    (item,) = findings(files, "js-syntax")
    assert (item["file"], item["line"]) == ("lib/orphan.js", 2)


def test_it_only_compiles_scripts_and_never_runs_them():
    body = (
        '<script>while (true) {}</script>\n<state id="a"><transition cond="(function(){ while(true){} })()"/></state>'
    )
    assert findings(project(body), "js-syntax") == []


def test_it_reports_other_definition_errors_of_the_loader():
    files = {"main.scxml": b'<!DOCTYPE x [<!ENTITY e "boom">]>\n<scxml xmlns="http://www.w3.org/2005/07/scxml"/>'}
    items = findings(files)
    assert any(f["rule"] in ("definition", "xml-syntax") and f["file"] == "main.scxml" for f in items)


@pytest.mark.parametrize(
    "files",
    [{}, {"main.scxml": b""}, {"main.scxml": b"\xff\xfe\x00garbage"}, {"main.scxml": b"<html/>"}],
    ids=["missing", "empty", "binary", "not-scxml"],
)
def test_it_never_raises_on_bad_input(files):
    items = lint_project(files, "main.scxml")
    assert items
    assert all(f["severity"] == "error" for f in items)
