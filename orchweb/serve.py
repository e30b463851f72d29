"""Serve orchweb with N Daphne processes on one port: ``python -m orchweb.serve --processes 2``.

Each process gets a listening socket of its own, bound to the same address with SO_REUSEPORT, and
adopts it (``daphne --fd``): the kernel spreads new connections over the sockets, so N processes
serve one port without a proxy in front (one may still terminate TLS). A websocket stays on the
process that accepted it; the processes share the database and, through REDIS_URL, the channel
layer and quotas (README, "Running scaled"). More than one process needs REDIS_URL: the in-memory
layer cannot reach another process's sockets.

The sockets are bound here, not by Daphne, for two more reasons: the backlog (Twisted listens
with 50, so a reconnect storm after a restart has SYNs dropped and retried a second later), and
binding before any process starts (connections made meanwhile wait in the backlog). The same two
functions start the test and bench servers (tests/servers.py).

``--pin`` runs the k-th process's threads on the k-th CPU the set may use (``ORCHWEB_CPU=k``;
orchweb/affinity.py): a step's GIL hand-overs between its threads then stay on one CPU.

Supervision is minimal: SIGINT/SIGTERM are passed to every process, and when one exits the others
are stopped and its exit status is returned (a process manager restarts the whole set).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence

#: pending connections per socket (the kernel caps it at net.core.somaxconn)
BACKLOG = 1024


def listeners(host: str, port: int, count: int, backlog: int = BACKLOG) -> list[socket.socket]:
    """`count` listening TCP sockets on one address (port 0: a free one, the same for all)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]  # the others join the port the first one got
            sock.listen(backlog)
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def daphne_command(listener: socket.socket, options: Sequence[str] = ()) -> list[str]:
    """The command running Daphne on `listener` (passed to it as an inherited descriptor)."""
    return [sys.executable, "-m", "daphne", "--fd", str(listener.fileno()), *options, "orchweb.asgi:application"]


def pinned(number: int, pin: bool) -> dict[str, str]:
    """What the `number`-th Daphne process of a set adds to its environment: with `pin`, its
    threads on the `number`-th CPU the set may use (orchweb/affinity.py); else nothing."""
    return {"ORCHWEB_CPU": str(number)} if pin else {}


def _needs_shared_layer(processes: int) -> str | None:
    """Why `processes` Daphne processes cannot work with these settings, or None."""
    if processes < 2:
        return None
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchweb.settings")
    from django.conf import settings

    if settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer":
        return "several processes need REDIS_URL (the in-memory channel layer is one process's)"
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        return "several processes need a PostgreSQL DATABASE_URL (SQLite is one process's)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("-b", "--bind", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("-p", "--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--processes", type=int, default=1, help="Daphne processes on the port (default 1)")
    parser.add_argument("--backlog", type=int, default=BACKLOG, help=f"pending connections per process ({BACKLOG})")
    parser.add_argument("--pin", action="store_true", help="each process's threads on a CPU of its own (ORCHWEB_CPU)")
    args, daphne_options = parser.parse_known_args(argv)  # the rest goes to Daphne
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    problem = _needs_shared_layer(args.processes)
    if problem:
        parser.error(problem)
    sockets = listeners(args.bind, args.port, args.processes, args.backlog)
    children = [
        subprocess.Popen(
            daphne_command(sock, daphne_options),
            pass_fds=[sock.fileno()],
            env={**os.environ, **pinned(number, args.pin)},
        )
        for number, sock in enumerate(sockets)
    ]
    for sock in sockets:
        sock.close()  # each Daphne holds its own

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    pid, status = os.wait()  # the first to exit ends the set
    for child in children:
        if child.pid != pid and child.poll() is None:
            child.terminate()
    for child in children:
        if child.pid != pid:
            child.wait()
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
