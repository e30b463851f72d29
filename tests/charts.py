"""Strategies shared by the tests and the benches (bench/ imports them as it imports tests.servers)."""

from __future__ import annotations


def heavy_chart(rows: int) -> bytes:
    """A strategy whose datamodel holds `rows` objects (as a real one holding a large web service
    answer does) and then finishes: each simulation of it costs megabytes while it is alive."""
    return f"""<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="load">
  <datamodel><data id="answer" expr="null"/></datamodel>
  <state id="load">
    <onentry><script>
      var rows = [];
      for (var i = 0; i &lt; {rows}; i++) {{ rows.push({{id: i, name: "agent " + i}}); }}
      answer = rows;
    </script></onentry>
    <transition target="done"/>
  </state>
  <final id="done"/>
</scxml>
""".encode()
