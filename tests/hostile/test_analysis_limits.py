"""Graph, lint and diff of large documents are linear, bounded in time, and say when they stop.

The bounds below are generous (CI shares two cores); before the fix these inputs took minutes to
hours (lint looked each finding's line up in the whole file; difflib is quadratic on rewrites).
"""

from __future__ import annotations

import random
import re
import time

import pytest

from designer import history
from simulator.ors.analysis import build_graph, lint_project
from simulator.scxml import graph as scxml_graph

SCXML_HEAD = '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="s0">'


def chart(states: int) -> bytes:
    """`states` sibling states, every tenth with a transition to the next (the rest unreachable)."""
    parts = [SCXML_HEAD]
    for i in range(states):
        if i % 10 == 0:
            parts.append(f'<state id="s{i}"><transition event="e" target="s{(i + 1) % states}"/></state>')
        else:
            parts.append(f'<state id="s{i}"/>')
    parts.append("</scxml>")
    return "\n".join(parts).encode()


def timed(function, *args):  # type: ignore[no-untyped-def]
    start = time.monotonic()
    result = function(*args)
    return result, time.monotonic() - start


def test_a_5_mb_200000_state_document_is_refused_in_seconds() -> None:
    files = {"main.scxml": chart(200_000)}
    assert len(files["main.scxml"]) > 5_000_000

    graph, graph_seconds = timed(build_graph, files, "main.scxml")
    findings, lint_seconds = timed(lint_project, files, "main.scxml")

    assert graph["states"] == [] and graph["errors"][0]["message"].startswith("too large to analyse fully")
    assert [f["rule"] for f in findings] == ["too-large"]
    assert findings[0]["message"] == "too large to analyse fully: more than 50000 elements"
    assert graph_seconds < 15 and lint_seconds < 15


def test_lint_of_a_large_document_within_the_limits_is_linear_and_fills_columns() -> None:
    files = {"main.scxml": chart(20_000)}

    findings, seconds = timed(lint_project, files, "main.scxml")

    unreachable = [f for f in findings if f["rule"] == "unreachable-state"]
    assert len(unreachable) == 19_998  # s0 enters s1, which has no transition: the rest is unreachable
    assert all(f["column"] == 1 for f in unreachable)
    assert seconds < 30  # 90 s before (one split of the whole file per finding)


def test_lint_stops_at_its_time_budget_with_what_it_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scxml_graph, "ANALYSIS_SECONDS", 0.0)

    findings = lint_project({"main.scxml": chart(50)}, "main.scxml")

    assert [f["rule"] for f in findings] == ["too-large"]
    assert findings[0]["message"] == "too large to analyse fully: stopped after 0 s"
    graph = build_graph({"main.scxml": chart(50)}, "main.scxml")
    assert graph["errors"] == [
        {"file": "main.scxml", "line": None, "message": "too large to analyse fully: stopped after 0 s"}
    ]


def apply(diff: str, before: list[str]) -> list[str]:
    """Apply a unified diff to `before` (the diff page's reading of it)."""
    result: list[str] = []
    position = 0
    for line in diff.splitlines(keepends=True)[2:]:
        if line.startswith("@@"):
            match = re.match(r"@@ -(\d+)(?:,(\d+))? ", line)
            assert match
            start, length = int(match.group(1)), int(match.group(2) or 1)
            start = start - 1 if length else start
            result += before[position:start]
            position = start
        elif line.startswith(" "):
            result.append(line[1:])
            position += 1
        elif line.startswith("-"):
            position += 1
        elif line.startswith("+"):
            result.append(line[1:])
    return result + before[position:]


def test_a_diff_rewriting_every_other_line_of_200000_is_bounded_and_correct() -> None:
    before = "".join(f'<state id="s{i}"/>\n' for i in range(200_000))
    after = "".join(f'<state id="{"s" if i % 2 else "t"}{i}"/>\n' for i in range(200_000))

    [diff], seconds = timed(history.diff_files, {"m": before.encode()}, {"m": after.encode()}, "v1", "v2")

    assert diff.status == "modified"
    assert apply(diff.diff or "", before.splitlines(keepends=True)) == after.splitlines(keepends=True)
    assert seconds < 30  # difflib alone: about 70 s at 20,000 lines, quadratic beyond


def test_the_bounded_matcher_always_gives_a_diff_that_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "DIFF_EXACT_PAIRS", 4)  # the anchored path even for small files
    rnd = random.Random(11)
    for _ in range(500):
        before = [f"l{rnd.randint(0, 12)}\n" for _ in range(rnd.randint(0, 50))]
        after = list(before)
        for _ in range(rnd.randint(1, 6)):
            where = rnd.randint(0, len(after))
            if rnd.random() < 0.5 or not after:
                after.insert(where, f"n{rnd.randint(0, 20)}\n")
            else:
                del after[min(where, len(after) - 1)]
        [diff] = history.diff_files({"f": "".join(before).encode()}, {"f": "".join(after).encode()}, "a", "b")
        if before != after:
            assert apply(diff.diff or "", before) == after
