"""The document model accepts every child the W3C Recommendation (sections 3-6) allows in each
parent, and refuses what it forbids. Every accepted shape also runs through the interpreter."""

from __future__ import annotations

import pytest

from simulator.scxml.model import CONTENT_MODEL, model_from_string
from simulator.scxml.profile import Profile

from .conftest import Run, chart

PASS = '<final id="pass"/><final id="fail"/>'
#: entering a history state with no recorded configuration takes its default transition
HISTORY = (
    '<state id="start"><transition target="h"/></state><state id="s"><history id="h"><transition target="b"/>'
    '</history><state id="a"/><state id="b"><transition target="pass"/></state></state>' + PASS
)

#: (parent, child) -> a document using that shape that must end in <final id="pass">
ACCEPTED: dict[tuple[str, str], str] = {
    ("scxml", "state"): '<state id="s"><transition target="pass"/></state>' + PASS,
    ("scxml", "parallel"): '<parallel id="p"><state id="a"/><transition target="pass"/></parallel>' + PASS,
    ("scxml", "final"): PASS,
    ("scxml", "datamodel"): '<datamodel><data id="x" expr="1"/></datamodel>'
    '<state id="s"><transition cond="x == 1" target="pass"/><transition target="fail"/></state>' + PASS,
    ("scxml", "script"): "<script>var x = 2;</script>"
    '<state id="s"><transition cond="x == 2" target="pass"/><transition target="fail"/></state>' + PASS,
    ("state", "onentry"): '<state id="s"><onentry><raise event="e"/></onentry>'
    '<transition event="e" target="pass"/></state>' + PASS,
    ("state", "onexit"): '<state id="s"><onexit><raise event="e"/></onexit><transition target="t"/></state>'
    '<state id="t"><transition event="e" target="pass"/></state>' + PASS,
    ("state", "transition"): '<state id="s"><transition target="pass"/></state>' + PASS,
    ("state", "initial"): '<state id="s"><initial><transition target="b"/></initial><state id="a"/>'
    '<state id="b"><transition target="pass"/></state></state>' + PASS,
    ("state", "state"): '<state id="s"><state id="a"><transition target="pass"/></state></state>' + PASS,
    ("state", "parallel"): '<state id="s"><parallel id="p"><state id="a"/><transition target="pass"/></parallel>'
    "</state>" + PASS,
    ("state", "final"): '<state id="s"><final id="f"/><transition event="done.state.s" target="pass"/></state>' + PASS,
    ("state", "history"): HISTORY,
    ("state", "datamodel"): '<state id="s"><datamodel><data id="x" expr="3"/></datamodel>'
    '<transition cond="x == 3" target="pass"/><transition target="fail"/></state>' + PASS,
    ("state", "invoke"): '<state id="s"><invoke><content><scxml xmlns="http://www.w3.org/2005/07/scxml" '
    'version="1.0"><final id="f"/></scxml></content></invoke>'
    '<transition event="done.invoke" target="pass"/></state>' + PASS,
    ("parallel", "onentry"): '<parallel id="p"><onentry><raise event="e"/></onentry><state id="a"/>'
    '<transition event="e" target="pass"/></parallel>' + PASS,
    ("parallel", "onexit"): '<parallel id="p"><onexit><raise event="e"/></onexit><state id="a"/>'
    '<transition target="t"/></parallel><state id="t"><transition event="e" target="pass"/></state>' + PASS,
    ("parallel", "transition"): '<parallel id="p"><state id="a"/><transition target="pass"/></parallel>' + PASS,
    ("parallel", "state"): '<parallel id="p"><state id="a"><final id="af"/></state><state id="b"><final id="bf"/>'
    '</state><transition event="done.state.p" target="pass"/></parallel>' + PASS,
    ("parallel", "parallel"): '<parallel id="p"><parallel id="q"><state id="a"/></parallel>'
    '<transition cond="In(\'a\')" target="pass"/></parallel>' + PASS,
    # history in a parallel remembers the regions' states: leave from b2, come back through it
    ("parallel", "history"): '<state id="top" initial="p"><parallel id="p"><history id="h" type="deep">'
    '<transition target="a1"/></history><state id="a"><state id="a1"/></state>'
    '<state id="b"><state id="b1"><transition event="go" target="b2"/></state><state id="b2"/></state>'
    '<transition event="out" target="away"/></parallel><state id="away"><transition target="h"/></state>'
    '<onentry><raise event="go"/><raise event="out"/><raise event="check"/></onentry>'
    '<transition event="check" cond="In(\'b2\')" target="pass"/>'
    '<transition event="check" target="fail"/></state>' + PASS,
    ("parallel", "datamodel"): '<parallel id="p"><datamodel><data id="x" expr="4"/></datamodel><state id="a"/>'
    '<transition cond="x == 4" target="pass"/></parallel>' + PASS,
    ("parallel", "invoke"): '<parallel id="p"><invoke><content><scxml xmlns="http://www.w3.org/2005/07/scxml" '
    'version="1.0"><final id="f"/></scxml></content></invoke><state id="a"/>'
    '<transition event="done.invoke" target="pass"/></parallel>' + PASS,
    ("final", "onentry"): '<state id="s"><final id="f"><onentry><raise event="e"/></onentry></final>'
    '<transition event="e" target="pass"/></state>' + PASS,
    ("final", "onexit"): '<state id="s" initial="f"><final id="f"><onexit><raise event="e"/></onexit></final>'
    '<transition event="done.state.s" target="t"/></state><state id="t"><transition event="e" target="pass"/>'
    "</state>" + PASS,
    ("final", "donedata"): '<state id="s"><final id="f"><donedata><param name="v" expr="5"/></donedata></final>'
    '<transition event="done.state.s" cond="_event.data.v == 5" target="pass"/></state>' + PASS,
    ("history", "transition"): HISTORY,
    ("initial", "transition"): '<state id="s"><initial><transition target="a"/></initial>'
    '<state id="a"><transition target="pass"/></state></state>' + PASS,
    ("datamodel", "data"): '<datamodel><data id="x"><![CDATA[{"k": 6}]]></data></datamodel>'
    '<state id="s"><transition cond="x.k == 6" target="pass"/><transition target="fail"/></state>' + PASS,
    ("send", "param"): '<state id="s"><onentry><send event="e"><param name="v" expr="7"/></send></onentry>'
    '<transition event="e" cond="_event.data.v == 7" target="pass"/></state>' + PASS,
    ("send", "content"): '<state id="s"><onentry><send event="e"><content expr="8"/></send></onentry>'
    '<transition event="e" cond="_event.data == 8" target="pass"/></state>' + PASS,
    ("invoke", "param"): '<state id="s"><invoke><param name="v" expr="9"/><content>'
    '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript">'
    '<datamodel><data id="v"/></datamodel><final id="f"><donedata><param name="got" expr="v"/></donedata>'
    "</final></scxml></content></invoke>"
    '<transition event="done.invoke" cond="_event.data.got == 9" target="pass"/></state>' + PASS,
    ("invoke", "finalize"): '<datamodel><data id="seen" expr="0"/></datamodel><state id="s"><invoke id="i">'
    '<content><scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"><final id="f"/></scxml></content>'
    '<finalize><assign location="seen" expr="1"/></finalize></invoke>'
    '<transition event="done.invoke" target="pass"/></state>' + PASS,
    ("invoke", "content"): '<state id="s"><invoke><content><scxml xmlns="http://www.w3.org/2005/07/scxml" '
    'version="1.0"><final id="f"/></scxml></content></invoke><transition event="done.invoke" target="pass"/>'
    "</state>" + PASS,
    ("donedata", "param"): '<state id="s"><final id="f"><donedata><param name="v" expr="10"/></donedata></final>'
    '<transition event="done.state.s" cond="_event.data.v == 10" target="pass"/></state>' + PASS,
    ("donedata", "content"): '<state id="s"><final id="f"><donedata><content expr="11"/></donedata></final>'
    '<transition event="done.state.s" cond="_event.data == 11" target="pass"/></state>' + PASS,
}


