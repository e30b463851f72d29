"""Every lookup the fakes profile cannot answer is an ``assumption`` record naming what was asked,
the default used and where the answer goes in the profile (issue 10; docs/trace.md)."""

from __future__ import annotations

import copy
from typing import Any

from .strategies import block_strategy, run

LOOKUPS = """
    <onentry>
      <script>
        out.item = _genesys.session.getListItemValue('GLOBAL_GVP_SETTING', 'OPM');
        out.value = _genesys.session.getListItemValue('GLOBAL_GVP_SETTING', 'OPM', 'greeting');
        out.again = _genesys.session.getListItemValue('GLOBAL_GVP_SETTING', 'OPM', 'greeting');
        out.listed = _genesys.session.listLookupValue('VIP_ANI', '5551234');
        out.option = _genesys.session.getConfigOption(0, 'default-vq', 0);
        out.stat = _genesys.statistic.sData('VQ_Sales@Stat_Server.Q', 'StatCallsInQueue');
        out.holiday = _genesys.session.isSpecialDay('Holidays', 'Christmas');
      </script>
      <session:fetch requestid="App_B['requestid']" srcexpr="'https://api.example.com/customer?ani=5551234'"
                     method="'get'"/>
    </onentry>
    <transition event="session.fetch.done" target="ok"/>
    <transition event="error" target="failed"/>
"""


def assumptions(r: Any) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in rec.items() if k not in ("seq", "session", "time")}
        for rec in r.records
        if rec["type"] == "assumption"
    ]


def add_to_profile(profile: dict[str, Any], fakes: dict[str, Any]) -> dict[str, Any]:
    """What the page's 'add to the fakes profile' does with a record's ``fakes`` field."""
    out = copy.deepcopy(profile)
    node = out
    *head, last = fakes["path"]
    for key in head:
        node = node.setdefault(key, {})
    if fakes["append"]:
        node.setdefault(last, []).append(fakes["value"])
    else:
        node[last] = fakes["value"]
    return out


def test_each_unanswered_lookup_is_an_assumption_naming_what_was_asked_and_the_default_used():
    r = run(block_strategy(LOOKUPS))
    assert r.session.final_state == "ok"
    found = assumptions(r)
    assert [(a["what"], a["asked"], a["used"]) for a in found] == [
        ("list item", {"list": "GLOBAL_GVP_SETTING", "item": "OPM"}, {}),
        ("list value", {"list": "GLOBAL_GVP_SETTING", "item": "OPM", "key": "greeting"}, ""),
        ("list", {"list": "VIP_ANI", "value": "5551234"}, 0),
        ("config option", {"option": "default-vq"}, ""),
        ("statistic", {"object": "VQ_Sales@Stat_Server.Q", "statistic": "StatCallsInQueue"}, 0),
        ("special day", {"table": "Holidays", "day": "Christmas"}, 0),
        (
            "url",
            {"url": "https://api.example.com/customer?ani=5551234", "method": "get"},
            {"status": 200, "body": "{}"},
        ),
    ]
    assert [a["fakes"]["path"] for a in found] == [
        ["lists", "GLOBAL_GVP_SETTING", "OPM"],
        ["lists", "GLOBAL_GVP_SETTING", "OPM", "greeting"],
        ["lists", "VIP_ANI", "5551234"],
        ["options", "default-vq"],
        ["statistics", "VQ_Sales@Stat_Server.Q|StatCallsInQueue"],
        ["special_days", "Holidays/Christmas"],
        ["http", "responses"],
    ]
    fetch = found[-1]
    assert fetch["fakes"] == {
        "path": ["http", "responses"],
        "value": {"url": "https://api.example.com/customer", "method": "get", "status": 200, "body": "{}"},
        "append": True,
    }
    (request,) = r.platform.requests.values()
    assert (fetch["file"], fetch["line"]) == ("main.scxml", request.line)  # the <session:fetch> element
    assert found[0]["file"] is None and found[0]["line"] is None  # asked by a script: named, not located
    assert [{"type": "assumption", **a} for a in r.platform.assumptions] == found


def test_the_values_the_defaults_gave_are_what_the_strategy_read():
    r = run(block_strategy(LOOKUPS))
    out = r.session.datamodel.evaluate("out")
    assert out == {"item": {}, "value": "", "again": "", "listed": 0, "option": "", "stat": 0, "holiday": 0}


def test_adding_each_suggestion_to_the_profile_answers_the_question():
    first = run(block_strategy(LOOKUPS))
    profile: dict[str, Any] = {}
    for a in assumptions(first):
        profile = add_to_profile(profile, a["fakes"])
    profile["lists"]["GLOBAL_GVP_SETTING"]["OPM"] = {"greeting": "hello"}
    second = run(block_strategy(LOOKUPS), profile)
    assert assumptions(second) == []
    assert second.session.datamodel.evaluate("out.value") == "hello"
    assert second.session.final_state == "ok"


def test_the_shared_sample_and_the_starter_route_with_the_default_profile(shared_dir):
    from pathlib import Path

    from simulator.ors.project import load_project
    from simulator.runners.driver import OrsRun

    starter = Path(__file__).resolve().parents[2] / "designer" / "starters" / "basic"
    for path in (shared_dir / "ors-samples" / "crd-gvp-wf", starter):
        r = OrsRun(load_project(path), trace=True)
        r.run()
        assert r.summary()["outcome"]["status"] == "routed", path
        # what was assumed (if anything) did not keep the call from being routed
        assert all(a["what"] in ("url", "list item") for a in r.platform.assumptions)


def test_the_summary_lines_name_each_assumption_and_where_to_answer_it():
    from simulator.ors.assumptions import summary_lines

    r = run(block_strategy(LOOKUPS))
    lines = summary_lines(r.platform.assumptions)
    assert lines[0] == "  assumed data (7), add it to the fakes profile to decide it yourself:"
    assert lines[2] == (
        '    list value GLOBAL_GVP_SETTING/OPM/greeting: assumed ""; '
        "answer it at $.lists.GLOBAL_GVP_SETTING.OPM.greeting"
    )
    assert lines[5] == (
        "    statistic VQ_Sales@Stat_Server.Q/StatCallsInQueue: assumed 0; "
        'answer it at $.statistics["VQ_Sales@Stat_Server.Q|StatCallsInQueue"]'
    )
    assert lines[7].startswith("    url https://api.example.com/customer?ani=5551234/get (line ")
    assert lines[7].endswith('assumed {"body": "{}", "status": 200}; answer it at $.http.responses[+]')
    assert summary_lines([]) == []
