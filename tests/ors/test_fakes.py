"""The fakes profile: validation messages, defaults, rule matching, manual requests, injection."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest

from simulator.ors.extensions.base import Request
from simulator.ors.fakes import DEFAULTS, FakesError, copy_json, load_fakes, validate_fakes

from .strategies import block_strategy, events, run, value


def request(module: str = "queue", action: str = "submit", **attributes) -> Request:
    return Request("R1", module, action, attributes, [])


def test_an_empty_profile_is_the_documented_defaults():
    profile = load_fakes({})
    assert profile.to_json() == DEFAULTS
    assert profile.queue["agent"]["dn"] == "7001"
    assert profile.start_events() == ["interaction.added", "interaction.onrouterequest"]
    assert load_fakes({"interaction": {"media": "chat"}}).start_events() == ["interaction.added", "interaction.present"]


def test_validation_reports_the_json_path_and_what_is_wrong():
    problems = validate_fakes(
        {
            "interaction": {"media": "fax", "tenantid": "x"},
            "rules": [{"module": "queues", "action": "submit", "bogus": 1}],
            "queue": {"delay": -1},
            "extra": True,
        }
    )
    assert problems == [
        "$: unknown key(s) 'extra'",
        "$.interaction.media: 'fax' is not one of 'voice', 'email', 'chat', 'sms', 'workitem', 'webform', 'openmedia'",
        "$.interaction.tenantid: 'x' is not of type 'integer'",
        "$.queue.delay: -1 is less than the minimum of 0",
        "$.rules[0]: unknown key(s) 'bogus'",
        "$.rules[0].module: 'queues' is not one of 'session', 'queue', 'interaction', 'dialog', 'ws', 'statistic', "
        "'classification', 'resource', 'elasticconnector' (did you mean 'queue'?)",
    ]


def test_semantic_problems_are_reported_with_their_path():
    problems = validate_fakes(
        {
            "rules": [
                {
                    "module": "queue",
                    "action": "submit",
                    "match": {"queue": "re:("},
                    "manual": True,
                    "error": {"error": "x"},
                }
            ],
            "inject": [{"event": "hangup"}],
            "time": {"now": "yesterday"},
        }
    )
    assert problems[0].startswith("$.rules[0].match.queue: invalid regular expression")
    assert problems[1:] == [
        "$.rules[0]: use only one of 'manual', 'events', 'error' (found manual, error)",
        "$.inject[0]: give exactly one of 'at' (virtual seconds) or 'on' (a request trigger)",
        "$.time.now: 'yesterday' is not an ISO 8601 date-time (e.g. 2026-01-05T10:00:00Z)",
    ]


def test_load_fakes_raises_with_every_problem_and_rejects_bad_json():
    with pytest.raises(FakesError) as info:
        load_fakes('{"rules": [{"module": "queue"}]}')
    assert info.value.problems == ["$.rules[0]: 'action' is required"]
    with pytest.raises(FakesError, match=r"not valid JSON \(Expecting value at line 1 column 1\)"):
        load_fakes("nope")
    with pytest.raises(FakesError, match="a fakes profile is a JSON object, not list"):
        load_fakes([])


def test_the_first_matching_rule_wins_and_times_limits_it():
    profile = load_fakes(
        {
            "rules": [
                {"module": "queue", "action": "submit", "match": {"queue": "VQ1"}, "times": 1},
                {"module": "queue", "action": "submit", "match": {"queue": "re:^VQ"}},
                {"module": "queue", "action": "*"},
            ]
        }
    )
    assert profile.match(request(queue="VQ1")).index == 0
    assert profile.match(request(queue="VQ1")).index == 1
    assert profile.match(request(queue="Other")).index == 2
    assert profile.match(request(action="cancel")).index == 2
    assert profile.match(request(module="dialog", action="start")) is None


def test_a_run_copy_is_what_deepcopy_gives_and_shares_nothing_mutable():
    profile = load_fakes(
        {
            "rules": [{"module": "queue", "action": "submit", "match": {"queue": "VQ1"}, "times": 1}],
            "lists": {"a": {"x": {"k": [1, 2.5, None, True]}}, "b": {"item": {"dn": "7001"}}},
        }
    )
    shared = profile.data["lists"]["c"] = profile.data["lists"]["b"]  # an alias stays one, as with deepcopy
    profile.time_base()
    profile.rules[0].used = 1
    fresh, deep = profile.for_run(), copy.deepcopy(profile)
    assert fresh.data == deep.data and json.dumps(fresh.data) == json.dumps(deep.data)
    assert [(r.index, r.spec, r.used) for r in fresh.rules] == [(r.index, r.spec, r.used) for r in deep.rules]
    assert fresh.rules[0].spec is fresh.data["rules"][0]
    assert fresh.data["lists"]["b"] is fresh.data["lists"]["c"] is not shared
    assert fresh.time_base() == profile.time_base()
    fresh.data["lists"]["a"]["x"]["k"].append(3)
    fresh.rules[0].spec["times"] = 5
    assert profile.data["lists"]["a"]["x"]["k"] == [1, 2.5, None, True]
    assert profile.rules[0].spec["times"] == 1
    assert profile.match(request(queue="VQ1")) is None  # the original's count is its own
    assert (
        load_fakes({"rules": [{"module": "queue", "action": "submit", "times": 1}]})
        .for_run()
        .match(request(queue="VQ1"))
        .index
        == 0
    )


def test_copy_json_is_what_deepcopy_gives():
    inner = {"k": [1, 2.5, None, True, "s"]}
    value = {"a": inner, "b": [inner, inner], "t": (1, [2]), 3: "int key", "o": Decimal("1.5")}
    copied, deep = copy_json(value), copy.deepcopy(value)
    assert copied == deep == value
    assert copied["a"] is copied["b"][0] is copied["b"][1] is not inner  # an alias stays one
    assert copied["t"] == (1, [2]) and copied["t"][1] is not value["t"][1]  # other types: deepcopy's
    assert copy_json([]) == [] and copy_json("x") == "x"


def test_match_values_compare_as_text_booleans_nested_paths_and_wildcards():
    profile = load_fakes(
        {
            "rules": [
                {"module": "interaction", "action": "redirect", "match": {"detach": True, "to.dn": "7001"}},
                {"module": "interaction", "action": "redirect", "match": {"hints": "*"}},
            ]
        }
    )
    assert profile.match(request("interaction", "redirect", detach=True, to={"dn": "7001"})).index == 0
    assert profile.match(request("interaction", "redirect", detach="true", to={"dn": 7001})).index == 0
    assert profile.match(request("interaction", "redirect", detach=False, hints={})).index == 1
    assert profile.match(request("interaction", "redirect", detach=False)) is None


def test_an_object_or_array_to_match_is_compared_as_json_where_true_is_not_1():
    profile = load_fakes({"rules": [{"module": "interaction", "action": "redirect", "match": {"to": {"n": 1}}}]})
    assert profile.match(request("interaction", "redirect", to={"n": 1.0})).index == 0
    assert profile.match(request("interaction", "redirect", to={"n": True})) is None


MANUAL_BLOCK = """
    <onentry>
      <queue:submit requestid="App_B['requestid']" queue="'VQ'"><queue:targets><queue:targetid expr="'x@s.A'"/>
        </queue:targets></queue:submit>
    </onentry>
    <transition event="queue.submit.done" cond="_event.data.requestid==App_B['requestid']" target="ok">
      <assign location="out.done" expr="_event.data"/></transition>
    <transition event="error.queue.submit" target="failed"/>
