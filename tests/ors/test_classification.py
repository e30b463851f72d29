"""Classification module: classify and screen (spec ors-interaction-dialog.md section 3).

The strategies below are written the way Composer writes a block: the request id goes to
``App_<Block>['requestid']``, every transition is guarded on it, and results go to ``_data``.
"""

from __future__ import annotations

import pytest

from simulator.ors.extensions import classification, module_for_namespace
from simulator.ors.fakes import FakesError, load_fakes
from simulator.runners.driver import OrsRun
from simulator.scxml.errors import DocumentError

EMAIL = {
    "id": "EMAIL0001",
    "media": "email",
    "msgbased": {"subject": "Wrong invoice", "text": "Please refund the money for invoice 42."},
}
CLASSIFY_RULES = {
    "classify": [
        {
            "root": "Billing",
            "text": "re:refund",
            "categories": [
                {"name": "Refund", "id": "000AaA0000002", "relevancy": 40},
                {"name": "Billing", "id": "000AaA0000001", "relevancy": 87},
            ],
        },
        {"root": "re:^Sales", "categories": [{"name": "Sales", "id": "000AaA0000009", "relevancy": 55}]},
    ],
    "screen_rules": [
        {"name": "RefundWords", "id": "R1", "pattern": "refund|money back"},
        {"name": "Angry", "id": "R2", "pattern": "furious|lawyer"},
    ],
}


def strategy(action: str, done: str, error: str) -> str:
    """One Composer-style block running `action` (a classification element) then exiting."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<scxml version="1.0" xmlns="http://www.w3.org/2005/07/scxml" xmlns:xi="http://www.w3.org/2001/XInclude"
    xmlns:ws="http://www.genesyslab.com/modules/ws" xmlns:queue="http://www.genesyslab.com/modules/queue"
    xmlns:dialog="http://www.genesyslab.com/modules/dialog" xmlns:session="http://www.genesyslab.com/modules/session"
    xmlns:ixn="http://www.genesyslab.com/modules/interaction"
    xmlns:classification="http://www.genesyslab.com/modules/classification"
    initial="Classify1" _persist="false" profile="ecmascript">
  <datamodel>
    <data id="result" expr="null"/>
    <data id="rules" expr="null"/>
    <data id="error" expr="null"/>
    <data id="path" expr="''"/>
  </datamodel>
  <state id="Classify1">
    <onentry>
      <script>var App_Classify1 = new Object();</script>
      {action}
    </onentry>
    <transition event="{done}" cond="_event.data.requestid==App_Classify1['requestid']" target="Classify1_done">
      <assign location="_data.result" expr="_event.data.categories"/>
      <assign location="_data.rules" expr="_event.data.rules"/>
    </transition>
    <transition event="{error}" cond="_event.data.requestid==App_Classify1['requestid']" target="Exit">
      <assign location="_data.error" expr="_event.data"/>
      <assign location="_data.path" expr="'error'"/>
    </transition>
  </state>
  <state id="Classify1_done">
    <onentry><send event="'Classify1.done'"/></onentry>
    <transition event="Classify1.done" target="Exit"><assign location="_data.path" expr="'done'"/></transition>
  </state>
  <final id="Exit"/>
</scxml>"""


def classify(attributes: str) -> str:
    return strategy(
        f"<classification:classify requestid=\"App_Classify1['requestid']\" {attributes}/>",
        "classification.classify.done",
        "error.classification.classify",
    )


def screen(attributes: str = "") -> str:
    return strategy(
        f"<classification:screen requestid=\"App_Classify1['requestid']\" {attributes}/>",
        "classification.screen.done",
        "error.classification.screen",
    )


@pytest.fixture
def run():
    """Run a strategy to completion on the virtual clock; returns (session, platform)."""
    runs: list[OrsRun] = []

    def go(doc: str, fakes: dict | None = None):
        r = OrsRun({"Classify.scxml": doc.encode()}, fakes=fakes or {})
        runs.append(r)
        r.run()
        assert r.session.errors == []
        return r.session, r.platform

    yield go
    for r in runs:
        if r.session.datamodel is not None:
            r.session.datamodel.close()


def result(session, expr: str):
    """Evaluate `expr` with ``_data.`` in front: the strategies write their results there."""
    return session.datamodel.evaluate("_data." + expr)


# -- declarations -----------------------------------------------------------------------------


def test_it_is_selected_by_both_namespace_spellings():
    assert module_for_namespace("http://www.genesyslab.com/modules/classification") is classification.MODULE
    assert module_for_namespace("www.genesyslab.com/modules/classification") is classification.MODULE


