"""Hostile XML: the loader resolves nothing external, expands nothing, and has size/depth limits."""

from __future__ import annotations

import pytest

from simulator.scxml.loader import MAX_DOCUMENT_BYTES, SOURCE_ATTR, load_document, parse_xml
from simulator.scxml.model import get_model, model_from_string

from .conftest import chart

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol9 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
]>
<scxml xmlns="http://www.w3.org/2005/07/scxml"><datamodel><data id="x">&lol9;</data></datamodel>
<state id="s"/></scxml>"""


def xxe(uri: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE scxml [<!ENTITY xxe SYSTEM "{uri}">]>'
        '<scxml xmlns="http://www.w3.org/2005/07/scxml"><datamodel><data id="x">&xxe;</data></datamodel>'
        '<state id="s"/></scxml>'
    ).encode()


def test_it_rejects_billion_laughs_without_expanding_entities():
    doc = load_document({"a.scxml": BILLION_LAUGHS}, "a.scxml")
    assert doc.root is None
    assert "DOCTYPE" in doc.errors[0].message
    assert doc.errors[0].line == 2


@pytest.mark.parametrize("uri", ["file:///etc/passwd", "http://127.0.0.1:9/evil.dtd"])
def test_it_rejects_external_entities(uri):
    model = get_model({"a.scxml": xxe(uri)}, "a.scxml")
    assert model.root is None
    assert any("DOCTYPE" in e.message for e in model.errors)


def test_it_never_resolves_a_doctype_even_when_parsed_directly():
    root, errors = parse_xml(xxe("file:///etc/passwd"), "x.scxml")
    assert root is None and errors


def test_it_rejects_a_50_mb_document_with_a_clear_error():
    body = b"<state id='s'/>" + b"<!--" + b"x" * (50 * 1024 * 1024) + b"-->"
    data = b'<scxml xmlns="http://www.w3.org/2005/07/scxml">' + body + b"</scxml>"
    doc = load_document({"big.scxml": data}, "big.scxml")
    assert doc.root is None
    assert "too large" in doc.errors[0].message
    assert str(MAX_DOCUMENT_BYTES) in doc.errors[0].message


def test_it_rejects_absurdly_deep_nesting():
    depth = 100_000
    data = b'<scxml xmlns="http://www.w3.org/2005/07/scxml">' + b"<state>" * depth + b"</state>" * depth + b"</scxml>"
    doc = load_document({"deep.scxml": data}, "deep.scxml")
    assert doc.root is None
    assert "depth" in doc.errors[0].message.lower()


def test_it_still_runs_a_reasonably_deep_chart(run):
    depth = 60
    body = "".join(f'<state id="s{i}">' for i in range(depth)) + "</state>" * depth
    r = run(chart(body))
    assert r.configuration[-1] == f"s{depth - 1}"


def test_a_good_document_loads_after_hostile_ones():
    load_document({"a.scxml": BILLION_LAUGHS}, "a.scxml")
    model = model_from_string(chart('<state id="ok"/>'))
    assert not model.errors and model.states_by_id["ok"]


def test_xinclude_resolves_only_project_files_and_keeps_their_location():
    main = (
        b'<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:xi="http://www.w3.org/2001/XInclude">\n'
        b'  <script><xi:include href="../include/lib.js" parse="text"/></script>\n'
        b'  <xi:include href="../include/frag.xml" xpointer="sub"/>\n'
        b"</scxml>"
    )
    frag = (
        b'<root xmlns="http://www.w3.org/2005/07/scxml">\n\n'
        b'<state id="sub"><transition event="x" target="sub"/></state></root>'
    )
    project = {"src/main.scxml": main, "include/lib.js": b"var lib = 1;", "include/frag.xml": frag}
    model = get_model(project, "src/main.scxml")
    assert not model.errors
    sub = model.states_by_id["sub"]
    assert (sub.file, sub.line) == ("include/frag.xml", 3)
    assert model.transitions[0].file == "include/frag.xml"
    assert model.scripts[0].source == "var lib = 1;"
    assert sub.element.get(SOURCE_ATTR) == "include/frag.xml"


@pytest.mark.parametrize(
    "href",
    ["/etc/passwd", "file:///etc/passwd", "http://127.0.0.1/x.xml", "../../outside.xml", "missing.xml"],
)
def test_xinclude_outside_the_project_is_a_definition_error_with_its_line(href):
    main = (
        '<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:xi="http://www.w3.org/2001/XInclude">\n'
        f'<state id="a"/>\n<xi:include href="{href}"/>\n</scxml>'
    ).encode()
    model = get_model({"main.scxml": main}, "main.scxml")
    assert [(e.file, e.line) for e in model.errors] == [("main.scxml", 3)]
    assert "xi:include" in model.errors[0].message


def test_recursive_xinclude_is_reported_not_followed():
    ns = b'xmlns="http://www.w3.org/2005/07/scxml" xmlns:xi="http://www.w3.org/2001/XInclude"'
    a = b"<scxml " + ns + b'><xi:include href="b.xml"/></scxml>'
    b = b"<state " + ns + b' id="b"><xi:include href="b.xml"/></state>'
    doc = load_document({"a.scxml": a, "b.xml": b}, "a.scxml")
    assert any("recursive" in e.message for e in doc.errors)


def test_xml_syntax_errors_carry_line_and_column():
    doc = load_document({"a.scxml": b"<scxml>\n  <state>\n</scxml>"}, "a.scxml")
    assert doc.root is None
    assert doc.errors[0].line == 3 and doc.errors[0].column
