"""Batch simulation: aggregates on the sample project, deterministic variations, the process pool,
coverage unions, bad input and `manage.py batch`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from simulator.ors.project import load_project
from simulator.runners.batch import BatchError, parse_vary, parse_vary_option, run_batch
from tests.simulator.test_scenarios import ENTRY
from tests.simulator.test_scenarios import FILES as TRIAGE_FILES


def without_timing(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "timing"}


@pytest.fixture(scope="module")
def sample(shared_dir: Path) -> dict[str, bytes]:
    return load_project(shared_dir / "ors-samples" / "crd-gvp-wf")


def test_every_interaction_of_the_sample_is_routed_to_the_default_agent(sample):
    summary = run_batch(sample, 12)
    assert summary["count"] == 12
    assert summary["statuses"] == {"final": 12}
    assert summary["outcomes"] == {"routed": 12}
    assert summary["targets"] == {"7001@SIPSwitch.DN": 12}
    assert summary["errors"] == {"sessions": 0, "records": 0, "messages": {}}
    assert summary["virtual_time"] == {"min": 3.25, "max": 3.25, "mean": 3.25, "p50": 3.25, "p95": 3.25}
    assert summary["final_states"] == {"_composer_global_exit": 12}
    assert summary["timing"]["workers"] == 1
    coverage = summary["coverage"]
    assert coverage["runs"] == 12
    missed = {s["id"] for s in coverage["states"]["uncovered"]}
    assert "MainWorkflow.TargetBySkill1" not in missed and "MainWorkflow.TargetByAG" in missed


def test_a_fakes_variation_splits_outcomes_deterministically_by_seed(sample):
    vary = {"queue.available": [True, False]}
    first = run_batch(sample, 40, vary=vary, seed=3, coverage=False)
    split = first["by_variation"]["queue.available"]
    routed = split["true"]["routed"]
    assert split == {"false": {"terminated": 40 - routed}, "true": {"routed": routed}}
    assert 5 < routed < 35  # both halves are drawn
    assert first["outcomes"] == {"routed": routed, "terminated": 40 - routed}
    assert first["targets"] == {"7001@SIPSwitch.DN": routed}
    times = first["virtual_time"]
    assert (times["min"], times["p50"] in (3.25, 72.25), times["max"]) == (3.25, True, 72.25)
    assert times["p95"] == 72.25
    assert without_timing(run_batch(sample, 40, vary=vary, seed=3, coverage=False)) == without_timing(first)
    assert "coverage" not in first


def test_weights_choose_only_the_weighted_values(sample):
    summary = run_batch(sample, 10, vary={"queue.available": {"values": [True, False], "weights": [1, 0]}})
    assert summary["outcomes"] == {"routed": 10}
    assert summary["by_variation"] == {"queue.available": {"true": {"routed": 10}}}


def test_the_process_pool_gives_the_same_aggregate_as_one_process(sample):
    vary = {"queue.available": [True, False], "ani": ["5551234", "5550100"]}
    alone = run_batch(sample, 24, vary=vary, seed=11, workers=1)
    pooled = run_batch(sample, 24, vary=vary, seed=11, workers=2)
    assert pooled["timing"]["workers"] == 2
    assert without_timing(pooled) == without_timing(alone)
    assert (
        sum(alone["by_variation"]["ani"]["5550100"].values()) + sum(alone["by_variation"]["ani"]["5551234"].values())
        == 24
    )


def test_userdata_variations_reach_both_branches_and_coverage_is_their_union():
    plain = run_batch(TRIAGE_FILES, 6)
    assert "vip" in {s["id"] for s in plain["coverage"]["states"]["uncovered"]}
    varied = run_batch(TRIAGE_FILES, 20, vary={"udata": [{"segment": "vip"}, {}]}, seed=1)
    counts = varied["by_variation"]["udata"]
    assert set(counts) == {'{"segment": "vip"}', "{}"}
    missed = {s["id"] for s in varied["coverage"]["states"]["uncovered"]}
    assert missed == {"overflow", "gone"}  # vip and support both covered, no timeout, no hang-up
    assert varied["outcomes"] == {"routed": 20}


def test_rule_choices_split_the_targets_and_runtime_errors_are_counted():
    overflow = [
        {"module": "queue", "action": "submit", "match": {"targets": "Support@.GA"}, "error": {"error": "busy"}}
    ]
    summary = run_batch(TRIAGE_FILES, 30, vary={"rules": [overflow, []]}, seed=5, coverage=False)
    by_rules = summary["by_variation"]["rules"]
    assert set(by_rules) == {json.dumps(overflow, sort_keys=True), "[]"}
    assert summary["targets"] == {
        "7000": sum(by_rules[json.dumps(overflow, sort_keys=True)].values()),
        "7001@SIPSwitch.DN": sum(by_rules["[]"].values()),
    }
    broken = {ENTRY: TRIAGE_FILES[ENTRY].replace(b"'segment ' + segment", b"segment.nope.deeper")}
    errors = run_batch(broken, 3, coverage=False)["errors"]
    assert errors["sessions"] == 3 and errors["records"] == 3
    assert list(errors["messages"]) == ["TypeError: cannot read property 'deeper' of undefined"]


def test_bad_variations_are_refused_with_the_key_and_the_fakes_problem():
    with pytest.raises(BatchError, match=r"vary queue.delay\[1\] = \"slow\": \$.queue.delay: 'slow' is not of type"):
        parse_vary({"queue.delay": [1, "slow"]})
    with pytest.raises(BatchError, match="vary ani: values must be a non-empty list"):
        parse_vary({"ani": []})
    with pytest.raises(BatchError, match="weights must be 2 non-negative numbers"):
        parse_vary({"ani": {"values": ["1", "2"], "weights": [1]}})
    with pytest.raises(BatchError, match="count must be at least 1"):
        run_batch(TRIAGE_FILES, 0)
    with pytest.raises(BatchError, match=r"\$.queue: unknown key"):
        run_batch(TRIAGE_FILES, 1, fakes={"queue": {"agents": 1}})


def test_the_vary_option_has_a_list_a_json_and_an_object_form():
    assert parse_vary_option("ani=5551234, 5550100") == {"ani": ["5551234", "5550100"]}
    assert parse_vary_option("queue.available=[true,false]") == {"queue.available": [True, False]}
    assert parse_vary_option('{"dnis": ["8000"]}') == {"dnis": ["8000"]}
    with pytest.raises(BatchError, match="expected KEY=V1,V2"):
        parse_vary_option("ani")


@pytest.fixture()
def triage_dir(tmp_path: Path) -> Path:
    for path, data in TRIAGE_FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    return tmp_path


def test_the_command_prints_the_json_summary(triage_dir, capsys):
    call_command(
        "batch", str(triage_dir), "--count", "8", "--fakes", "fakes/vip.json", "--vary", "queue.available=[false]"
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["count"] == 8
    # VIP submit times out (20 s), then Support (30 s), then the overflow redirect to 7000
    assert summary["targets"] == {"7000": 8}
    assert summary["virtual_time"]["max"] == 50.1


def test_the_command_refuses_bad_input(triage_dir):
    with pytest.raises(CommandError, match="expected KEY=V1,V2"):
        call_command("batch", str(triage_dir), "--count", "2", "--vary", "nonsense")
    with pytest.raises(CommandError, match="cannot read fakes"):
        call_command("batch", str(triage_dir), "--count", "2", "--fakes", "fakes/none.json")