"""


def test_a_manual_request_waits_for_the_user_answer():
    r = run(block_strategy(MANUAL_BLOCK), {"rules": [{"module": "queue", "action": "submit", "manual": True}]})
    assert r.session.final_state is None
    [pending] = r.platform.pending()
    assert (pending.module, pending.action, pending.status, pending.attributes["queue"]) == (
        "queue",
        "submit",
        "manual",
        "VQ",
    )
    assert pending.line is not None
    outcome = r.summary()["outcome"]
    assert outcome == {"status": "waiting", "for": [f"queue:submit {pending.id} (manual)"]}
    r.platform.respond(pending.id, [{"name": "queue.submit.done", "data": {"targetselected": "9@S.DN"}, "delay": 2}])
    r.group.run_until_idle()
    assert r.session.final_state == "ok"
    assert value(r, "out.done") == {
        "targetselected": "9@S.DN",
        "requestid": pending.id,
        "interactionid": "006502A8E4B1C002",
    }
    assert r.platform.requests[pending.id].status == "answered"
    assert r.platform.requests[pending.id].answered_by == "manual"
    with pytest.raises(ValueError, match="already answered"):
        r.platform.respond(pending.id, [{"name": "x"}])
    with pytest.raises(KeyError):
        r.platform.respond("nope", [])


def test_a_pending_default_request_can_be_answered_early_by_the_user():
    r = run(block_strategy(MANUAL_BLOCK), max_time=0.5)
    [pending] = r.platform.pending()
    r.platform.respond(pending.id, [{"name": "error.queue.submit", "data": {"error": "unknown"}}])
    r.group.run_until_idle()
    assert r.session.final_state == "failed"
    assert events(r).count("queue.submit.done") == 0


def test_events_are_injected_at_a_virtual_time_or_on_a_request():
    doc = block_strategy("""<transition event="custom.ping" target="ok">
      <assign location="out.t" expr="_event.data.n"/></transition>""")
    r = run(doc, {"inject": [{"at": 12.5, "event": "custom.ping", "data": {"n": 3}}]})
    assert r.session.final_state == "ok"
    assert value(r, "out.t") == 3
    assert r.group.clock.now == pytest.approx(12.5)


def test_a_session_without_interaction_gets_no_start_events():
    r = run(block_strategy(""), {"none": True})
    assert events(r) == []
    assert r.platform.interactions == {}


def test_the_start_events_are_configurable():
    r = run(
        block_strategy(""), {"interaction": {"start_events": ["interaction.added", "interaction.partystatechanged"]}}
    )
    assert events(r) == ["interaction.added", "interaction.partystatechanged"]


def test_the_docs_examples_are_valid_profiles(shared_dir):
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs" / "fakes.md"
    text = docs.read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```json")[1:]]
    assert len(blocks) >= 5
    for block in blocks:
        load_fakes(json.loads(block))


def test_regular_expressions_that_could_backtrack_forever_are_refused():
    problems = validate_fakes(
        {
            "rules": [{"module": "queue", "action": "submit", "match": {"queue": "re:^(a+)+$"}}],
            "http": {"responses": [{"url": "re:" + "x" * 600}, {"url": "re:^https://api\\.example\\.com/(v1|v2)/"}]},
        }
    )
    assert problems == [
        "$.rules[0].match.queue: nested quantifiers such as (a+)+ are not allowed (catastrophic backtracking)",
        "$.http.responses[0].url: regular expression longer than 500 characters",
    ]


def test_the_run_api_lists_answers_and_injects():
    r = run(block_strategy(MANUAL_BLOCK), {"rules": [{"module": "queue", "action": "submit", "manual": True}]})
    [pending] = r.pending_requests()
    assert (pending["module"], pending["action"], pending["status"]) == ("queue", "submit", "manual")
    r.inject("hangup", delay=1)
    r.respond(pending["id"], [{"name": "queue.submit.done", "delay": 5}])
    r.run()
    assert r.session.final_state is None  # the caller left first: the submit answer was dropped
    assert r.summary()["outcome"] == {"status": "abandoned"}
    assert r.pending_requests() == []


def test_rules_are_checked_to_the_leaf_against_the_extension_declarations():
    problems = validate_fakes(
        {
            "rules": [
                {"module": "queue", "action": "submitt"},
                {"module": "queue", "action": "submit", "match": {"queu": "VQ1", "targets": "re:Sales", "to.dn": "1"}},
                {"module": "queue", "action": "submit", "params": {"agent": {"dn": "1", "swich": "S"}}},
                {"module": "dialog", "action": "*", "params": {"digit": "12"}},
                {"module": "interaction", "action": "redirect", "match": {"to.dn": "7001"}, "params": {"delay": 1}},
                {"module": "resource", "action": "x"},
            ],
            "inject": [{"event": "hangup", "on": {"module": "dialog", "action": "strat"}}],
        }
    )
    assert problems == [
        "$.rules[0].action: queue has no action 'submitt' (did you mean 'submit'?) "
        "(actions: cancel, query, submit, update)",
        "$.rules[1].match.queu: queue:submit has no attribute 'queu' (did you mean 'queue'?) (attributes: "
        "clearontimeout, hints, interactionid, orderstat, ordertype, priority, queue, requestid, route, src, "
        "targets, timeout)",
        "$.rules[1].match.to.dn: queue:submit has no attribute 'to' (attributes: clearontimeout, hints, "
        "interactionid, orderstat, ordertype, priority, queue, requestid, route, src, targets, timeout)",
        "$.rules[2].params.agent: unknown key(s) 'swich' (did you mean 'switch'?)",
        "$.rules[3].params: unknown key(s) 'digit' (did you mean 'digits'?)",
        "$.rules[5].action: resource has no action 'x' (actions: none)",
        "$.inject[0].on.action: dialog has no action 'strat' (did you mean 'start'?)",
    ]
    assert not any("line None" in p for p in problems)


def test_every_profile_section_belongs_to_the_module_that_declares_it():
    from simulator.ors.extensions import MODULES
    from simulator.ors.fakes import SCHEMA, SECTIONS

    owned = [s.name for m in MODULES for s in m.fakes]
    assert len(owned) == len(set(owned))  # one owner per section
    assert set(SCHEMA["properties"]) == {"description", "none", "javascript", "rules", "inject", *owned}
    assert set(DEFAULTS) == {"none", "javascript", "rules", "inject", *owned}
    assert SECTIONS["queue"][0].name == "queue" and SECTIONS["http"][0].name == "session"


def test_set_fakes_changes_the_answers_of_every_session_of_the_run():
    from simulator.runners.driver import OrsRun

    from .strategies import block_strategy

    doc = block_strategy(
        """
    <onentry><queue:submit requestid="App_B['requestid']"><queue:targets>
      <queue:target name="'Sales'" type="agentgroup"/></queue:targets></queue:submit></onentry>
    <transition event="queue.submit.done" target="ok"/>
    """
    )
    r = OrsRun({"main.scxml": doc})
    r.start()
    agent = {"agent": "Live7", "place": "P7", "dn": "7777", "switch": "SW7", "statserver": "SS"}
    r.set_fakes(load_fakes({"queue": {"agent": agent}}))
    r.run()
    assert r.summary()["outcome"]["target"] == "7777@SW7.DN"
