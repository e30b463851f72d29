"""Profiles plug custom actions in by namespace; the handler works through an ActionContext."""

from __future__ import annotations

from simulator.scxml.model import model_from_string
from simulator.scxml.profile import Profile

from .conftest import chart

NS = "urn:example:robot"


class Robot:
    """A tiny platform extension: <r:move to="expr" requestid="location"/> answers after 2 s."""

    def validate(self, element):
        return [] if element.get("to") else [(element.sourceline, "<move> needs 'to'")]

    def execute(self, ctx, element):
        target = ctx.evaluate(ctx.attribute("to"))
        ctx.assign(ctx.attribute("requestid"), "req-1")
        ctx.emit("action", action="move", attributes={"to": target})
        ctx.send_external("robot.move.done", {"at": target}, delay=2.0)
        ctx.raise_event("robot.move.requested")


class RobotProfile(Profile):
    name = "robot-test"
    action_handlers = {NS: Robot()}


DOC = chart(
    '<datamodel><data id="rid"/><data id="at"/></datamodel>'
    f'<state id="s" xmlns:r="{NS}"><onentry><r:move to="\'kitchen\'" requestid="rid"/></onentry>'
    '<transition event="robot.move.done" target="t"><assign location="at" expr="_event.data.at"/></transition>'
    '</state><state id="t"/>'
)


def test_a_profile_handler_runs_its_namespace_and_uses_the_context(run):
    r = run(DOC, profile=RobotProfile())
    assert r.value("rid") == "req-1"
    assert r.of("action")[0]["attributes"] == {"to": "kitchen"}
    assert r.of("action")[0]["line"] == 1
    assert "robot.move.requested" in r.of("macrostep")[0]["internal_events"]
    r.idle()
    assert r.configuration == ["t"] and r.value("at") == "kitchen" and r.group.clock.now == 2


def test_an_unclaimed_namespace_in_executable_content_is_a_definition_error():
    model = model_from_string(DOC)
    assert [e.message for e in model.errors] == [f"unknown action <move> in namespace '{NS}'"]


def test_handler_validation_problems_become_definition_errors():
    bad = DOC.replace("to=\"'kitchen'\"", "")
    model = model_from_string(bad, profile=RobotProfile())
    assert [(e.message, e.line) for e in model.errors] == [("<move> needs 'to'", 1)]


def test_a_failing_handler_raises_error_execution(run):
    r = run(DOC.replace("'kitchen'", "nope.x"), profile=RobotProfile())
    assert r.of("error")[0]["event"] == "error.execution"
    assert "ReferenceError" in r.of("error")[0]["message"]