def test_it_declares_classify_and_screen_with_their_attributes():
    classify_ = classification.MODULE.actions["classify"]
    assert [a.name for a in classify_.attributes] == ["requestid", "server", "interactionid", "root"]
    assert classify_.attr("requestid").kind == "location"
    assert classify_.attr("root").required
    assert classify_.attr("interactionid").default == "0"
    screen_ = classification.MODULE.actions["screen"]
    assert [a.name for a in screen_.attributes] == ["requestid", "server", "interactionid", "rules", "root"]


def test_it_declares_every_event_with_its_data_fields():
    assert {e.name: e.fields for e in classification.MODULE.events} == {
        "classification.classify.done": ("requestid", "categories"),
        "error.classification.classify": ("requestid", "error", "description"),
        "classification.screen.done": ("requestid", "rules", "screenrule", "categories"),
        "error.classification.screen": ("requestid", "error", "description"),
    }


# -- classify ---------------------------------------------------------------------------------


def test_classify_answers_the_profile_categories_sorted_by_relevancy(run):
    session, platform = run(
        classify("interactionid=\"'EMAIL0001'\" root=\"'Billing'\""),
        {"interaction": EMAIL, "classification": CLASSIFY_RULES},
    )
    assert result(session, "path") == "done"
    assert result(session, "result") == [
        {"name": "Billing", "id": "000AaA0000001", "relevancy": 87},
        {"name": "Refund", "id": "000AaA0000002", "relevancy": 40},
    ]
    (request,) = platform.requests.values()
    assert request.attributes["root"] == "Billing" and request.status == "answered"
    assert session.datamodel.evaluate("App_Classify1['requestid']") == request.id


def test_classify_works_with_composer_category_helpers(run, shared_dir):
    include = (shared_dir / "ors-samples/crd-gvp-wf/include/MiscIRDFunctions.js").read_text(encoding="utf-8")
    session, _ = run(classify("root=\"'Sales Leads'\""), {"interaction": EMAIL, "classification": CLASSIFY_RULES})
    session.datamodel.execute(include)
    evaluate = session.datamodel.evaluate
    assert evaluate("containsCategoryName(_data.result, 'Sales')") is True
    assert evaluate("containsCategoryId(_data.result, '000AaA0000009')") is True
    assert evaluate("containsCategoryName(_data.result, 'Billing')") is False


def test_classify_answers_no_categories_when_nothing_matches(run):
    session, _ = run(classify("root=\"'Support'\""), {"interaction": EMAIL, "classification": CLASSIFY_RULES})
    assert result(session, "path") == "done"
    assert result(session, "result") == []


def test_classify_with_an_empty_root_is_a_request_invalid_error(run):
    session, _ = run(classify("root=\"''\""), {"interaction": EMAIL})
    assert result(session, "path") == "error"
    error = result(session, "error")
    assert error["error"] == "Request Invalid" and error["description"] == "root is required"
    assert error["requestid"] == session.datamodel.evaluate("App_Classify1['requestid']")


def test_classify_of_an_unknown_interaction_is_a_request_invalid_error(run):
    session, _ = run(classify("interactionid=\"'NOPE'\" root=\"'Billing'\""), {"interaction": EMAIL})
    assert result(session, "path") == "error"
    assert result(session, "error.error") == "Request Invalid"
    assert "NOPE" in result(session, "error.description")


def test_classify_without_root_is_a_definition_error():
    with pytest.raises(DocumentError) as caught:
        OrsRun({"NoRoot.scxml": classify("").encode()})
    assert "missing required attribute 'root'" in str(caught.value)


def test_classify_with_a_non_string_root_is_an_invalid_attribute_error(run):
    session, _ = run(classify('root="({a: 1})"'), {"interaction": EMAIL})
    assert result(session, "path") == "error"
    assert result(session, "error.error") == "invalidattribute"


def test_a_fakes_rule_can_fail_classify(run):
    rule = {
        "module": "classification",
        "action": "classify",
        "match": {"root": "Billing"},
        "error": {"error": "Request Invalid", "description": "Classification Server down"},
    }
    session, platform = run(classify("root=\"'Billing'\""), {"interaction": EMAIL, "rules": [rule]})
    assert result(session, "path") == "error"
    assert result(session, "error.description") == "Classification Server down"
    assert next(iter(platform.requests.values())).answered_by == "rule:0"


def test_a_rule_can_give_classify_other_categories_through_params(run):
    rule = {
        "module": "classification",
        "action": "classify",
        "params": {"classify": [{"categories": [{"name": "Other", "id": "X", "relevancy": 300}]}]},
    }
    session, _ = run(classify("root=\"'Billing'\""), {"interaction": EMAIL, "rules": [rule]})
    assert result(session, "result") == [{"name": "Other", "id": "X", "relevancy": 100}]


# -- screen -----------------------------------------------------------------------------------