def test_every_child_the_content_models_allow_has_a_shape():
    allowed = {(parent, child) for parent, children in CONTENT_MODEL.items() for child in children}
    assert allowed == set(ACCEPTED)


@pytest.mark.parametrize(("parent", "child"), sorted(ACCEPTED))
def test_an_allowed_child_builds_and_runs(parent, child):
    doc = chart(ACCEPTED[(parent, child)])
    model = model_from_string(doc, "chart.scxml")
    assert not model.errors, [str(e) for e in model.errors]
    r = Run(doc)
    r.idle()
    assert r.session.final_state == "pass", r.of("error")
    assert not r.of("error")


S = '<state id="s"/>'
INVOKED = '<content><scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"><final id="f"/></scxml></content>'
REFUSED = [
    # <scxml>
    ('<transition target="s"/>' + S, "<transition> is not allowed in <scxml>"),
    ('<onentry><log expr="1"/></onentry>' + S, "<onentry> is not allowed in <scxml>"),
    ('<onexit><log expr="1"/></onexit>' + S, "<onexit> is not allowed in <scxml>"),
    (f"<invoke>{INVOKED}</invoke>" + S, "<invoke> is not allowed in <scxml>"),
    ('<history id="h"><transition target="s"/></history>' + S, "<history> is not allowed in <scxml>"),
    ('<initial><transition target="s"/></initial>' + S, "<initial> is not allowed in <scxml>"),
    ("<donedata/>" + S, "<donedata> is not allowed in <scxml>"),
    ('<log expr="1"/>' + S, "<log> is not allowed in <scxml>"),
    ('<data id="x"/>' + S, "<data> is not allowed in <scxml>"),
    ("<datamodel/><datamodel/>" + S, "<scxml> may have at most 1 <datamodel>"),
    ("<script/><script/>" + S, "<scxml> may have at most 1 <script>"),
    # <state>
    ('<state id="s"><donedata/></state>', "<donedata> is not allowed in <state>"),
    ('<state id="s"><script>1</script></state>', "<script> is not allowed in <state>"),
    ('<state id="s"><log expr="1"/></state>', "<log> is not allowed in <state>"),
    ('<state id="s"><data id="x"/></state>', "<data> is not allowed in <state>"),
    ('<state id="s"><finalize/></state>', "<finalize> is not allowed in <state>"),
    ('<state id="s"><datamodel/><datamodel/></state>', "<state> may have at most 1 <datamodel>"),
    (
        '<state id="s"><initial><transition target="a"/></initial><initial><transition target="a"/></initial>'
        '<state id="a"/></state>',
        "<state> may have at most 1 <initial>",
    ),
    # <parallel>
    ('<parallel id="p"><final id="f"/></parallel>', "<final> is not allowed in <parallel>"),
    (
        '<parallel id="p"><initial><transition target="a"/></initial><state id="a"/></parallel>',
        "<initial> is not allowed in <parallel>",
    ),
    ('<parallel id="p"><donedata/><state id="a"/></parallel>', "<donedata> is not allowed in <parallel>"),
    (
        '<parallel id="p"><datamodel/><datamodel/><state id="a"/></parallel>',
        "<parallel> may have at most 1 <datamodel>",
    ),
    # <final>
    ('<final id="f"><state id="a"/></final>', "<state> is not allowed in <final>"),
    ('<final id="f"><transition target="f"/></final>', "<transition> is not allowed in <final>"),
    (f'<final id="f"><invoke>{INVOKED}</invoke></final>', "<invoke> is not allowed in <final>"),
    ('<final id="f"><datamodel/></final>', "<datamodel> is not allowed in <final>"),
    ('<final id="f"><history id="h"><transition target="f"/></history></final>', "<history> is not allowed in <final>"),
    ('<final id="f"><donedata/><donedata/></final>', "<final> may have at most 1 <donedata>"),
    # <history>
    ('<state id="s"><history id="h"/><state id="a"/></state>', "<history> needs a <transition>"),
    (
        '<state id="s"><history id="h"><transition target="a"/><transition target="a"/></history><state id="a"/>'
        "</state>",
        "<history> may have at most 1 <transition>",
    ),
    (
        '<state id="s"><history id="h"><onentry/><transition target="a"/></history><state id="a"/></state>',
        "<onentry> is not allowed in <history>",
    ),
    (
        '<state id="s"><history id="h"><transition event="e" target="a"/></history><state id="a"/></state>',
        "the default transition of <history> may not have 'event' or 'cond'",
    ),
    # <initial>
    ('<state id="s"><initial/><state id="a"/></state>', "<initial> needs a <transition>"),
    (
        '<state id="s"><initial><onentry/><transition target="a"/></initial><state id="a"/></state>',
        "<onentry> is not allowed in <initial>",
    ),
    (
        '<state id="s"><initial><transition target="a"/><transition target="a"/></initial><state id="a"/></state>',
        "<initial> may have at most 1 <transition>",
    ),
    # <datamodel>
    ('<datamodel><state id="x"/></datamodel>' + S, "<state> is not allowed in <datamodel>"),
    ('<datamodel><assign location="x" expr="1"/></datamodel>' + S, "<assign> is not allowed in <datamodel>"),
    # executable content and I/O elements
    ('<state id="s"><onentry><state id="x"/></onentry></state>', "<state> is not executable content"),
    ('<state id="s"><transition><data id="x"/></transition></state>', "<data> is not executable content"),
    (
        '<state id="s"><onentry><raise event="e"><param name="a" expr="1"/></raise></onentry></state>',
        "<param> is not allowed in <raise>",
    ),
    (
        '<state id="s"><onentry><log expr="1"><param name="a" expr="1"/></log></onentry></state>',
        "<param> is not allowed in <log>",
    ),
    (
        '<state id="s"><onentry><cancel sendid="x"><content/></cancel></onentry></state>',
        "<content> is not allowed in <cancel>",
    ),
    ('<state id="s"><onentry><script><log expr="1"/></script></onentry></state>', "<log> is not allowed in <script>"),
    (
        '<state id="s"><onentry><send event="e"><log expr="1"/></send></onentry></state>',
        "<log> is not allowed in <send>",
    ),
    (
        '<state id="s"><onentry><send event="e"><content>1</content><content>2</content></send></onentry></state>',
        "<send> may have at most 1 <content>",
    ),
    (
        '<state id="s"><onentry><send event="e"><param name="a" expr="1"><content/></param></send></onentry></state>',
        "<content> is not allowed in <param>",
    ),
    (f'<state id="s"><invoke><log expr="1"/>{INVOKED}</invoke></state>', "<log> is not allowed in <invoke>"),
    (
        f'<state id="s"><invoke><finalize/><finalize/>{INVOKED}</invoke></state>',
        "<invoke> may have at most 1 <finalize>",
    ),
    (f'<state id="s"><invoke>{INVOKED}{INVOKED}</invoke></state>', "<invoke> may have at most 1 <content>"),
    (
        f'<state id="s"><invoke src="other.scxml">{INVOKED}</invoke></state>',
        "<invoke> may not have both <content> and 'src'/'srcexpr'",
    ),
    (
        f'<state id="s"><invoke>{INVOKED}<finalize><raise event="e"/></finalize></invoke></state>',
        "<raise> may not occur in <finalize>",
    ),
    (
        f'<state id="s"><invoke>{INVOKED}<finalize><if cond="true"><send event="e"/></if></finalize></invoke></state>',
        "<send> may not occur in <finalize>",
    ),
    (
        '<state id="s"><final id="f"><donedata><log expr="1"/></donedata></final></state>',
        "<log> is not allowed in <donedata>",
    ),
    (
        '<state id="s"><final id="f"><donedata><content expr="1"/><param name="a" expr="1"/></donedata>'
        "</final></state>",
        "<donedata> may not have both <content> and <param>",
    ),
    (
        '<state id="s"><final id="f"><donedata><content/><content/></donedata></final></state>',
        "<donedata> may have at most 1 <content>",
    ),
]


@pytest.mark.parametrize(("body", "message"), REFUSED, ids=[m for _b, m in REFUSED])
def test_a_forbidden_child_is_a_definition_error(body, message):
    model = model_from_string(chart(body), "chart.scxml", project={"other.scxml": chart(S).encode()})
    assert message in [e.message for e in model.errors], [str(e) for e in model.errors]


class Dialect(Profile):
    name = "dialect"
    extra_children = {"raise": {"param": (0, None)}, "scxml": {"script": (0, None)}}
    raise_params = True


def test_a_profile_may_allow_more_children():
    doc = chart(
        '<script>var a = 1;</script><script>var b = 2;</script><state id="s"><onentry>'
        '<raise event="e"><param name="v" expr="a + b"/></raise></onentry>'
        '<transition event="e" cond="_event.data.v == 3" target="pass"/></state>' + PASS
    )
    assert model_from_string(doc, "chart.scxml").errors  # W3C: one <script>, no <param> in <raise>
    r = Run(doc, profile=Dialect())
    r.idle()
    assert r.session.final_state == "pass"
