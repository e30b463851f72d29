"""Every action of the session/queue/interaction/dialog modules: declared, answered, failable.

Built from the declarations themselves, so a new action is covered as soon as it is declared:
the default fake answers its ``.done`` event (or its declared events), and a fakes rule turns it
into the module's ``error.<prefix>.<action>`` event with the rule's ``error``/``description``.
"""

from __future__ import annotations

import pytest

from simulator.ors.extensions import BY_NAME, MODULES
from simulator.ors.extensions.base import SCXML_NS

from .strategies import block_strategy, run, value

MINE = ("session", "queue", "interaction", "dialog")
PREFIX = {"session": "session", "queue": "queue", "interaction": "ixn", "dialog": "dialog"}


#: actions whose default answer needs more than a minimal element (another document or session):
#: their happy paths are in test_session.py
NEEDS_CONTEXT = {("session", "start"), ("session", "terminate")}


def actions(defaults: bool = False):
    for name in MINE:
        module = BY_NAME[name]
        for action in module.actions.values():
            if action.asynchronous and not (defaults and (name, action.name) in NEEDS_CONTEXT):
                yield pytest.param(module, action, id=f"{name}:{action.name}")


#: what ORS needs besides the required attributes, or it refuses the request whatever the fakes
#: say (test_refusals.py): a URL to fetch, a target to look for, an application to run
NEEDS = {
    ("session", "fetch"): ("srcexpr=\"'http://api.example.com/x'\"", ""),
    ("queue", "submit"): ("", '<queue:targets><queue:target name="\'Sales\'" type="agentgroup"/></queue:targets>'),
    ("dialog", "start"): ("", '<param name="APP_URI" expr="\'http://gvp.example.com/app.vxml\'"/>'),
}


def element(module, action) -> str:
    """A minimal element: every required attribute with a plausible value; requestid location;
    what ORS needs to accept the request (NEEDS)."""
    attrs = ["requestid=\"App_B['requestid']\""] if action.attr("requestid") else []
    for attr in action.attributes:
        if attr.required and attr.name != "requestid":
            attrs.append(
                f'{attr.name}="system.InteractionID"' if attr.name == "interactionid" else f"{attr.name}=\"'x'\""
            )
    if action.attr("interactionid") and not action.attr("interactionid").required:
        attrs.append('interactionid="system.InteractionID"')
    if module.name == "dialog" and action.name == "playsound":
        attrs.append('duration="1"')
    extra_attr, children = NEEDS.get((module.name, action.name), ("", ""))
    if extra_attr:
        attrs.append(extra_attr)
    tag = f"{PREFIX[module.name]}:{action.name}"
    return f"<{tag} {' '.join(attrs)}>{children}</{tag}>" if children else f"<{tag} {' '.join(attrs)}/>"


def harness(module, action) -> str:
    error = module.error_event(action)
    return f"""
    <onentry>{element(module, action)}</onentry>
    <transition event="{error}" target="failed"><assign location="out.e" expr="_event.data"/></transition>
    <transition event="{module.done_event(action)}" target="ok">
      <assign location="out.d" expr="_event.data"/></transition>
    """


def test_the_registry_has_every_module_and_namespace_spelling():
    assert {m.name for m in MODULES} >= set(MINE)
    for name in MINE:
        module = BY_NAME[name]
        assert module.namespace == f"http://www.genesyslab.com/modules/{name}"
        assert f"www.genesyslab.com/modules/{name}" in module.namespaces


@pytest.mark.parametrize(("module", "action"), list(actions(defaults=True)))
def test_every_action_is_answered_by_its_default_fake(module, action):
    r = run(block_strategy(harness(module, action)), max_time=120)
    assert r.session.final_state == "ok", r.summary()["requests"]
    [request] = r.summary()["requests"]
    assert request["status"] == "answered"
    assert module.done_event(action) in [resp["name"] for resp in request["responses"]]
    if action.attr("requestid").kind == "location":  # else requestid names the target request
        assert value(r, "out.d.requestid") == value(r, "App_B['requestid']") == request["id"]


@pytest.mark.parametrize(("module", "action"), list(actions()))
def test_every_action_fails_with_its_error_event_when_a_rule_says_so(module, action):
    fakes = {
        "rules": [
            {
                "module": module.name,
                "action": action.name,
                "error": {"error": "remote", "description": "from the profile"},
            }
        ]
    }
    r = run(block_strategy(harness(module, action)), fakes, max_time=120)
    assert r.session.final_state == "failed"
    [request] = r.summary()["requests"]
    assert value(r, "[out.e.error, out.e.description, out.e.requestid]") == [
        "remote",
        "from the profile",
        request["id"],
    ]
    assert module.error_event(action) in action.events


@pytest.mark.parametrize(("module", "action"), list(actions()))
def test_every_declared_answer_event_is_declared_by_the_module(module, action):
    declared = {e.name for e in module.events}
    assert set(action.events) <= declared | {"queue.cancel.done"}


def test_core_children_use_the_scxml_namespace():
    fetch = BY_NAME["session"].actions["fetch"]
    assert {c.tag: c.namespace for c in fetch.children} == {"param": SCXML_NS, "content": SCXML_NS}
