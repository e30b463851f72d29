"""autobahn's debug lines formatted only when a logger prints them, not on every frame.

autobahn logs each websocket frame received (`dataReceived`) and sent (`sendData`) at debug level
with `log.debug("...", func=hltype(...), peer=hlval(...), data_len=hlval(...))`: the arguments are
built before the call, whatever the log level, and with click installed (Celery's dependency)
`hltype` + `hlval` colour their text (~6 us a pair, ~3 pairs a step: ~1-2% of a step's CPU on
Daphne; docs/performance.md, helper "wsstep13"). autobahn has no switch for this; here the two
modules that call them on every frame get versions that defer the same call to the moment the
log line's text is formatted (`str.format` asks `__format__`), so a debug log shows exactly what
it showed. Set when the ASGI application is loaded; it raises if autobahn no longer has these
names where this expects them (tests/test_autobahn_debug.py then fails too), rather than quietly
doing nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import autobahn.twisted.websocket
import autobahn.util
import autobahn.websocket.protocol

#: the modules whose per-frame debug lines call autobahn.util's hltype and hlval
MODULES = (autobahn.websocket.protocol, autobahn.twisted.websocket)


class Deferred:
    """`fn(arg)`'s text, made when it is formatted (or `str()`ed), not when it is created."""

    __slots__ = ("arg", "fn")

    def __init__(self, fn: Callable[[Any], str], arg: Any):
        self.fn = fn
        self.arg = arg

    def __format__(self, spec: str) -> str:
        return format(self.fn(self.arg), spec)

    def __str__(self) -> str:
        return self.fn(self.arg)

    def __repr__(self) -> str:
        return repr(self.fn(self.arg))


_hltype, _hlval = autobahn.util.hltype, autobahn.util.hlval


def hltype(obj: Any) -> Deferred:
    return Deferred(_hltype, obj)


def hlval(val: Any, color: str = "white", bold: bool = True) -> Deferred | str:
    if color != "white" or not bold:  # none of the modules' calls: their text at once
        return _hlval(val, color=color, bold=bold)
    return Deferred(_hlval, val)


def defer_debug_formatting() -> None:
    """Give MODULES the deferring hltype and hlval (idempotent)."""
    for module in MODULES:
        for name, original, deferring in (("hltype", _hltype, hltype), ("hlval", _hlval, hlval)):
            current = getattr(module, name, None)
            if current is not original and current is not deferring:
                raise RuntimeError(
                    f"{module.__name__}.{name} is not autobahn.util.{name} any more: "
                    "orchweb/autobahn_debug.py no longer fits this autobahn"
                )
            setattr(module, name, deferring)
