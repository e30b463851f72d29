"""One project-files module: safe reading of zips and folders, and the entry rule (with its reason)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from simulator.ors.project import find_entry, load_project
from simulator.ors.projectfiles import Limits, ProjectError, choose_entry, read_folder, read_zip
from tests.designer.conftest import make_zip

RUNNABLE = b'<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="a"><state id="a"/></scxml>'
NOBOOT = (
    b"<scxml version='1.0' xmlns='http://www.w3.org/2005/07/scxml'\n"
    b"\tinitial='_composer_noboot'><final id='_composer_noboot'/></scxml>"
)


def test_the_shared_sample_starts_from_its_ipd_and_says_why(shared_dir: Path) -> None:
    choice = choose_entry(load_project(shared_dir / "ors-samples" / "crd-gvp-wf"))

    assert choice.path == "src-gen/IPD_default_MainWorkflow.scxml"
    assert choice.reason == "It is the project's Interaction Process Diagram (IPD)."
    # Main.scxml and Survey.scxml are include-only workflows (_composer_noboot): not candidates.
    assert choice.candidates == ["src-gen/IPD_default_MainWorkflow.scxml"]
    assert choice.warnings == []


def test_several_ipds_choose_the_first_and_offer_the_others() -> None:
    files = {"src-gen/IPD_b.scxml": RUNNABLE, "src-gen/IPD_a.scxml": RUNNABLE, "src-gen/Flow.scxml": RUNNABLE}

    choice = choose_entry(files)

    assert choice.path == "src-gen/IPD_a.scxml"
    assert "first of 2 IPDs" in choice.reason and "src-gen/IPD_b.scxml" in choice.reason
    assert choice.candidates == ["src-gen/IPD_a.scxml", "src-gen/IPD_b.scxml", "src-gen/Flow.scxml"]


def test_include_only_workflows_and_subroutines_are_never_chosen() -> None:
    files = {
        "src-gen/Main.scxml": NOBOOT,
        "src-gen/Standalone.scxml": RUNNABLE,
        "src/subRoutines/ClearTargets.scxml": RUNNABLE,
    }

    choice = choose_entry(files)

    assert choice.path == "src-gen/Standalone.scxml"
    assert choice.reason == "It is the only SCXML document that can run first."


def test_composer_sources_without_generated_code_have_no_entry_and_say_what_to_do() -> None:
    files = {
        "Workflows/Main.workflow": b"<workflow/>",
        "Workflows/Survey.workflow": b"<workflow/>",
        "src/subRoutines/QueueQuery.scxml": RUNNABLE,
    }

    choice = choose_entry(files)

    assert choice.path == ""
    assert choice.warnings == ["No generated SCXML: generate code in Composer and import again."]
    assert choice.workflows == ["Workflows/Main.workflow", "Workflows/Survey.workflow"]
    with pytest.raises(
        ProjectError,
        match=re.escape(
            "No generated SCXML: generate code in Composer and import again. Workflows found: Workflows/Main"
        ),
    ):
        find_entry(files)


def test_a_project_of_subroutines_only_has_no_entry(shared_dir: Path) -> None:
    choice = choose_entry(load_project(shared_dir / "ors-samples" / "composer-stock"))

    assert choice.path == ""
    assert "subroutines" in choice.reason
    assert choice.warnings and choice.candidates == []


def test_zip_and_folder_follow_the_same_refusal_rules(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="would leave the project folder"):
        read_zip(make_zip({"../x.scxml": RUNNABLE}))
    with pytest.raises(ProjectError, match="over the 100-byte limit"):
        read_zip(make_zip({"a.js": b"x" * 200}), Limits(max_file_bytes=100))
    (tmp_path / "src-gen").mkdir()
    (tmp_path / "src-gen" / "a.js").write_bytes(b"x" * 200)
    with pytest.raises(ProjectError, match="over the 100-byte limit"):
        read_folder(tmp_path, Limits(max_file_bytes=100))
    os.symlink("/etc/passwd", tmp_path / "src-gen" / "link.js")
    with pytest.raises(ProjectError, match="symbolic links are not allowed"):
        read_folder(tmp_path)


def test_one_wrapping_folder_is_stripped_whatever_its_case() -> None:
    wrapped = read_zip(make_zip({"MyProject/src-gen/IPD_a.scxml": RUNNABLE, "MyProject/include/a.js": b""}))
    bare = read_zip(make_zip({"Src-Gen/IPD_a.scxml": RUNNABLE, "Src-Gen/b.scxml": RUNNABLE}))

    assert set(wrapped) == {"src-gen/IPD_a.scxml", "include/a.js"}
    assert set(bare) == {"Src-Gen/IPD_a.scxml", "Src-Gen/b.scxml"}
