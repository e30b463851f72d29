"""Trace records of a multi-file project name the file and line of their own element or failing
statement (docs/trace.md): script text taken in with xi:include parse="text" keeps its file and
lines, and an error inside a function reports where the function was written, not the caller."""

from __future__ import annotations

from .conftest import Run

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:xi="http://www.w3.org/2001/XInclude" '
    'version="1.0" initial="s" datamodel="ecmascript">\n'
)

LIB = """// library
function helper(x) {
  return x + 1;
}
function boom(x) {
  var y = helper(x);
  return y.nothing.deeper;
}
"""


def errors(run: Run) -> list[tuple[str, int, str]]:
    return [(r["file"], r["line"], r["message"]) for r in run.of("error")]


def test_an_error_inside_a_library_function_reports_the_failing_line_of_the_library() -> None:
    main = (
        HEAD
        + """  <script><xi:include href="include/lib.js" parse="text"/></script>
  <state id="s">
    <onentry>
      <log expr="'hello'"/>
      <script>boom(1);</script>
    </onentry>
    <transition event="error.execution" target="e"/>
  </state>
  <final id="e"/>
</scxml>
"""
    )
    run = Run(main, project={"include/lib.js": LIB.encode()})
    run.idle()
    assert run.session.final_state == "e"
    assert errors(run) == [("include/lib.js", 7, "TypeError: cannot read property 'deeper' of undefined")]
    assert main.count("\n") == 12  # the old report (main line 13) was past the end of the file


def test_an_error_in_included_text_itself_reports_its_file_and_line_and_the_text_after_it_the_includer() -> None:
    lib = "var a = 1;\nvar b = 2;\nmissing.call();\n"
    for tail, expected in (("", ("include/bad.js", 3)), ("\nvar c = 3;\nnotThere();", ("chart.scxml", 7))):
        body = "var ok = 1;" if tail else ""
        main = (
            HEAD
            + f"""  <state id="s">
    <onentry>
      <script>{body}<xi:include href="include/bad.js" parse="text"/>{tail.replace("missing", "x")}</script>
    </onentry>
    <transition event="error.execution" target="e"/>
  </state>
  <final id="e"/>
</scxml>
"""
        )
        src = lib if not tail else lib.replace("missing.call();\n", "")
        run = Run(main, project={"include/bad.js": src.encode()})
        run.idle()
        assert [(f, line) for f, line, _ in errors(run)] == [expected], tail


def test_a_syntax_error_in_included_text_reports_its_file_and_line() -> None:
    main = (
        HEAD
        + """  <state id="s">
    <onentry>
      <script>
        <xi:include href="lib/broken.js" parse="text"/>
      </script>
    </onentry>
    <transition event="error.execution" target="e"/>
  </state>
  <final id="e"/>
</scxml>
"""
    )
    run = Run(main, project={"lib/broken.js": b"var a = 1;\nvar b = 2;\nvar = ;\n"})
    run.idle()
    ((file, line, message),) = errors(run)
    assert (file, line) == ("lib/broken.js", 3) and message.startswith("SyntaxError")


def test_a_function_defined_in_an_included_fragment_reports_the_fragment_file() -> None:
    main = (
        HEAD
        + """  <state id="s">
    <xi:include href="part.scxml" parse="xml" xpointer="inner"/>
    <transition event="error.execution" target="e"/>
  </state>
  <final id="e"/>
</scxml>
"""
    )
    part = """<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0">
  <state id="inner">
    <onentry>
      <log label="in part" expr="1"/>
      <script>
        function f() {
          return undefinedThing + 1;
        }
      </script>
      <script>f();</script>
    </onentry>
  </state>
</scxml>
"""
    run = Run(main, project={"part.scxml": part.encode()})
    run.idle()
    assert run.session.final_state == "e"
    assert [(r["file"], r["line"]) for r in run.of("log")] == [("part.scxml", 4)]
    assert [(f, line) for f, line, _ in errors(run)] == [("part.scxml", 7)]


def test_two_sessions_of_one_document_share_the_script_bytecode() -> None:
    from simulator.scxml import jsbytecode

    main = HEAD + '  <script>var big = "' + "x" * 10 + '";</script>\n  <final id="s"/>\n</scxml>\n'
    before = jsbytecode.compile_program.cache_info()
    Run(main).idle()
    middle = jsbytecode.compile_program.cache_info()
    Run(main).idle()
    after = jsbytecode.compile_program.cache_info()
    assert middle.misses == before.misses + 1 or middle.hits > before.hits
    assert after.misses == middle.misses  # the second session compiled nothing
