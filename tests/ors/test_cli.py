"""``manage.py simulate --profile ors``: projects as folders or zips, fakes files, the summary line."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

from simulator.ors.project import ProjectError, find_entry, load_project


@pytest.fixture(scope="module")
def sample(shared_dir: Path) -> Path:
    return shared_dir / "ors-samples" / "crd-gvp-wf"


def simulate(*args: str) -> tuple[list[dict], int]:
    out = io.StringIO()
    try:
        call_command("simulate", *args, stdout=out)
        status = 0
    except SystemExit as exc:
        status = int(exc.code)
    return [json.loads(line) for line in out.getvalue().splitlines()], status


def test_a_project_folder_runs_from_its_ipd_and_reports_outcome_and_requests(sample):
    records, status = simulate(str(sample), "--profile", "ors")
    assert status == 0
    summary = records[-1]
    assert summary["type"] == "done" and summary["entry"] == "src-gen/IPD_default_MainWorkflow.scxml"
    assert summary["status"] == "final" and summary["final_state"] == "_composer_global_exit"
    assert summary["outcome"] == {"status": "routed", "target": "7001@SIPSwitch.DN", "via": "queue:submit"}
    assert [(q["module"], q["action"], q["status"], q["line"]) for q in summary["requests"]] == [
        ("session", "fetch", "answered", 1358),
        ("dialog", "start", "answered", 322),
        ("queue", "submit", "answered", 750),
    ]
    assert any(r["type"] == "macrostep" for r in records)


def test_a_zip_and_a_fakes_file_that_makes_the_submit_manual_leave_the_session_waiting(sample, tmp_path):
    archive = tmp_path / "project.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sample.rglob("*"):
            if f.is_file():
                zf.write(f, "CRD_GVP_WF/" + f.relative_to(sample).as_posix())
    fakes = tmp_path / "fakes.json"
    fakes.write_text(json.dumps({"rules": [{"module": "queue", "action": "submit", "manual": True}]}))
    records, status = simulate(str(archive), "--profile", "ors", "--fakes", str(fakes))
    summary = records[-1]
    assert status == 0
    assert summary["status"] == "idle"
    assert summary["outcome"]["status"] == "waiting"
    assert summary["outcome"]["for"][0].startswith("queue:submit ")


def test_an_invalid_fakes_file_is_reported_with_its_problems(sample, tmp_path):
    fakes = tmp_path / "bad.json"
    fakes.write_text('{"queue": {"delay": "soon"}}')
    records, status = simulate(str(sample), "--profile", "ors", "--fakes", str(fakes))
    assert status == 2
    assert records == [
        {
            "type": "error",
            "kind": "fakes",
            "message": "invalid fakes profile:\n  $.queue.delay: 'soon' is not of type 'number'",
            "problems": ["$.queue.delay: 'soon' is not of type 'number'"],
        }
    ]


def test_an_entry_and_injected_events_can_be_given(sample):
    records, _status = simulate(
        str(sample),
        "--profile",
        "ors",
        "--entry",
        "src-gen/IPD_default_MainWorkflow.scxml",
        "--inject",
        'interaction.deleted:{"interactionid": "006502A8E4B1C002"}@0.1',
    )
    summary = records[-1]
    assert summary["final_state"] == "_composer_global_exit"
    assert summary["outcome"] == {"status": "terminated", "reason": "deleted"}


def test_the_text_format_lists_the_requests(sample):
    out = io.StringIO()
    call_command("simulate", str(sample), "--profile", "ors", "--format", "text", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[-7].startswith("done: status=final final_state=_composer_global_exit outcome=")
    assert lines[-4].strip().startswith("request REQ00003 queue:submit line 750: answered queue.submit.done")
    # then what the fakes had to assume, and where the profile would answer it
    assert lines[-3] == "  assumed data (2), add it to the fakes profile to decide it yourself:"
    assert lines[-2].startswith(
        "    url https://wizdemo-api.wiz-solution.com/v1/apienpoint/genesys/getDetailByPhoneKey?"
    )
    assert lines[-2].endswith("answer it at $.http.responses[+]")
    assert lines[-1] == "    list item GHB_CRD_IVR_POC_PG/OPM: assumed {}; answer it at $.lists.GHB_CRD_IVR_POC_PG.OPM"


def test_the_json_summary_lists_the_assumptions(sample):
    records, status = simulate(str(sample), "--profile", "ors")
    assert status == 0
    summary = records[-1]
    assert [(a["what"], a["fakes"]["path"]) for a in summary["assumptions"]] == [
        ("url", ["http", "responses"]),
        ("list item", ["lists", "GHB_CRD_IVR_POC_PG", "OPM"]),
    ]


def test_a_missing_project_is_an_input_error(tmp_path):
    records, status = simulate(str(tmp_path / "nope"), "--profile", "ors")
    assert status == 2
    assert records[0]["kind"] == "project" and "not a project directory" in records[0]["message"]


def test_find_entry_needs_an_ipd_or_a_single_document():
    assert find_entry({"a/IPD_x.scxml": b"", "a/b.scxml": b""}) == "a/IPD_x.scxml"
    assert find_entry({"only.scxml": b""}) == "only.scxml"
    with pytest.raises(ProjectError, match="Otherwise pass --entry"):
        find_entry({"a.scxml": b"", "b.scxml": b""})


def test_load_project_keeps_only_project_files_and_refuses_zip_escapes(tmp_path):
    archive = tmp_path / "p.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("src-gen/IPD_a.scxml", "<scxml/>")
        zf.writestr("bin/tool.exe", "x")
    assert load_project(archive) == {"src-gen/IPD_a.scxml": b"<scxml/>"}
    # The designer's import rules: an escaping path refuses the whole archive, it is not skipped.
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("src-gen/IPD_a.scxml", "<scxml/>")
        zf.writestr("../evil.scxml", "<scxml/>")
    with pytest.raises(ProjectError, match="would leave the project folder"):
        load_project(evil)


def test_messages_name_no_line_when_there_is_none():
    from simulator.runners.headless import format_text

    record = {"type": "error", "seq": 1, "time": 0.0, "session": "s", "kind": "execution", "event": "error.x"}
    assert "line" not in format_text({**record, "message": "m", "line": None})
    assert format_text({**record, "message": "m", "line": 7}).endswith("m (line 7)")
