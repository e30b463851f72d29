#!/usr/bin/env python
"""In-process step loop through the simulation consumer: CPU (or instructions) per step, no Daphne.

    .venv/bin/python bench/wsloop.py --sockets 10 --steps 40 --rounds 3
    valgrind --tool=callgrind --instr-atstart=no .venv/bin/python bench/wsloop.py --callgrind --sockets 10 --steps 20

The ASGI application (``orchweb.asgi``: origin check, session and auth middleware, the consumer,
the worker pool and the journal) is driven by Channels' ``WebsocketCommunicator``: `--sockets`
simulations of the sample IPD (``bench/ws.py``'s setup: a fresh SQLite database, a team, the
product's quotas) each send ``--steps`` macrosteps, one after another, restarting a simulation
that ends, as ``bench/ws.py``'s closed loop does. Printed per round: this process's CPU ms per
step over the stepping only (all threads, the test client's share included) and the load average.
Without Daphne, Twisted and the network, the figure moves with the server's own per-step work;
under callgrind (``--callgrind``: collection switched on for the stepping only, with
``callgrind_control``) the instruction count divided by sockets x steps is the steadier figure on
a busy machine. Prints; never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ws import prepare

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
TIMEOUT = 120


async def answer(communicator: object, message_id: int | None) -> dict:
    """The next snapshot (None) or the frame answering `message_id`."""
    while True:
        frame = json.loads(await communicator.receive_from(timeout=TIMEOUT))
        if message_id is None and frame["type"] == "snapshot":
            return frame
        if message_id is not None and frame.get("reply_to") == message_id and frame["type"] in ("snapshot", "delta"):
            return frame
        if frame["type"] == "error":
            raise RuntimeError(frame["message"])


async def open_socket(cookie: str, simulation_id: int) -> object:
    from channels.testing import WebsocketCommunicator

    from orchweb.asgi import application

    headers = [*HEADERS, (b"cookie", f"sessionid={cookie}".encode())]
    communicator = WebsocketCommunicator(application, f"/ws/simulations/{simulation_id}/", headers=headers)
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    if not connected:
        raise RuntimeError("handshake refused")
    await answer(communicator, None)
    return communicator


async def step_loop(communicator: object, steps: int) -> None:
    message_id = 0
    for _ in range(steps):
        message_id += 1
        await communicator.send_to(text_data=json.dumps({"action": "step", "unit": "macrostep", "id": message_id}))
        frame = await answer(communicator, message_id)
        if frame["status"] != "running" or frame["idle"]:
            message_id += 1
            await communicator.send_to(text_data=json.dumps({"action": "restart", "id": message_id}))
            await answer(communicator, message_id)


def callgrind(switch: str) -> None:
    subprocess.run(["callgrind_control", "-i", switch, str(os.getpid())], capture_output=True, check=False)


async def measure(cookies: list[str], ids: list[int], sockets: int, steps: int, rounds: int, cg: bool) -> None:
    for r in range(rounds):
        chosen = range(r * sockets, (r + 1) * sockets)
        communicators = [await open_socket(cookies[i], ids[i]) for i in chosen]
        if cg:
            callgrind("on")
        cpu = time.process_time()
        await asyncio.gather(*(step_loop(c, steps) for c in communicators))
        cpu = time.process_time() - cpu
        if cg:
            callgrind("off")
        result = {
            "sockets": sockets,
            "steps": sockets * steps,
            "cpu_ms_per_step": round(1000 * cpu / (sockets * steps), 3),
        }
        print(json.dumps({**result, "load": round(os.getloadavg()[0], 1)}), flush=True)
        for communicator in communicators:
            await communicator.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=10)
    parser.add_argument("--steps", type=int, default=40, help="macrosteps per socket and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each on fresh simulations")
    parser.add_argument("--callgrind", action="store_true", help="collect instructions for the stepping only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cookies, ids = prepare(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args.sockets * args.rounds)
        asyncio.run(measure(cookies, ids, args.sockets, args.steps, args.rounds, args.callgrind))


if __name__ == "__main__":
    main()
