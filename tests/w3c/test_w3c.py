"""W3C SCXML 1.0 conformance: every automated test of shared/w3c-scxml/manifest.json.

One parametrised test per test id; a test passes when the session ends in the top-level final
state `pass` (the manifest's `convention`). Known failures are listed once, in XFAIL, with a
reason each (xfail_strict is on, so a fixed test must leave the table). The manual tests are
covered by their own assertions at the bottom of this module.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.scxml.interpreter import SessionGroup
from simulator.scxml.loader import DirectoryProject
from simulator.scxml.model import get_model
from tests.conftest import locate_shared

#: id -> reason; the only place known failures are listed
XFAIL: dict[str, str] = {
    # (empty: every automated test passes; add "<id>": "<reason>" lines here, never elsewhere)
}


def _manifest() -> dict:
    shared = locate_shared()
    if shared is None:
        return {"tests": []}
    return json.loads((shared / "w3c-scxml" / "manifest.json").read_text(encoding="utf-8"))


MANIFEST = _manifest()
AUTOMATED = [t for t in MANIFEST["tests"] if t["automated"] and t["files"]]


def run_w3c(shared: Path, relative: str, listener=None):
    """Run one W3C document to completion on the virtual clock; returns the root session."""
    folder, _, name = relative.rpartition("/")
    model = get_model(DirectoryProject(shared / "w3c-scxml" / folder), name)
    assert not model.errors, [str(e) for e in model.errors]
    group = SessionGroup(seed=7)
    if listener is not None:
        group.listeners.append(listener)
    session = group.create_session(model)
    session.start()
    group.run_until_idle(max_time=300)
    return session


def _param(test: dict):
    marks = [pytest.mark.xfail(reason=XFAIL[test["id"]], strict=True)] if test["id"] in XFAIL else []
    return pytest.param(test, id=f"test{test['id']}-{test['conformance']}", marks=marks)


def test_the_manifest_is_found_and_lists_every_automated_test(shared_dir):
    assert MANIFEST["summary"]["mandatory_automated"] == 159
    assert sum(t["conformance"] == "mandatory" for t in AUTOMATED) == 159
    assert sum(t["conformance"] == "optional" for t in AUTOMATED) == 33
    assert all(t in {x["id"] for x in AUTOMATED} for t in XFAIL)


@pytest.mark.parametrize("test", [_param(t) for t in AUTOMATED])
def test_w3c_document_reaches_pass(shared_dir, test):
    for relative in test["files"]:
        session = run_w3c(shared_dir, relative)
        assert session.final_state == "pass", f"{relative}: {session.status} {session.final_configuration}"


# -- manual tests: their pass criterion, asserted ------------------------------------------------


def _records(shared: Path, name: str) -> tuple:
    records: list[dict] = []
    session = run_w3c(shared, f"ecma/{name}", records.append)
    return session, records


def test415_the_machine_halts_in_the_top_level_final_without_processing_event1(shared_dir):
    session, records = _records(shared_dir, "test415.scxml")
    assert session.status == "final"
    assert session.final_state == "final"
    assert not any(r["type"] == "macrostep" and (r["event"] or {}).get("name") == "event1" for r in records)
    assert not any(r["type"] == "microstep" and r["event"] == "event1" for r in records)


def test301_a_document_whose_script_src_cannot_be_loaded_is_rejected(shared_dir):
    model = get_model(DirectoryProject(shared_dir / "w3c-scxml" / "ecma"), "test301.scxml")
    assert any("src" in e.message and e.line == 5 for e in model.errors)


@pytest.mark.parametrize("name", ["test313.scxml", "test314.scxml"])
def test313_314_an_illegal_expression_raises_error_execution_and_reaches_pass(shared_dir, name):
    session, records = _records(shared_dir, name)
    assert session.final_state == "pass"
    assert any(r["type"] == "error" and r["event"] == "error.execution" for r in records)


def test307_late_bound_access_before_load_and_missing_substructure_both_log_undefined(shared_dir):
    _, records = _records(shared_dir, "test307.scxml")
    logs = [r for r in records if r["type"] == "log"]
    assert logs[0]["label"].startswith("entering s0") and logs[0]["value"] is None
    assert logs[1]["label"].startswith("entering s1") and logs[1]["value"] is None


def test178_duplicate_param_names_keep_both_values(shared_dir):
    _, records = _records(shared_dir, "test178.scxml")
    sends = [r for r in records if r["type"] == "send"]
    assert sends[0]["data"] == {"Var1": [2, 3]}


def test230_autoforwarded_event_fields_match_in_parent_and_child(shared_dir):
    _, records = _records(shared_dir, "test230.scxml")
    fields = ("name", "type", "sendid", "origin", "origintype", "invokeid", "data")
    by_session: dict[str, dict[str, object]] = {}
    for r in records:
        if r["type"] == "log" and r["label"] and r["label"].split(" ")[0] in fields:
            by_session.setdefault(r["session"], {})[r["label"].split(" ")[0]] = r["value"]
    assert len(by_session) == 2
    parent, child = by_session.values()
    assert parent == child
    assert parent["name"] == "childToParent"


def test250_onexit_handlers_of_a_cancelled_child_run(shared_dir):
    _, records = _records(shared_dir, "test250.scxml")
    logged = [r["value"] for r in records if r["type"] == "log"]
    assert logged[:2] == ["Exiting sub01", "Exiting sub0"]
    child_done = [r for r in records if r["type"] == "done" and r.get("invokeid")]
    assert child_done and child_done[0]["status"] == "cancelled"


def test_the_null_datamodel_document_runs_without_a_js_context(shared_dir):
    session = run_w3c(shared_dir, "null/test436.scxml")
    assert session.final_state == "pass"
    assert type(session.datamodel).__name__ == "NullDataModel" or session.datamodel is None


def test513_basichttp_posts_reach_the_session_location_in_process(shared_dir):
    """test513 is fully manual (POST to the location, expect HTTP 200); the engine's BasicHTTP
    processor is an in-process loopback, so the equivalent is: a POST to a session's location
    becomes an external event with the form fields as data and the request as _event.raw."""
    from simulator.scxml.model import model_from_string

    doc = (
        '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript">'
        '<datamodel><data id="raw"/></datamodel><state id="s"><onentry>'
        '<send type="basichttp" targetexpr="_ioprocessors[\'basichttp\'].location" event="posted">'
        '<param name="a" expr="\'x y\'"/></send></onentry>'
        '<transition event="posted" cond="_event.data.a === \'x y\'" target="pass">'
        '<assign location="raw" expr="_event.raw"/></transition></state><final id="pass"/></scxml>'
    )
    group = SessionGroup(seed=1)
    session = group.create_session(model_from_string(doc))
    session.start()
    group.run_until_idle()
    assert session.final_state == "pass"
    raw = session.datamodel.evaluate("raw")
    assert raw.startswith("POST /scxml/") and raw.endswith("_scxmleventname=posted&a=x+y")
