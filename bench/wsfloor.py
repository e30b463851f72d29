#!/usr/bin/env python
"""The server stack's own CPU per websocket round trip, without orchweb's work: the floor under
``bench/ws.py``'s Daphne CPU ms per step.

    .venv/bin/python bench/wsfloor.py                       # raw and channels, 2 rounds each, 8 s
    .venv/bin/python bench/wsfloor.py --apps channels --rounds 3 --seconds 10

Each app runs in a Daphne process of its own and answers every text message with one text frame
of ``--frame`` bytes (a step's delta frame with its records is ~7 KB on average: bench/wsloop.py's
sample); ``--clients`` websockets send a step-sized message and wait for the answer, in a closed
loop, as ``bench/ws.py`` does. Apps (interleaved, fresh processes):

- ``raw``: a bare ASGI websocket application (Daphne, Twisted and autobahn only);
- ``channels``: a Channels ``AsyncWebsocketConsumer`` with orchweb's ``dispatch`` (no
  ``close_old_connections`` thread hop per message, as ``simulator.consumers._JsonProtocol``);
- ``channels-hop``: the same consumer with Channels' own ``dispatch`` (that hop per message).

Printed per run: messages answered, the server's CPU microseconds per round trip, the load average.
Prints; never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
APPS = {"raw": "raw_app", "channels": "channels_app", "channels-hop": "channels_hop_app"}
MESSAGE = '{"action": "step", "unit": "macrostep", "id": 1}'
FRAME = "x" * int(os.environ.get("WSFLOOR_FRAME", "7000"))


# -- the apps (imported by Daphne as wsfloor:<name>) ---------------------------------------------------


def _answer() -> str:
    return json.dumps({"type": "delta", "pad": FRAME})


async def raw_app(scope: dict, receive: Any, send: Any) -> None:
    """Accept, then answer every text message with one frame."""
    if scope["type"] != "websocket":
        return
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.receive":
            json.loads(message["text"])
            await send({"type": "websocket.send", "text": _answer()})
        else:
            return


def _consumers() -> tuple[Any, Any]:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(INSTALLED_APPS=[], DEBUG=False)
        django.setup()
    from channels.consumer import get_handler_name
    from channels.generic.websocket import AsyncWebsocketConsumer

    class Hop(AsyncWebsocketConsumer):
        async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
            json.loads(text_data or "null")
            await self.send(text_data=_answer())

    class NoHop(Hop):
        async def dispatch(self, message: dict) -> None:
            await getattr(self, get_handler_name(message))(message)

    return NoHop.as_asgi(), Hop.as_asgi()


if __name__ != "__main__":  # imported by Daphne: the Channels apps need Django's settings
    channels_app, channels_hop_app = _consumers()


# -- the bench -------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def closed_loop(port: int, clients: int, seconds: float) -> int:
    import websockets

    url = f"ws://127.0.0.1:{port}/"
    sockets = [
        await websockets.connect(url, max_size=None, ping_interval=None, compression=None) for _ in range(clients)
    ]
    answered = 0
    end = time.perf_counter() + seconds

    async def client(ws: Any) -> None:
        nonlocal answered
        while time.perf_counter() < end:
            await ws.send(MESSAGE)
            await ws.recv()
            answered += 1

    await asyncio.gather(*(client(ws) for ws in sockets))
    await asyncio.gather(*(ws.close() for ws in sockets))
    return answered


def run(app: str, clients: int, seconds: float, frame: int) -> dict:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), f"wsfloor:{APPS[app]}"]
    env = {**os.environ, "PYTHONPATH": str(HERE), "WSFLOOR_FRAME": str(frame)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen(command, cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:  # until Daphne listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"Daphne did not start for {app}") from None
                time.sleep(0.1)
        cpu = cpu_seconds(server.pid)
        answered = asyncio.run(closed_loop(port, clients, seconds))
        spent = cpu_seconds(server.pid) - cpu
    finally:
        server.terminate()
        server.wait(10)
    return {
        "app": app,
        "clients": clients,
        "messages": answered,
        "cpu_us_per_message": round(spent * 1e6 / max(answered, 1), 1),
        "load": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", nargs="+", choices=list(APPS), default=["raw", "channels"])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of every app")
    parser.add_argument("--frame", type=int, default=7000, help="characters of padding in each answer")
    args = parser.parse_args()
    print(f"frame padding {args.frame:,} characters, {args.clients} clients, closed loop, {os.cpu_count()} CPUs")
    for _ in range(args.rounds):
        for app in args.apps:
            print(json.dumps(run(app, args.clients, args.seconds, args.frame)), flush=True)


if __name__ == "__main__":
    main()
