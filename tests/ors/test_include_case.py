"""Composer is a Windows tool: an include that differs only in letter case resolves, with a warning."""

from __future__ import annotations

from pathlib import Path

from simulator.ors.analysis import lint_project
from simulator.ors.project import load_project
from simulator.runners.driver import OrsRun
from simulator.scxml.loader import load_document

IPD = "src-gen/IPD_default_MainWorkflow.scxml"
MAIN = b"""<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:xi="http://www.w3.org/2001/XInclude" version="1.0"
       initial="a" datamodel="ecmascript">
  <script><xi:include href="Lib/Helpers.JS" parse="text"/></script>
  <state id="a">
    <transition cond="twice(2) == 4" target="done"/>
  </state>
  <final id="done"/>
</scxml>"""


def test_an_include_differing_in_case_resolves_with_a_warning_not_an_error() -> None:
    files = {"main.scxml": MAIN, "lib/helpers.js": b"function twice(x) { return 2 * x; }"}

    doc = load_document(files, "main.scxml")

    assert doc.errors == []
    assert [(w.file, w.line, w.message) for w in doc.warnings] == [
        (
            "main.scxml",
            3,
            "xi:include href 'Lib/Helpers.JS' differs in case from 'lib/helpers.js': "
            "a case-sensitive web server will not find it",
        )
    ]
    run = OrsRun(files, "main.scxml")
    run.run()
    assert run.session.final_state == "done"


def test_two_files_differing_only_in_case_are_not_guessed_between() -> None:
    files = {"main.scxml": MAIN, "lib/helpers.js": b"", "LIB/HELPERS.js": b""}

    doc = load_document(files, "main.scxml")

    assert [e.message for e in doc.errors] == ["xi:include: file 'Lib/Helpers.JS' not found in the project"]
    assert doc.warnings == []


def test_the_shared_sample_with_a_windows_cased_include_runs_the_same_and_lints_a_warning(shared_dir: Path) -> None:
    files = dict(load_project(shared_dir / "ors-samples" / "crd-gvp-wf"))
    files[IPD] = (
        files[IPD]
        .replace(b'href="Main.scxml"', b'href="MAIN.scxml"')
        .replace(b'href="../include/common.js"', b'href="../Include/Common.js"')
    )

    run = OrsRun(files)
    run.run()
    findings = [f for f in lint_project(files, IPD) if f["rule"] == "include-case"]

    assert run.summary()["outcome"] == {"status": "routed", "target": "7001@SIPSwitch.DN", "via": "queue:submit"}
    assert sorted((f["severity"], f["file"], f["message"]) for f in findings) == [
        (
            "warning",
            IPD,
            "xi:include href '../Include/Common.js' differs in case from 'include/common.js': "
            "a case-sensitive web server will not find it",
        ),
        (
            "warning",
            IPD,
            "xi:include href 'MAIN.scxml' differs in case from 'src-gen/Main.scxml': "
            "a case-sensitive web server will not find it",
        ),
    ]