def test_screen_matches_every_configured_rule_against_the_text(run):
    session, _ = run(screen(), {"interaction": EMAIL, "classification": CLASSIFY_RULES})
    assert result(session, "path") == "done"
    expected = [
        {"name": "RefundWords", "id": "R1", "match": True, "value": "refund"},
        {"name": "Angry", "id": "R2", "match": False, "value": ""},
    ]
    assert result(session, "rules") == expected
    assert result(session, "result") == []


def test_screen_fills_screenrule_like_rules(run):
    doc = screen().replace(
        '<assign location="_data.rules" expr="_event.data.rules"/>',
        '<assign location="_data.rules" expr="_event.data.screenrule"/>',
    )
    session, _ = run(doc, {"interaction": EMAIL, "classification": CLASSIFY_RULES})
    assert [r["name"] for r in result(session, "rules")] == ["RefundWords", "Angry"]


def test_screen_evaluates_only_the_named_rules(run):
    session, _ = run(screen("rules=\"'Angry'\""), {"interaction": EMAIL, "classification": CLASSIFY_RULES})
    assert [r["name"] for r in result(session, "rules")] == ["Angry"]


def test_screen_reads_the_profile_text_override(run):
    fakes = {"interaction": EMAIL, "classification": {**CLASSIFY_RULES, "text": "I am furious"}}
    session, _ = run(screen(), fakes)
    assert [r["match"] for r in result(session, "rules")] == [False, True]
    assert result(session, "rules")[1]["value"] == "furious"


def test_screen_of_an_unknown_interaction_is_a_request_invalid_error(run):
    session, _ = run(screen("interactionid=\"'NOPE'\""), {"interaction": EMAIL})
    assert result(session, "path") == "error"
    assert result(session, "error.error") == "Request Invalid"


def test_screen_with_a_broken_rule_pattern_is_a_request_invalid_error(run):
    fakes = {"interaction": EMAIL, "classification": {"screen_rules": [{"name": "Bad", "pattern": "("}]}}
    session, _ = run(screen(), fakes)
    assert result(session, "path") == "error"
    assert "bad pattern" in result(session, "error.description")


def test_a_manual_rule_leaves_screen_waiting_for_the_user(run):
    rule = {"module": "classification", "action": "screen", "manual": True}
    session, platform = run(screen(), {"interaction": EMAIL, "rules": [rule]})
    assert session.final_state is None
    (request,) = platform.pending("classification")
    platform.respond(request.id, [{"name": "classification.screen.done", "data": {"rules": [], "categories": []}}])
    session.group.run_until_idle()
    assert result(session, "path") == "done"


# -- helpers ----------------------------------------------------------------------------------


def test_interaction_text_joins_message_fields():
    ixn = {"msgbased": {"subject": "S", "text": "T", "body": ""}, "chat": {"transcript": "C"}}
    assert classification.interaction_text(ixn) == "S\nT\nC"
    assert classification.interaction_text(None) == ""


def test_sorted_categories_normalises_and_sorts():
    cats = classification.sorted_categories(
        [{"name": "a", "relevancy": "12.6"}, {"name": "b", "id": 7, "relevancy": 0}, {"name": "c"}]
    )
    assert cats == [
        {"name": "c", "id": "", "relevancy": 100},
        {"name": "a", "id": "", "relevancy": 13},
        {"name": "b", "id": "7", "relevancy": 1},
    ]


def test_the_js_surface_exists_and_is_empty(run):
    session, _ = run(classify("root=\"'Billing'\""), {"interaction": EMAIL})
    assert session.datamodel.evaluate("JSON.stringify(_genesys.classification)") == "{}"


def test_the_profile_section_is_validated_with_clear_errors():
    with pytest.raises(FakesError) as caught:
        load_fakes({"classification": {"screen_rule": [], "classify": [{"root": "Billing"}]}})
    assert caught.value.problems == [
        "$.classification: unknown key(s) 'screen_rule' (did you mean 'screen_rules'?)",
        "$.classification.classify[0]: 'categories' is required",
    ]


def test_classify_stores_the_categories_on_the_interaction(run):
    session, platform = run(classify("root=\"'Billing'\""), {"interaction": EMAIL, "classification": CLASSIFY_RULES})
    names = "_genesys.ixn.interactions['EMAIL0001'].categories.map(function (c) { return c.name; })"
    assert session.datamodel.evaluate(names) == ["Billing", "Refund"]
    assert [c["relevancy"] for c in platform.interaction("EMAIL0001")["categories"]] == [87, 40]


def test_storing_categories_on_the_interaction_can_be_turned_off(run):
    fakes = {"interaction": EMAIL, "classification": {**CLASSIFY_RULES, "attach_categories": False}}
    session, _ = run(classify("root=\"'Billing'\""), fakes)
    assert session.datamodel.evaluate("_genesys.ixn.interactions['EMAIL0001'].categories") == []
    assert result(session, "result")[0]["name"] == "Billing"


