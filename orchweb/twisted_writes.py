"""A TCP write with nothing queued before it is sent at once, not at the reactor's next turn.

Twisted's `transport.write` only buffers: it registers the socket for writing (asyncio's
`add_writer`, an `epoll_ctl`), and the reactor's next turn sends the buffer and unregisters it
(`remove_writer`, another `epoll_ctl`). Daphne writes each websocket frame so: two system calls, a
loop turn and their Python for every frame (~2% of a step's CPU measured by helper "wsstep12";
docs/performance.md, helper "wsstep13"). Twisted has no switch for this. Here a write to a plain
(non-TLS) TCP connection with Nagle's algorithm off, nothing queued, no paused or pull producer
(Twisted web's HTTPChannel, Daphne's, is a streaming one) and not closing is sent with the
connection's own `writeSomeData` (what the reactor's turn would call); whatever the socket did not
take, or an error, goes through Twisted's own `write` unchanged, so the bytes' order, flow control
and error handling are Twisted's. Nagle's algorithm off (`setTcpNoDelay(True)`, which autobahn
calls for every websocket): with it on, a second small write sent before the first is
acknowledged would wait for that acknowledgement (up to the peer's delayed ACK, ~40 ms), where
Twisted's buffer would have sent both in one segment; an HTTP response's several writes keep
Twisted's buffer. Set when the ASGI application is loaded; it raises if Twisted's
connection no longer has what this relies on (tests/test_twisted_writes.py fails too).
"""

from __future__ import annotations

from typing import Any

from twisted.internet import _newtls, abstract, tcp

_twisted_write = _newtls.ConnectionMixin.write
_twisted_set_tcp_no_delay = tcp.Connection.setTcpNoDelay

#: the connection state a write that goes out at once must find (Twisted's names, class defaults)
_STATE = (
    "TLS",
    "connected",
    "disconnecting",
    "_writeDisconnecting",
    "_writeDisconnected",
    "_aborting",
    "producer",
    "streamingProducer",
    "producerPaused",
    "dataBuffer",
    "offset",
)


def write_now(self: tcp.Connection, data: bytes) -> None:
    """`tcp.Connection.write`: sent now when nothing is queued, else (and the rest) Twisted's write."""
    if (
        type(data) is bytes
        and data
        and self.connected
        and self._orchweb_no_delay  # type: ignore[attr-defined]
        and not self.TLS
        and not self.disconnecting
        and not self._writeDisconnecting
        and not self._writeDisconnected
        and not self._aborting
        and (self.producer is None or (self.streamingProducer and not self.producerPaused))
        and not self._tempDataBuffer
        and self.offset == len(self.dataBuffer)
    ):
        written: Any = self.writeSomeData(data)
        if type(written) is int and written > 0:
            if written == len(data):
                return
            data = data[written:]
    _twisted_write(self, data)


def set_tcp_no_delay(self: tcp.Connection, enabled: bool) -> None:
    """`tcp.Connection.setTcpNoDelay`, noting whether Nagle's algorithm is off now."""
    _twisted_set_tcp_no_delay(self, enabled)  # eats the errors of a socket without the option
    try:
        off = bool(enabled) and self.getTcpNoDelay()
    except OSError:
        off = False
    self._orchweb_no_delay = off  # type: ignore[attr-defined]


def send_writes_now() -> None:
    """Give Twisted's TCP connections `write_now` (idempotent)."""
    current = tcp.Connection.write
    no_delay = tcp.Connection.setTcpNoDelay
    missing = [name for name in _STATE if not hasattr(tcp.Connection, name)]
    if "_tempDataBuffer" not in abstract.FileDescriptor(reactor=object()).__dict__:  # type: ignore[arg-type]
        missing.append("_tempDataBuffer")
    if (
        (current is not _twisted_write and current is not write_now)
        or (no_delay is not _twisted_set_tcp_no_delay and no_delay is not set_tcp_no_delay)
        or missing
    ):
        raise RuntimeError(
            "twisted.internet.tcp.Connection is not what orchweb/twisted_writes.py was written for "
            f"(write: {current!r}, setTcpNoDelay: {no_delay!r}; missing: {missing}): it no longer fits this Twisted"
        )
    tcp.Connection._orchweb_no_delay = False  # type: ignore[attr-defined]
    tcp.Connection.setTcpNoDelay = set_tcp_no_delay  # type: ignore[method-assign]
    tcp.Connection.write = write_now  # type: ignore[method-assign]
