"""Start Daphne processes for tests (the browser tests' live server, the scaled test, the benches).

The listening sockets are bound here (port 0) and handed to Daphne (`--fd`), as `orchweb.serve`
does in production: the port is known at once, nobody can take it in between, and connections made
before Daphne is up wait in the socket's backlog, so readiness is one blocking request to /healthz
instead of a polling loop. Several processes share one port exactly as `orchweb.serve` runs them
(a SO_REUSEPORT socket each); each also gets a private address of its own so a test can reach (and
wait for) one process in particular.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from orchweb.serve import daphne_command, listeners, pinned

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
STARTUP_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class RunningServer:
    """A Daphne process serving orchweb at `url` (http://127.0.0.1:PORT, this process alone) and at
    `port_url` (the port its set shares; the same as `url` for a set of one), logging to `log_path`."""

    url: str
    process: subprocess.Popen
    log_path: Path
    port_url: str

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        return _tail(self.log_path, lines)


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen, timeout: float) -> None:
    """Terminate, then kill if it does not exit within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """A DATABASE_URL (as orchweb.env parses it) pointing at the database of `settings_dict`."""
    engine = settings_dict["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        name = str(settings_dict["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            raise RuntimeError("a server process cannot share an in-memory SQLite database; use a file")
        return f"sqlite:///{Path(name).resolve()}"
    if engine == "django.db.backends.postgresql":
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{credentials}{settings_dict.get('HOST') or '127.0.0.1'}{port}/{settings_dict['NAME']}"
    raise RuntimeError(f"no DATABASE_URL form for {engine}")


def _get_json(url: str, timeout: float) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def live_simulations(url: str) -> int:
    """The simulations the server at `url` holds live (/readyz says so even while busy, with a 503)."""
    return int(_get_json(f"{url}/readyz", timeout=60)[1]["simulations"])


def wait_until_idle(url: str, bound: float = 15.0) -> bool:
    """Wait (at most `bound` s) until the server at `url` holds no simulation, its pool is idle and
    it handles no other request (/readyz): the saves of closing sockets and the requests of closed
    pages (a diagram's layout, posted as the test ended) are done. A test's database teardown (a
    TRUNCATE on PostgreSQL) racing those writes ends in a deadlock that leaves the next test's data
    behind."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        try:
            _, ready = _get_json(f"{url}/readyz", timeout=5)
        except (OSError, ValueError):  # busy or going away: ask again
            ready = None
        if isinstance(ready, dict):
            pool = ready.get("pool") or {}
            quiet = ready.get("simulations") == ready.get("requests") == 0
            if quiet and pool.get("busy") == pool.get("queued") == 0:
                return True
        time.sleep(0.05)
    return False


@contextmanager
def daphne_server(name: str, env: Mapping[str, str] | None = None) -> Iterator[RunningServer]:
    """Run `daphne orchweb.asgi:application` on a free port until the block exits.

    `env` is added to this process's environment (DATABASE_URL, REDIS_URL, ...). The server
    settings are the test settings. Yields once /healthz answers 200; fails with the log tail
    otherwise.
    """
    with daphne_servers(name, env, 1) as (server,):
        yield server


@contextmanager
def daphne_servers(
    name: str, env: Mapping[str, str] | None = None, processes: int = 2, pin: bool = False
) -> Iterator[list[RunningServer]]:
    """Run `processes` Daphne processes on one free port (as `orchweb.serve --processes` does)
    until the block exits; each answers /healthz on its own address before this yields. With
    `pin`, the k-th process's threads run on the k-th CPU (`orchweb.serve --pin`)."""
    ARTIFACTS.mkdir(exist_ok=True)
    public = listeners("127.0.0.1", 0, processes)
    port_url = f"http://127.0.0.1:{public[0].getsockname()[1]}"
    # one process: its address is the port; several: each also listens on a private address
    private = [] if processes == 1 else [listeners("127.0.0.1", 0, 1)[0] for _ in range(processes)]
    child_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONUNBUFFERED": "1", **(env or {})}
    # The browser tests lift Django's async-safety guard in the test process; the server keeps it.
    child_env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    servers: list[RunningServer] = []
    try:
        for number, listener in enumerate(public):
            own = private[number] if private else listener
            options = ["--proxy-headers"] + (["-e", f"fd:fileno={own.fileno()}"] if private else [])
            log_path = ARTIFACTS / f"daphne-{name}{f'-{number}' if private else ''}-{os.getpid()}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    daphne_command(listener, options),
                    cwd=ROOT,
                    env={**child_env, **pinned(number, pin)},
                    pass_fds=[listener.fileno(), own.fileno()],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            url = f"http://127.0.0.1:{own.getsockname()[1]}"
            servers.append(RunningServer(url=url, process=process, log_path=log_path, port_url=port_url))
    finally:
        for sock in public + private:
            sock.close()  # Daphne holds its own copy; when it exits, waiting clients get a reset.
    try:
        for server in servers:
            try:
                status, body = _get_json(f"{server.url}/healthz", timeout=STARTUP_TIMEOUT_SECONDS)
            except OSError as error:
                raise RuntimeError(f"Daphne {name} did not start ({error}):\n{server.log_tail()}") from error
            if status != 200:
                raise RuntimeError(f"Daphne {name} is unhealthy ({status} {body}):\n{server.log_tail()}")
        yield servers
    finally:
        for server in servers:
            server.process.terminate()
        for server in servers:
            _stop(server.process, 10)


@dataclass(frozen=True)
class RunningWorker:
    """A `celery -A orchweb worker` process consuming `queue`, logging to `log_path`."""

    name: str
    queue: str
    process: subprocess.Popen
    log_path: Path
    #: the worker's node name (``name-pid@host``): the destination of remote-control commands
    nodename: str

    def log_tail(self, lines: int = 40) -> str:
        """The end of the worker's log, for failure messages."""
        return _tail(self.log_path, lines)


@contextmanager
def celery_worker(name: str, queue: str, env: Mapping[str, str], concurrency: int = 2) -> Iterator[RunningWorker]:
    """Run `celery -A orchweb worker` (prefork, `concurrency` processes) on `queue` until the block
    exits. `env` must carry REDIS_URL (broker and results). Yields once the worker answers a ping;
    fails with the log tail otherwise."""
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"celery-{name}-{os.getpid()}.log"
    child_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONUNBUFFERED": "1", **env}
    nodename = f"{name}-{os.getpid()}@%h"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "orchweb",
        "worker",
        "--queues",
        queue,
        "--concurrency",
        str(concurrency),
        "--hostname",
        nodename,
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT)
    node = nodename.replace("%h", socket.gethostname())
    worker = RunningWorker(name=name, queue=queue, process=process, log_path=log_path, nodename=node)
    try:
        from orchweb.celery import app

        destination = [worker.nodename]
        for _ in range(STARTUP_TIMEOUT_SECONDS):
            if process.poll() is not None:
                raise RuntimeError(f"celery worker {name} exited ({process.returncode}):\n{worker.log_tail()}")
            if app.control.ping(destination=destination, timeout=1.0):
                break
        else:
            raise RuntimeError(f"celery worker {name} did not answer a ping:\n{worker.log_tail()}")
        yield worker
    finally:
        _stop(process, 20)