def test_screen_with_a_non_string_interactionid_is_an_invalid_attribute_error(run):
    session, _ = run(screen('interactionid="({id: 1})"'), {"interaction": EMAIL})
    assert result(session, "path") == "error"
    assert result(session, "error.error") == "invalidattribute"


def test_a_fakes_rule_can_fail_screen(run):
    rule = {"module": "classification", "action": "screen", "error": {"error": "Request Invalid", "description": "x"}}
    session, _ = run(screen(), {"interaction": EMAIL, "rules": [rule]})
    assert result(session, "path") == "error"
    assert result(session, "error.description") == "x"


# -- a realistic e-mail strategy: classify, check agents, queue -------------------------------

EMAIL_ROUTING = """<?xml version="1.0" encoding="UTF-8"?>
<scxml version="1.0" xmlns="http://www.w3.org/2005/07/scxml" xmlns:xi="http://www.w3.org/2001/XInclude"
    xmlns:ws="http://www.genesyslab.com/modules/ws" xmlns:queue="http://www.genesyslab.com/modules/queue"
    xmlns:dialog="http://www.genesyslab.com/modules/dialog" xmlns:session="http://www.genesyslab.com/modules/session"
    xmlns:ixn="http://www.genesyslab.com/modules/interaction"
    xmlns:classification="http://www.genesyslab.com/modules/classification"
    initial="_composer_init" _persist="false" profile="ecmascript">
  <datamodel>
    <data id="target" expr="''"/>
    <data id="routed" expr="''"/>
  </datamodel>
  <state id="_composer_init">
    <onentry><script>var system = new Object(); var App_Classify1 = new Object(); var App_Target1 = new Object();
      var categories = [];</script></onentry>
    <transition event="interaction.added" target="Classify1">
      <assign location="system.InteractionID" expr="_event.data.interactionid"/>
    </transition>
  </state>
  <state id="Classify1">
    <onentry>
      <classification:classify requestid="App_Classify1['requestid']" interactionid="system.InteractionID"
          root="'Inbound'"/>
    </onentry>
    <transition event="classification.classify.done" cond="_event.data.requestid==App_Classify1['requestid']"
        target="Branch1">
      <assign location="categories" expr="_event.data.categories"/>
    </transition>
    <transition event="error.classification.classify" target="Exit"/>
  </state>
  <state id="Branch1">
    <transition cond="categories.length &gt; 0 &amp;&amp; categories[0].name == 'Billing'
        &amp;&amp; _genesys.statistic.sData('AG_Billing@Stat_Server.GA', 'StatAgentsAvailable') &gt; 0"
        target="Target1">
      <assign location="_data.target" expr="'AG_Billing@Stat_Server.GA'"/>
    </transition>
    <transition target="Target1"><assign location="_data.target" expr="'AG_General@Stat_Server.GA'"/></transition>
  </state>
  <state id="Target1">
    <onentry>
      <queue:submit route="true" requestid="App_Target1['requestid']" interactionid="system.InteractionID"
          queue="'VQ_Email'" timeout="600" clearontimeout="true" ordertype="'max'" orderstat="'StatAgentLoading'">
        <queue:targets><queue:targetid expr="_data.target"/></queue:targets>
      </queue:submit>
    </onentry>
    <transition event="queue.submit.done" cond="_event.data.requestid==App_Target1['requestid']" target="Exit">
      <assign location="_data.routed" expr="_event.data.targetobjectselected"/>
    </transition>
  </state>
  <final id="Exit"/>
</scxml>"""

BILLING_EMAIL = {
    "interaction": EMAIL,
    "classification": {"classify": [{"root": "Inbound", "text": "re:invoice", "categories": [{"name": "Billing"}]}]},
}


@pytest.mark.parametrize(
    ("fakes", "target"),
    [
        ({**BILLING_EMAIL, "statistics": {"AG_Billing@Stat_Server.GA|StatAgentsAvailable": 3}}, "AG_Billing"),
        ({**BILLING_EMAIL, "statistics": {"AG_Billing@Stat_Server.GA|StatAgentsAvailable": 0}}, "AG_General"),
        ({"interaction": EMAIL, "statistics": {"StatAgentsAvailable": 3}}, "AG_General"),  # not a billing e-mail
    ],
)
def test_an_email_strategy_routes_on_its_classification_and_statistics(fakes, target):
    r = OrsRun({"EmailRouting.scxml": EMAIL_ROUTING.encode()}, fakes=fakes)
    try:
        r.run()
        assert r.session.errors == [] and r.session.final_state == "Exit"
        assert r.session.datamodel.evaluate("_data.routed") == f"{target}@Stat_Server.GA"
        assert r.summary()["outcome"]["status"] == "routed"
    finally:
        r.session.datamodel.close()
