"""Elasticsearch connector: templates and documents through ORS (spec ors-interaction-dialog.md section 4)."""

from __future__ import annotations

import pytest

from simulator.ors.extensions import elasticconnector as es
from simulator.ors.extensions import module_for_namespace
from simulator.ors.fakes import FakesError, load_fakes
from simulator.runners.driver import OrsRun
from simulator.scxml.errors import DocumentError

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<scxml version="1.0" xmlns="http://www.w3.org/2005/07/scxml"
    xmlns:session="http://www.genesyslab.com/modules/session"
    xmlns:es="http://www.genesyslab.com/modules/elasticconnector"
    initial="Step0" _persist="false" profile="ecmascript">
  <datamodel>
    <data id="events" expr="[]"/>
    <data id="path" expr="''"/>
  </datamodel>
"""


def sequence(*elements: str) -> str:
    """One state per element (an ``es:*`` action written without requestid), run in order.

    Every answer is pushed to ``events`` as ``{name, data, t}``; an error ends the run.  Each
    state follows Composer's pattern: requestid into ``App_StepN['requestid']`` and guards on it.
    """
    states = []
    for i, element in enumerate(elements):
        app = f"App_Step{i}"
        following = f"Step{i + 1}" if i + 1 < len(elements) else "Exit"
        action = element.replace("/>", f" requestid=\"{app}['requestid']\"/>", 1)
        states.append(f"""
  <state id="Step{i}">
    <onentry><script>var {app} = new Object();</script>{action}</onentry>
    <transition event="elasticconnector" cond="_event.data.requestid=={app}['requestid']" target="{following}">
      <script>events.push({{name: _event.name, data: _event.data, t: __orsNow()}});</script>
    </transition>
    <transition event="error.elasticconnector" cond="_event.data.requestid=={app}['requestid']" target="Exit">
      <script>events.push({{name: _event.name, data: _event.data, t: __orsNow()}});</script>
      <assign location="_data.path" expr="'error'"/>
    </transition>
  </state>""")
    return HEAD + "".join(states) + '\n  <final id="Exit"/>\n</scxml>'


TEMPLATE = (
    '<es:createindextemplate name="\'{name}\'" index="\'{index}\'" order="{order}" type="\'doc\'"'
    " mapping=\"({{properties: {{ani: {{type: 'keyword'}}}}}})\"/>"
)


def template(name: str = "calls", index: str = "calls-*", order: int = 0, extra: str = "") -> str:
    return TEMPLATE.format(name=name, index=index, order=order).replace("/>", f" {extra}/>")


def createdoc(doc: str = "({ani: '5551234', score: 3})", id_: str | None = "'42'", extra: str = "") -> str:
    id_attr = f' id="{id_}"' if id_ else ""
    return f'<es:createdoc index="\'calls\'" type="\'doc\'"{id_attr} doc="{doc}" {extra}/>'


def updatedoc(id_: str = "'42'", doc: str = "({score: 5, tags: {vip: true}})") -> str:
    return f'<es:updatedoc index="\'calls\'" type="\'doc\'" id="{id_}" doc="{doc}"/>'


def deletedoc(id_: str = "'42'") -> str:
    return f'<es:deletedoc index="\'calls\'" type="\'doc\'" id="{id_}"/>'


@pytest.fixture
def run():
    """Run a document to completion; returns the OrsRun (session, platform)."""
    runs: list[OrsRun] = []

    def go(doc: str, fakes: dict | None = None) -> OrsRun:
        r = OrsRun({"Es.scxml": doc.encode()}, fakes={"none": True, **(fakes or {})})
        r.run()
        runs.append(r)
        assert r.session.errors == []
        assert r.session.final_state == "Exit"
        return r

    yield go
    for r in runs:
        if r.session.datamodel is not None:
            r.session.datamodel.close()


def events(r: OrsRun) -> list[dict]:
    return r.session.datamodel.evaluate("events")


def names(r: OrsRun) -> list[str]:
    return [e["name"] for e in events(r)]


# -- declarations -----------------------------------------------------------------------------


def test_it_is_selected_by_both_namespace_spellings():
    assert module_for_namespace("http://www.genesyslab.com/modules/elasticconnector") is es.MODULE
    assert module_for_namespace("www.genesyslab.com/modules/elasticconnector") is es.MODULE


def test_it_declares_the_four_documented_actions_with_their_attributes():
    actions = es.MODULE.actions
    assert list(actions) == ["createindextemplate", "createdoc", "updatedoc", "deletedoc"]
    attrs = {name: [a.name for a in a_.attributes] for name, a_ in actions.items()}
    assert attrs["createindextemplate"] == ["requestid", "name", "index", "order", "type", "mapping", "timeout"]
    assert attrs["createdoc"] == ["requestid", "id", "index", "type", "doc", "timeout"]
    assert attrs["updatedoc"] == ["requestid", "id", "index", "type", "doc", "timeout"]
    assert attrs["deletedoc"] == ["requestid", "id", "index", "type", "timeout"]
    template_ = actions["createindextemplate"]
    assert [a.name for a in template_.attributes if a.required] == ["name", "index", "type", "mapping"]
    assert template_.attr("order").default == 0 and template_.attr("timeout").default == 0
    assert not actions["createdoc"].attr("id").required and actions["updatedoc"].attr("id").required


def test_it_declares_a_done_and_an_error_event_per_action():
    declared = {e.name: e.fields for e in es.MODULE.events}
    for action in es.MODULE.actions.values():
        assert "requestid" in declared[es.MODULE.done_event(action)]
        assert declared[es.MODULE.error_event(action)] == ("requestid", "error", "description")


def test_its_js_surface_exists_and_is_empty(run):
    r = run(sequence(template()))
    assert r.session.datamodel.evaluate("JSON.stringify(_genesys.elasticconnector)") == "{}"


# -- createindextemplate ----------------------------------------------------------------------


def test_a_template_is_created(run):
    r = run(sequence(template(order=2)))
    assert names(r) == ["elasticconnector.createindextemplate.done"]
    data = events(r)[0]["data"]
    assert data["name"] == "calls" and data["requestid"] == r.session.datamodel.evaluate("App_Step0['requestid']")
    assert es.session_store(r.platform)["templates"] == {"calls": 2}
    (request,) = r.platform.requests.values()
    assert request.attributes["mapping"] == {"properties": {"ani": {"type": "keyword"}}}


def test_a_template_already_created_with_an_equal_or_higher_order_succeeds_at_once(run):
    r = run(sequence(template(order=3), template(order=3), template(order=1), template(order=4)))
    assert names(r) == ["elasticconnector.createindextemplate.done"] * 4
    times = [e["t"] for e in events(r)]
    assert times[1] == times[0] and times[2] == times[0]  # no request sent
    assert times[3] > times[2]
    assert es.session_store(r.platform)["templates"] == {"calls": 4}


@pytest.mark.parametrize("index", ["performance-*", "perf*", "*", "calls-*,performance-2026.*"])
def test_a_template_over_the_performance_index_is_refused(run, index):
    r = run(sequence(template(index=index, order=5)))
    (answer,) = events(r)
    assert answer["name"] == "error.elasticconnector.createindextemplate"
    assert answer["data"]["error"] == "invalidattribute" and "performance index" in answer["data"]["description"]


def test_a_template_over_the_session_index_needs_a_positive_order(run):
    r = run(sequence(template(index="session-*", order=0)))
    assert names(r) == ["error.elasticconnector.createindextemplate"]
    assert "order must be greater than 0" in events(r)[0]["data"]["description"]
    r = run(sequence(template(index="session-*", order=1)))
    assert names(r) == ["elasticconnector.createindextemplate.done"]


def test_a_template_mapping_must_be_an_object(run):
    doc = sequence(template().replace("mapping=\"({properties: {ani: {type: 'keyword'}}})\"", "mapping=\"'text'\""))
    r = run(doc)
    assert events(r)[0]["data"]["error"] == "invalidattribute"


def test_a_template_without_mapping_is_a_definition_error():
    doc = sequence("<es:createindextemplate name=\"'t'\" index=\"'x-*'\" type=\"'doc'\"/>")
    with pytest.raises(DocumentError) as caught:
        OrsRun({"Es.scxml": doc.encode()})
    assert "missing required attribute 'mapping'" in str(caught.value)


def test_an_unknown_connector_element_is_a_definition_error():
    with pytest.raises(DocumentError) as caught:
        OrsRun({"Es.scxml": sequence("<es:search index=\"'calls'\"/>").encode()})
    assert "unknown action element" in str(caught.value)


# -- documents --------------------------------------------------------------------------------


def test_a_document_is_created_updated_and_deleted(run):
    r = run(sequence(createdoc(), updatedoc(), deletedoc()))
    assert names(r) == [
        "elasticconnector.createdoc.done",
        "elasticconnector.updatedoc.done",
        "elasticconnector.deletedoc.done",
    ]
    datas = [e["data"] for e in events(r)]
    assert [(d["id"], d["result"], d["version"]) for d in datas] == [
        ("42", "created", 1),
        ("42", "updated", 2),
        ("42", "deleted", 3),
    ]
    assert es.session_store(r.platform)["docs"] == {"calls": {"doc": {}}}


def test_an_update_merges_the_partial_document(run):
    r = run(sequence(createdoc(doc="({ani: '1', tags: {new: true}})"), updatedoc()))
    assert es.session_store(r.platform)["docs"]["calls"]["doc"]["42"] == {
        "ani": "1",
        "score": 5,
        "tags": {"new": True, "vip": True},
    }


def test_a_document_without_id_gets_a_generated_one(run):
    r = run(sequence(createdoc(id_=None)))
    generated = events(r)[0]["data"]["id"]
    assert generated and es.session_store(r.platform)["docs"]["calls"]["doc"][generated]["score"] == 3


def test_creating_an_existing_document_replaces_it(run):
    r = run(sequence(createdoc(), createdoc(doc="({ani: 'other'})")))
    assert [e["data"]["result"] for e in events(r)] == ["created", "updated"]
    assert es.session_store(r.platform)["docs"]["calls"]["doc"]["42"] == {"ani": "other"}


@pytest.mark.parametrize("element", [updatedoc(id_="'missing'"), deletedoc(id_="'missing'")])
def test_changing_an_unknown_document_is_a_remote_error(run, element):
    r = run(sequence(element))
    (answer,) = events(r)
    assert answer["name"].startswith("error.elasticconnector.")
    assert answer["data"]["error"] == "remote" and answer["data"]["description"] == "document missing"


def test_documents_seeded_by_the_profile_can_be_updated(run):
    fakes = {"elasticconnector": {"documents": {"calls": {"doc": {"7": {"score": 1}}}}}}
    r = run(sequence(updatedoc(id_="'7'")), fakes)
    assert names(r) == ["elasticconnector.updatedoc.done"]
    assert es.session_store(r.platform)["docs"]["calls"]["doc"]["7"]["score"] == 5


def test_a_document_must_go_to_one_index(run):
    r = run(sequence(createdoc().replace("index=\"'calls'\"", "index=\"'calls-*'\"")))
    assert events(r)[0]["data"]["error"] == "invalidattribute"


def test_a_document_must_be_an_object(run):
    r = run(sequence(createdoc(doc="'not an object'")))
    assert names(r) == ["error.elasticconnector.createdoc"]
    assert events(r)[0]["data"]["error"] == "invalidattribute"


def test_an_update_without_an_id_value_is_invalid(run):
    r = run(sequence(updatedoc(id_="''")))
    assert events(r)[0]["data"] == {
        "error": "invalidattribute",
        "description": "id is required",
        "requestid": r.session.datamodel.evaluate("App_Step0['requestid']"),
    }


# -- connector down, rules --------------------------------------------------------------------


def test_a_down_connector_times_out_after_the_action_timeout(run):
    r = run(sequence(createdoc(extra='timeout="2500"')), {"elasticconnector": {"down": True}})
    (answer,) = events(r)
    assert answer["name"] == "error.elasticconnector.createdoc" and answer["data"]["error"] == "timeout"
    assert answer["t"] == pytest.approx(2.5)


def test_a_down_connector_fails_at_once_without_a_timeout(run):
    r = run(sequence(template()), {"elasticconnector": {"down": True}})
    (answer,) = events(r)
    assert answer["data"]["error"] == "timeout" and answer["t"] == 0.0


def test_a_fakes_rule_can_fail_one_action(run):
    rule = {
        "module": "elasticconnector",
        "action": "updatedoc",
        "error": {"error": "remote", "description": "version conflict"},
    }
    r = run(sequence(createdoc(), updatedoc()), {"rules": [rule]})
    assert names(r) == ["elasticconnector.createdoc.done", "error.elasticconnector.updatedoc"]
    assert events(r)[1]["data"]["description"] == "version conflict"


def test_a_rule_can_take_the_connector_down_for_one_action(run):
    rule = {"module": "elasticconnector", "action": "deletedoc", "params": {"down": True}}
    r = run(sequence(createdoc(), deletedoc()), {"rules": [rule]})
    assert names(r) == ["elasticconnector.createdoc.done", "error.elasticconnector.deletedoc"]
    assert "42" in es.session_store(r.platform)["docs"]["calls"]["doc"]


# -- helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("performance-*", es.PERFORMANCE_INDEX, True),
        ("perf*", es.PERFORMANCE_INDEX, True),
        ("calls-*,session-*", es.SESSION_INDEX, True),
        ("-session-*", es.SESSION_INDEX, False),
        ("sessions", es.SESSION_INDEX, False),
        ("", es.SESSION_INDEX, False),
    ],
)
def test_pattern_matches_reads_es_index_patterns(pattern, name, expected):
    assert es.pattern_matches(pattern, name) is expected


def test_the_profile_section_is_validated_with_clear_errors():
    with pytest.raises(FakesError) as caught:
        load_fakes({"elasticconnector": {"down": "yes", "templates": {"t": 1.5}}})
    assert caught.value.problems == [
        "$.elasticconnector.down: 'yes' is not of type 'boolean'",
        "$.elasticconnector.templates.t: 1.5 is not of type 'integer'",
    ]


@pytest.mark.parametrize(
    ("element", "missing"),
    [
        ('<es:createdoc type="\'doc\'" doc="({a: 1})"/>', "index"),
        ("<es:createdoc index=\"'calls'\" type=\"'doc'\"/>", "doc"),
        ('<es:updatedoc index="\'calls\'" type="\'doc\'" doc="({a: 1})"/>', "id"),
        ("<es:deletedoc index=\"'calls'\" id=\"'1'\"/>", "type"),
    ],
)
def test_a_document_action_without_a_required_attribute_is_a_definition_error(element, missing):
    with pytest.raises(DocumentError) as caught:
        OrsRun({"Es.scxml": sequence(element).encode()})
    assert f"missing required attribute '{missing}'" in str(caught.value)
