"""`manage.py simulate`: JSON lines, summary, injections, limits, definition errors (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.runners.headless import parse_inject

ROOT = Path(__file__).resolve().parents[2]


def simulate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "simulate", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("text", "name", "data", "at"),
    [
        ("ping", "ping", None, 0.0),
        ('ping:{"n": 1}', "ping", {"n": 1}, 0.0),
        ("stop@2.5", "stop", None, 2.5),
        ('x.y:{"a": "b@c"}@3', "x.y", {"a": "b@c"}, 3.0),
    ],
)
def test_parse_inject_reads_name_json_and_time(text, name, data, at):
    injection = parse_inject(text)
    assert (injection.name, injection.data, injection.at) == (name, data, at)


@pytest.mark.parametrize("text", ["", ":{}", "x:{bad json}"])
def test_parse_inject_rejects_bad_input(text):
    with pytest.raises(ValueError):
        parse_inject(text)


def test_it_runs_w3c_documents_one_after_another_with_a_summary_each(shared_dir):
    ecma = shared_dir / "w3c-scxml" / "ecma"
    result = simulate(str(ecma / "test355.scxml"), str(ecma / "test226.scxml"))
    assert result.returncode == 0, result.stderr
    summaries = [r for r in lines(result.stdout) if r["type"] == "done" and "virtual_time" in r]
    assert [(s["status"], s["final_state"]) for s in summaries] == [("final", "pass"), ("final", "pass")]
    assert lines(result.stdout)[-1] == summaries[-1]


def test_injected_events_drive_the_chart_on_the_virtual_clock(shared_dir):
    chart = shared_dir / "bench" / "pingpong.scxml"
    result = simulate(str(chart), "--inject", 'ping:{"n": 0}', "--inject", 'pong:{"n": 1}@5', "--inject", "stop@10")
    summary = lines(result.stdout)[-1]
    assert summary == {
        "type": "done",
        "status": "final",
        "final_state": "done",
        "configuration": ["done"],
        "events": 3,
        "virtual_time": 10.0,
        "errors": [],
    }


def test_idle_and_max_time_limit(tmp_path):
    doc = tmp_path / "tick.scxml"
    doc.write_text(
        '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"><state id="s"><onentry>'
        '<send event="t" delay="10s"/></onentry><transition event="t" target="s"/></state></scxml>'
    )
    limited = lines(simulate(str(doc), "--max-time", "25").stdout)[-1]
    assert (limited["status"], limited["virtual_time"], limited["events"]) == ("limit", 25.0, 2)
    idle = tmp_path / "idle.scxml"
    idle.write_text('<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"><state id="s"/></scxml>')
    summary = lines(simulate(str(idle)).stdout)[-1]
    assert (summary["status"], summary["configuration"]) == ("idle", ["s"])


def test_definition_errors_print_with_line_and_column_and_exit_2(tmp_path):
    doc = tmp_path / "bad.scxml"
    doc.write_text(
        '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0">\n'
        '  <state id="a"><transition target="nowhere"/></state>\n</scxml>'
    )
    result = simulate(str(doc))
    assert result.returncode == 2
    first = lines(result.stdout)[0]
    assert first == {
        "type": "error",
        "kind": "definition",
        "message": "unknown target state 'nowhere'",
        "file": "bad.scxml",
        "line": 2,
        "column": 17,
    }


def test_sub_documents_next_to_the_document_are_part_of_the_project(tmp_path):
    (tmp_path / "child.scxml").write_text(
        '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"><final id="f"/></scxml>'
    )
    (tmp_path / "lib.js").write_text("var fromFile = 41;")
    doc = tmp_path / "main.scxml"
    doc.write_text(
        '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript">'
        '<script src="lib.js"/><state id="s"><invoke src="child.scxml"/>'
        '<transition event="done.invoke" cond="fromFile + 1 === 42" target="ok"/></state>'
        '<final id="ok"/></scxml>'
    )
    summary = lines(simulate(str(doc)).stdout)[-1]
    assert summary["final_state"] == "ok"


def test_the_same_seed_prints_the_same_trace_and_text_format_is_readable(shared_dir):
    w3c = str(shared_dir / "w3c-scxml" / "ecma" / "test230.scxml")
    assert simulate(w3c, "--seed", "5").stdout == simulate(w3c, "--seed", "5").stdout
    text = simulate(w3c, "--format", "text").stdout.splitlines()
    assert text[-1].startswith("done: status=final final_state=final")
    assert any(" macrostep " in line for line in text)
