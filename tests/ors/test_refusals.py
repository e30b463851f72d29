"""Requests ORS itself refuses fail the same way whatever the fakes profile says (issue 10): a
rule that would answer them never sees them."""

from __future__ import annotations

import pytest

from .strategies import block_strategy, run, value

#: a rule for every module that would happily answer anything
ANSWER_ALL = {
    "rules": [
        {"module": m, "action": "*", "events": [{"name": f"{m}.x.done"}]}
        for m in ("session", "queue", "interaction", "dialog")
    ]
}


#: the answers the request would get if ORS accepted it (default fakes, or ANSWER_ALL)
DONE = " ".join(
    [f"{m}.x.done" for m in ("session", "queue", "interaction", "dialog")]
    + ["session.fetch.done", "queue.submit.done", "interaction.redirect.done", "interaction.terminate.done"]
    + ["dialog.start.done"]
)


def harness(element: str, error: str) -> bytes:
    return block_strategy(
        f"""
    <onentry>{element}</onentry>
    <transition event="{error}" target="failed"><assign location="out.e" expr="_event.data"/></transition>
    <transition event="{DONE}" target="ok"/>
    """
    )


CASES = [
    pytest.param(
        "<session:fetch requestid=\"App_B['requestid']\" srcexpr=\"''\" method=\"'get'\"/>",
        "error.session.fetch",
        "invalidattribute",
        "no URL to fetch",
        id="fetch-empty-url",
    ),
    pytest.param(
        "<session:fetch requestid=\"App_B['requestid']\" srcexpr=\"'api/customer'\"/>",
        "error.session.fetch",
        "invalidattribute",
        "not an http(s) URL",
        id="fetch-invalid-url",
    ),
    pytest.param(
        "<session:fetch requestid=\"App_B['requestid']\" srcexpr=\"'http://x/y'\" method=\"'esp'\"/>",
        "error.session.fetch",
        "invalidattribute",
        "for method esp",
        id="fetch-esp-without-gesp",
    ),
    pytest.param(
        '<queue:submit requestid="App_B[\'requestid\']" timeout="10"><queue:targets>'
        '<queue:target name="\'\'" type="agentgroup"/></queue:targets></queue:submit>',
        "error.queue.submit",
        "invalidattribute",
        "no valid target",
        id="submit-without-target",
    ),
    pytest.param(
        '<ixn:redirect requestid="App_B[\'requestid\']" interactionid="system.InteractionID" to="undefined"/>',
        "error.interaction.redirect",
        "invaliddestination",
        "to is required",
        id="route-without-destination",
    ),
    pytest.param(
        '<ixn:redirect requestid="App_B[\'requestid\']" interactionid="system.InteractionID" to="({type: \'XX\'})"/>',
        "error.interaction.redirect",
        "invaliddestination",
        "unknown resource type",
        id="route-to-an-invalid-resource",
    ),
    pytest.param(
        '<dialog:start requestid="App_B[\'requestid\']" interactionid="system.InteractionID" type="\'applid\'">'
        '<param name="LANGUAGE" expr="\'English (US)\'"/></dialog:start>',
        "error.dialog.start",
        "invalidattribute",
        "dialog:APP_URI has an invalid value ()",
        id="dialog-without-application",
    ),
    pytest.param(
        '<ixn:terminate requestid="App_B[\'requestid\']" interactionid="system.NoSuchVariable"/>',
        "error.interaction.terminate",
        "invalidattribute",
        "interactionid is required",
        id="required-attribute-undefined-after-evaluation",
    ),
]


@pytest.mark.parametrize(("element", "error", "code", "description"), CASES)
@pytest.mark.parametrize("fakes", [None, ANSWER_ALL], ids=["default", "rules-answer-everything"])
def test_ors_refuses_the_request_whatever_the_profile_says(element, error, code, description, fakes):
    r = run(harness(element, error), fakes)
    assert r.session.final_state == "failed", r.summary()["requests"]
    assert value(r, "out.e.error") == code
    assert description in value(r, "out.e.description")
    [request] = r.summary()["requests"]
    assert request["answered_by"] == "platform"
