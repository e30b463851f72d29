"""The dicts `Tracer.emit` and `record_fields` build from typed records (one generated function per
record class) against a plain loop over the dataclass fields."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from simulator.scxml import trace
from simulator.scxml.trace import OMIT, Tracer


class _Clock:
    now = 2.5


def _own(record: trace.Record) -> dict:
    """A record's own fields as the trace format defines them (docs/trace.md), by a plain loop over
    the dataclass fields: each not OMIT in field order (`from_` as `from`, `extra`'s items merged),
    or an extension record's fields."""
    if isinstance(record, trace.ExtensionRecord):
        return dict(record.fields)
    out: dict = {}
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if value is OMIT:
            continue
        if field.name == "extra":
            out.update(value)
        else:
            out["from" if field.name == "from_" else field.name] = value
    return out


def _generic(record: trace.Record, seq: int, session: str | None) -> dict:
    """The whole record: the common fields, then its own."""
    out = {"type": trace.record_type(record), "seq": seq, "session": session, "time": _Clock.now}
    out.update(_own(record))
    return out


def _declared(kind: type) -> dict[str, str]:
    """The annotations' text of a record class's fields and its bases', from trace.py's source
    (compiled, a class's `__annotations__` no longer say the declared types)."""
    classes = {
        node.name: node
        for node in ast.parse((Path(trace.__file__).parent / "trace.py").read_text()).body
        if isinstance(node, ast.ClassDef)
    }
    out: dict[str, str] = {}
    for cls in reversed(kind.__mro__):
        node = classes.get(cls.__name__)
        for item in node.body if node is not None else ():
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                out[item.target.id] = ast.unparse(item.annotation)
    return out


def _value(name: str, kind: str) -> object:
    """A distinct value of a field's declared type (`kind`, its annotation's text)."""
    if name == "extra" or kind.startswith("dict"):
        return {"level": 1, name: 2}
    for prefix, value in (("list", [name, 1]), ("str", name), ("float", 1.5), ("int", 7), ("Any", [name, 1])):
        if kind.startswith(prefix):
            return value
    raise AssertionError(f"no value for {name}: {kind}")


def _records() -> list[trace.Record]:
    """One record of every class, each field a distinct value; then OMIT in each field in turn, and
    `extra`/extension fields naming common fields and earlier fields."""
    made: list[trace.Record] = []
    classes = [c for c in vars(trace).values() if isinstance(c, type) and issubclass(c, trace.Record)]
    for kind in classes:
        names = [f.name for f in dataclasses.fields(kind)]
        if kind is trace.ExtensionRecord:
            made.append(kind("action", {"request": {"id": 1}, "type": "x", "time": 9, "a": None}))
            continue
        declared = _declared(kind)
        values = {n: _value(n, declared[n]) for n in names}
        made.append(kind(**values))
        for name in names:
            if declared[name] == "Any" or declared[name].endswith("| Any"):  # compiled, a typed field holds its type
                made.append(kind(**{**values, name: OMIT}))
    made.append(trace.LogRecord("l", 1, "f", 2, {"label": "again", "time": -1, "seq": 0, "type": "t", "z": 3}))
    return made


def test_emit_and_record_fields_build_every_record_class_as_the_trace_format_says_in_field_order():
    tracer = Tracer(_Clock())
    seen: list[dict] = []
    tracer.listeners.append(seen.append)
    records = _records()
    assert len({type(r) for r in records}) >= 14
    for record in records:
        out = tracer.emit(record, "s1", None)
        expected = _generic(record, tracer.seq, "s1")
        assert list(out.items()) == list(expected.items()), record
        assert seen[-1] is out
        assert list(trace.record_fields(record).items()) == list(_own(record).items()), record
    # an invoked session's records end with its invokeid; its own listeners get the same dict
    own: list[dict] = []
    out = tracer.emit(trace.RaiseRecord("e", None, 3), "s2", "inv", [own.append])
    assert list(out) == ["type", "seq", "session", "time", "event", "file", "line", "invokeid"]
    assert own == [out] and seen[-1] is out


def test_a_records_numbers_keep_their_type():
    # trace.py is compiled by mypyc, which makes an int a float in a field declared `float`
    limit = trace.record_fields(trace.LimitRecord("operations", 5000, "m"))
    assert limit == {"limit": "operations", "value": 5000, "message": "m"} and type(limit["value"]) is int
    clock = trace.record_fields(trace.ClockRecord(0, 2.5))
    assert type(clock["from"]) is int and type(clock["to"]) is float
    send = trace.SendRecord("e", "s", None, None, 0, None, None, None)
    assert type(trace.record_fields(send)["delay"]) is int
