"""Issue 10's ORS-fidelity points on the real Composer project (``ors-samples/crd-gvp-wf``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from simulator.ors.project import load_project
from simulator.runners.driver import OrsRun

IXN = "006502A8E4B1C002"
PRESENT = f"typeof _genesys.ixn.interactions['{IXN}'] != 'undefined'"


@pytest.fixture(scope="module")
def project(shared_dir: Path) -> dict[str, bytes]:
    return load_project(shared_dir / "ors-samples" / "crd-gvp-wf")


def run(project: dict[str, bytes], fakes: dict | None = None, watch: str | None = None) -> tuple[OrsRun, list]:
    """Run the sample; with `watch`, note (event, JS value of `watch`) after every macrostep."""
    r = OrsRun(project, fakes=fakes, trace=True)
    seen: list[tuple[str, Any]] = []
    if watch is not None:

        def note(record: dict) -> None:
            if record["type"] == "macrostep" and record.get("event") and record["session"] == r.session.sessionid:
                seen.append((record["event"]["name"], r.session.datamodel.evaluate(watch)))

        r.group.listeners.append(note)
    r.run()
    return r, seen


def event_time(r: OrsRun, name: str) -> float:
    return next(
        rec["time"] for rec in r.records if rec["type"] == "macrostep" and (rec.get("event") or {}).get("name") == name
    )


def test_the_call_stays_in_the_object_model_until_interaction_deleted_is_processed(project):
    fakes = {"inject": [{"on": {"module": "dialog", "action": "start"}, "after": 0.5, "event": "hangup"}]}
    r, seen = run(project, fakes, watch=PRESENT)
    assert seen[0] == ("interaction.added", True)
    assert ("error.dialog.start", True) in seen  # the hang-up is not visible before its event
    assert ("interaction.deleted", False) in seen
    names = [name for name, _ in seen]
    assert names.index("error.dialog.start") < names.index("interaction.deleted")
    assert r.summary()["outcome"] == {"status": "abandoned"}


def test_a_slow_rest_api_times_out_at_the_fetch_timeout_and_the_workflow_goes_on(project):
    slow = {"http": {"responses": [{"url": "re:getDetailByPhoneKey", "delay": 15}]}}
    r, _ = run(project, slow)
    fetch = r.summary()["requests"][0]
    assert [e["name"] for e in fetch["responses"]] == ["error.session.fetch"]
    assert fetch["responses"][0]["data"]["error"] == "timeout"
    assert fetch["responses"][0]["time"] == pytest.approx(fetch["created_at"] + 10)  # timeout="10"
    assert r.session.datamodel.evaluate("httpStatusCode") == "timeout"
    assert r.summary()["outcome"]["status"] == "routed"


def test_the_skill_submit_times_out_at_its_timeout_when_the_agent_is_slower(project):
    r, _ = run(project, {"queue": {"delay": 30}})
    skill, group = [q for q in r.summary()["requests"] if q["action"] == "submit"][:2]
    assert skill["responses"][-1]["name"] == "error.queue.submit"
    assert skill["responses"][-1]["time"] == pytest.approx(skill["created_at"] + 10)  # timeout="10"
    assert group["attributes"]["timeout"] == 60 and group["responses"][-1]["name"] == "queue.submit.done"


def test_with_no_agent_each_submit_fails_at_its_own_timeout_then_the_call_is_not_routed(project):
    r, _ = run(project, {"queue": {"available": False}})
    submits = [q for q in r.summary()["requests"] if q["action"] == "submit"]
    waits = [q["responses"][-1]["time"] - q["created_at"] for q in submits]
    assert waits == [pytest.approx(10), pytest.approx(60)]  # timeout="10", then timeout="60"
    assert r.summary()["outcome"]["status"] == "terminated"


def test_a_script_error_description_reaches_the_ipd_error_handler(project):
    # A REST answer of null breaks the workflow's scripts; the IPD's error handler logs
    # _event.data.description, which an ORS error event carries.
    r, _ = run(project, {"http": {"responses": [{"url": "re:getDetailByPhoneKey", "body": "null"}]}})
    first = r.session.errors[0]
    assert first["event"] == "error.script.TypeError"
    logs = [rec["value"] for rec in r.records if rec["type"] == "log" and isinstance(rec.get("value"), str)]
    assert any(text.endswith(": Error message: Error: Exception Found") for text in logs)
    assert any('element:"log", linenumber:' + str(first["line"]) in text for text in logs)


def test_the_default_statistics_say_an_agent_is_available_as_the_default_queue_does(project):
    r, _ = run(project)
    assert (
        r.session.datamodel.evaluate("_genesys.statistic.sData('Loan@Stat_Server_DC1.GA', 'StatAgentsAvailable')") == 1
    )
    assert r.summary()["outcome"]["status"] == "routed"
