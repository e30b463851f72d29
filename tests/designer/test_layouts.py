"""designer/layouts.py: a browser's ELK layout is kept only as what the diagram draws, and only
when it lays out the graph it claims to."""

from __future__ import annotations

import pytest

from designer import layouts
from designer.layouts import LayoutError, clean_layout

GRAPH = {
    "states": [{"id": "main"}, {"id": "a"}, {"id": "b"}],
    "transitions": [{"id": "t1"}, {"id": "t2"}],
}


def box(**extra: object) -> dict[str, object]:
    return {"x": 10, "y": 20.5, "width": 60, "height": 30, **extra}


def section() -> dict[str, object]:
    return {"startPoint": {"x": 1, "y": 2}, "endPoint": {"x": 3, "y": 4}, "bendPoints": [{"x": 1, "y": 4}]}


def elk_result() -> dict[str, object]:
    """What ELK answers: the input's options and label texts included."""
    return {
        "id": "root",
        "layoutOptions": {"elk.algorithm": "layered"},
        "width": 300,
        "height": 200,
        "children": [
            box(
                id="n:main",
                layoutOptions={"elk.padding": "[top=20]"},
                labels=[],
                children=[box(id="i:main"), box(id="n:a"), box(id="n:b", children=[], edges=[])],
                edges=[
                    {"id": "x:0", "sources": ["i:main"], "targets": ["n:a"], "sections": [section()]},
                    {
                        "id": "e:t1:0",
                        "sources": ["n:a"],
                        "targets": ["n:b"],
                        "sections": [section()],
                        "labels": [box(id="l:e:t1:0", text="go [x > 1]")],
                    },
                ],
            )
        ],
        "edges": [],
    }


def test_a_layout_keeps_only_what_the_diagram_draws() -> None:
    layout = clean_layout(elk_result(), GRAPH)

    main = layout["children"][0]
    assert set(layout) == {"width", "height", "children", "edges"}
    assert set(main) == {"id", "x", "y", "width", "height", "children", "edges"}
    assert [c["id"] for c in main["children"]] == ["i:main", "n:a", "n:b"]
    edge = main["edges"][1]
    assert edge == {"id": "e:t1:0", "sections": [section()], "labels": [box()]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["children"][0].update(id="n:elsewhere"), "no state of this diagram"),
        (lambda r: r["children"][0]["children"].append(box(id="n:a")), "repeated id"),
        (lambda r: r["children"][0]["edges"][1].update(id="e:t9:0"), "no transition of this diagram"),
        (lambda r: r["children"][0]["edges"][1].update(id="t1"), "no transition of this diagram"),
        (lambda r: r["children"][0].update(x="10"), "not a finite number"),
        (lambda r: r["children"][0].update(x=True), "not a finite number"),
        (lambda r: r["children"][0].update(y=float("inf")), "not a finite number"),
        (lambda r: r["children"][0].update(width=-1), "out of range"),
        (lambda r: r.update(height=1e12), "out of range"),
        (lambda r: r["children"][0].update(children={"id": "n:a"}), "not a list"),
        (lambda r: r["children"][0]["edges"][1]["sections"][0].update(endPoint=[3, 4]), "not a point"),
        (lambda r: r["children"][0]["edges"][1].update(labels=[box()] * 9), "more than 8 items"),
        (lambda r: r.update(children=["n:main"]), "not a node"),
    ],
)
def test_a_layout_that_does_not_lay_out_the_graph_is_refused(change: object, message: str) -> None:
    result = elk_result()
    change(result)  # type: ignore[operator]

    with pytest.raises(LayoutError, match=message):
        clean_layout(result, GRAPH)


def test_a_layout_nested_deeper_than_the_limit_or_too_large_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    states = [f"s{i}" for i in range(layouts.MAX_DEPTH + 2)]
    deep: dict[str, object] = box(id=f"n:{states[-1]}")
    for state in reversed(states[:-1]):
        deep = box(id=f"n:{state}", children=[deep])

    with pytest.raises(LayoutError, match="nested deeper"):
        clean_layout({"width": 1, "height": 1, "children": [deep]}, {"states": [{"id": s} for s in states]})

    monkeypatch.setattr(layouts, "MAX_LAYOUT_BYTES", 200)
    with pytest.raises(LayoutError, match="larger than 200 bytes"):
        clean_layout(elk_result(), GRAPH)
