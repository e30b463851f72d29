"""autobahn's per-frame debug arguments formatted only when a log line is (orchweb/autobahn_debug.py)."""

from __future__ import annotations

import autobahn.twisted.websocket
import autobahn.util
import autobahn.websocket.protocol
import pytest

from orchweb import autobahn_debug
from tests.conftest import after_loading_the_asgi_application

LINE = "{func} sent {data_len} bytes for peer {peer}"


@pytest.fixture
def styled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts autobahn.util.hl styles from now on."""
    calls: list[str] = []
    hl = autobahn.util.hl

    def counting(text: object, bold: bool = False, color: str = "yellow") -> str:
        calls.append(str(text))
        return hl(text, bold=bold, color=color)

    monkeypatch.setattr(autobahn.util, "hl", counting)
    return calls


def test_the_asgi_application_gives_the_frame_modules_the_deferring_functions() -> None:
    probe = (
        "import autobahn.twisted.websocket as t, autobahn.websocket.protocol as p, orchweb.autobahn_debug as d\n"
        "print(all(m.hltype is d.hltype and m.hlval is d.hlval for m in (t, p)))"
    )
    assert after_loading_the_asgi_application(probe) == "True"


def test_a_frame_s_debug_arguments_style_nothing_until_formatted(styled: list[str]) -> None:
    autobahn_debug.defer_debug_formatting()
    protocol = autobahn.twisted.websocket.WebSocketServerProtocol()
    for module in autobahn_debug.MODULES:
        module.hltype(protocol.sendData), module.hlval("tcp:127.0.0.1:1"), module.hlval(12)
    assert styled == []


def test_a_formatted_line_reads_as_autobahn_s_own(styled: list[str]) -> None:
    autobahn_debug.defer_debug_formatting()
    protocol = autobahn.twisted.websocket.WebSocketServerProtocol()
    module = autobahn.websocket.protocol
    deferred = LINE.format(func=module.hltype(protocol.sendData), peer=module.hlval("peer"), data_len=module.hlval(7))
    own = LINE.format(
        func=autobahn.util.hltype(protocol.sendData), peer=autobahn.util.hlval("peer"), data_len=autobahn.util.hlval(7)
    )
    assert deferred == own
    assert "WebSocketProtocol.sendData" in own
    assert str(module.hlval(7)) == autobahn.util.hlval(7)
    assert module.hlval(7, color="red") == autobahn.util.hlval(7, color="red")


def test_it_refuses_an_autobahn_whose_modules_no_longer_use_util_s_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(autobahn.websocket.protocol, "hltype", lambda obj: "<other>")
    with pytest.raises(RuntimeError, match="no longer fits"):
        autobahn_debug.defer_debug_formatting()
