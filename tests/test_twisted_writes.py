"""A TCP write with nothing queued before it sent at once, anything else left to Twisted
(orchweb/twisted_writes.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from twisted.internet import tcp

from orchweb import twisted_writes
from tests.conftest import after_loading_the_asgi_application


class Reactor:
    """What a connection asks of its reactor (Twisted's method names): the writers it registers
    are noted."""

    def __init__(self) -> None:
        self.writers: list[Any] = []

    def addWriter(self, writer: Any) -> None:
        if writer not in self.writers:
            self.writers.append(writer)

    def removeWriter(self, writer: Any) -> None:
        if writer in self.writers:
            self.writers.remove(writer)

    def addReader(self, reader: Any) -> None:
        pass

    def removeReader(self, reader: Any) -> None:
        pass


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tcp.Connection, "write", tcp.Connection.write)  # undone after the test
    twisted_writes.send_writes_now()


def connected(no_delay: bool) -> tuple[tcp.Connection, socket.socket, Reactor]:
    """A connected Twisted TCP connection (a server's, as Daphne's), its peer, its reactor;
    `no_delay`: Nagle's algorithm off, as autobahn sets it for a websocket."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        peer = socket.create_connection(server.getsockname())
        ours, _ = server.accept()
    ours.setblocking(False)
    peer.settimeout(5)
    reactor = Reactor()
    connection = tcp.Connection(ours, None, reactor)  # type: ignore[arg-type]
    connection.connected = 1
    if no_delay:
        connection.setTcpNoDelay(True)
    return connection, peer, reactor


@pytest.fixture
def pair(patched: None) -> Iterator[tuple[tcp.Connection, socket.socket, Reactor]]:
    connection, peer, reactor = connected(no_delay=True)
    yield connection, peer, reactor
    connection.socket.close()
    peer.close()


def received(peer: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        data += peer.recv(size - len(data))
    return data


def test_a_write_with_nothing_queued_is_sent_without_a_writer(patched: None, pair: Any) -> None:
    connection, peer, reactor = pair
    connection.write(b"a frame")
    assert reactor.writers == []
    assert received(peer, 7) == b"a frame"


def test_a_write_behind_queued_bytes_waits_its_turn(patched: None, pair: Any) -> None:
    connection, peer, reactor = pair
    big = bytes(range(256)) * 40_000  # more than the socket takes at once
    connection.write(big)
    assert reactor.writers == [connection]  # the rest queued, Twisted's way
    connection.write(b"the next frame")
    assert connection._tempDataBuffer  # queued behind, not sent before the rest
    out = b""
    while reactor.writers:
        connection.doWrite()
        out += peer.recv(1 << 20)
    out += received(peer, len(big) + 14 - len(out))
    assert out == big + b"the next frame"


@pytest.mark.parametrize(
    "state",
    [
        {"disconnecting": True},
        {"producer": object(), "streamingProducer": False},
        {"producer": object(), "streamingProducer": True, "producerPaused": True},
    ],
    ids=["closing", "pull-producer", "paused-producer"],
)
def test_it_leaves_other_writes_to_twisted(patched: None, pair: Any, state: dict[str, Any]) -> None:
    connection, peer, reactor = pair
    for name, value in state.items():
        setattr(connection, name, value)
    connection.write(b"later")
    assert reactor.writers == [connection]
    peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        peer.recv(10)


def test_a_connection_with_nagle_s_algorithm_on_is_left_to_twisted(patched: None) -> None:
    connection, peer, reactor = connected(no_delay=False)  # an HTTP response's
    try:
        connection.write(b"headers")
        assert reactor.writers == [connection]
        peer.setblocking(False)
        with pytest.raises(BlockingIOError):
            peer.recv(10)
    finally:
        connection.socket.close()
        peer.close()


def test_a_tls_connection_s_write_goes_through_its_tls_layer(patched: None, pair: Any) -> None:
    connection, peer, _ = pair
    written: list[bytes] = []
    connection.TLS = True
    connection.protocol = type("TLSLayer", (), {"write": lambda self, data: written.append(data)})()
    connection.write(b"plain text")
    assert written == [b"plain text"]
    peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        peer.recv(10)


def test_the_asgi_application_sends_writes_now() -> None:
    probe = "import twisted.internet.tcp as t, orchweb.twisted_writes as w\nprint(t.Connection.write is w.write_now)"
    assert after_loading_the_asgi_application(probe) == "True"


def test_it_refuses_a_twisted_whose_connection_writes_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tcp.Connection, "write", lambda self, data: None)
    with pytest.raises(RuntimeError, match="no longer fits"):
        twisted_writes.send_writes_now()
