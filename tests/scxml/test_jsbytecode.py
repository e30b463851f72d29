"""Compile-once bytecode for big scripts: same semantics as eval, errors keep their type and line."""

from __future__ import annotations

import pytest

from simulator.scxml import jsbytecode
from simulator.scxml.datamodel import ECMAScriptDataModel, JSError

BIG = "var counter = 0;\nfunction bump() { counter += 1; return counter; }\n" + "// padding\n" * 600


def test_a_big_script_compiles_once_and_runs_in_every_context():
    assert jsbytecode.available
    code = jsbytecode.compile_program(BIG)
    assert code is not None and jsbytecode.compile_program(BIG) is code
    first, second = ECMAScriptDataModel(), ECMAScriptDataModel()
    try:
        first.execute(BIG)
        second.execute(BIG)
        assert first.evaluate("bump() + bump()") == 3
        assert second.evaluate("bump()") == 1  # its own globals
    finally:
        first.close()
        second.close()


def test_a_syntax_error_falls_back_to_eval_and_reports_it():
    assert jsbytecode.compile_program(BIG + "var = ;") is None
    dm = ECMAScriptDataModel()
    try:
        with pytest.raises(JSError) as info:
            dm.execute(BIG + "var = ;")
        assert info.value.name == "SyntaxError"
    finally:
        dm.close()


def test_a_runtime_error_keeps_its_type_message_and_line():
    dm = ECMAScriptDataModel()
    try:
        with pytest.raises(JSError) as info:
            dm.execute(BIG + "\nundefinedThing.x = 1;")
        assert (info.value.name, info.value.line) == ("ReferenceError", 604)
        assert "undefinedThing" in info.value.message
        assert dm.evaluate("typeof bump") == "function"  # what ran before the error stays
    finally:
        dm.close()


def test_an_endless_big_script_is_interrupted_by_the_deadline():
    dm = ECMAScriptDataModel(time_limit=0.2)
    try:
        with pytest.raises(JSError, match="interrupted"):
            dm.execute(BIG + "\nwhile (true) {}")
        assert dm.evaluate("1 + 1") == 2
    finally:
        dm.close()


def test_python_callbacks_work_while_bytecode_runs_even_nested_and_on_another_thread():
    import threading

    seen = []
    dm = ECMAScriptDataModel()
    try:
        dm.define_function("record", lambda x: seen.append(x) or dm.evaluate("1 + 1"))
        dm.execute(BIG + "\nvar got = record('a') + record('b');")
        assert seen == ["a", "b"] and dm.evaluate("got") == 4

        def other() -> None:
            dm.execute(BIG + "\nrecord('thread');")

        worker = threading.Thread(target=other)
        worker.start()
        worker.join()
        assert seen[-1] == "thread"
    finally:
        dm.close()
