"""Persistence of a simulation driven over a socket: the row created by ``start`` and its inputs
log, stored before the frames of an operation are sent (docs/simulation-protocol.md, "Durability").

- Every change of the log (appended operations, a rewind's truncation, a restart's new recipe) is
  one write of the runtime's log from its ``log_floor`` (the length below which the stored log is
  still its log): a compare-and-set of ``Simulation.revision`` plus the rows. Writes of all the
  simulations of a process that wait at the same moment share one transaction (``Journal``: group
  commit), so the cost per operation is an INSERT, not a commit.
- A write based on an older revision than the stored one loses (``Conflict``): another process
  drove the same simulation first. The loser reloads the stored log (``SimulationStore.reload``).
  Winners tell the simulation's group (``simulation.changed``), and the other processes holding
  it catch up by replaying the new operations (``SimulationStore.catch_up``).
- A write that fails because the database is unavailable keeps the operations in memory: the
  store retries with backoff and holds the runtime in the registry until they are saved.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.http import Http404
from django.utils import timezone

from designer.permissions import AuthenticationRequired, get_version_for_user
from simulator import retention, sessions
from simulator.access import group_name
from simulator.models import Simulation, SimulationOp
from simulator.protocol import OpError

logger = logging.getLogger(__name__)

#: this process in group messages (a process ignores the changes it made itself)
PROCESS_ID = uuid.uuid4().hex
#: first and longest pause between two attempts to save while the database is unavailable
RETRY_FIRST, RETRY_MAX = 0.5, 30.0


class Conflict(Exception):
    """The stored simulation changed since this process last read or wrote it."""


@database_sync_to_async
def create_simulation(
    user: Any, share_tokens: Any, version_id: int, fakes: Any, interaction: Any, seed: int
) -> Simulation:
    """A new simulation of a version the user may simulate (OpError otherwise)."""
    try:
        version = get_version_for_user(user, version_id, share_tokens)
    except (Http404, PermissionDenied, AuthenticationRequired) as exc:
        raise OpError(f"no version {version_id} you may simulate") from exc
    files, _ = sessions.version_files(version)
    data, source = sessions.resolve_fakes(files, fakes, interaction)
    retention.expire_now_and_then()
    try:
        retention.check_room(user)
    except retention.TooManyStored as exc:
        raise OpError(str(exc)) from exc
    return Simulation.objects.create(owner=user, version=version, fakes=data, fakes_source=source, seed=seed)


# -- the stored log ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """What the database holds of a simulation's recipe and log at one revision."""

    revision: int
    length: int
    fakes: dict
    seed: int


@dataclass
class LogWrite:
    """One change of a stored log: the operations from index `floor` on replace the stored ones."""

    simulation_id: int
    base: int  # the revision it was computed against (compare-and-set)
    floor: int
    truncate: bool  # stored operations at `floor` or after exist and go
    ops: list[dict]
    fakes: dict
    seed: int
    fakes_source: str | None = None
    recipe: bool = False  # the fakes, the seed or their source changed: store them too
    future: asyncio.Future | None = field(default=None, repr=False)
    #: queued by the worker that applied its operations (`SimulationStore.hand_over`): the future
    #: gets `(this write, outcome)`, the outcome being the revision, None (lost) or the exception
    handed: bool = field(default=False, repr=False)
    #: what the worker's job returns to the loop with the outcome (the operations' frames)
    frames: Any = field(default=None, repr=False)


def load_stored(simulation_id: int, since: int | None = None) -> tuple[Stored, list[tuple[int, dict]]]:
    """The stored state and the (index, op) rows written after revision `since` (all with None);
    one consistent read: the row lock keeps writers out between the two queries (sync: DB)."""
    with transaction.atomic():
        row = (
            Simulation.objects.select_for_update()
            .values("revision", "log_length", "fakes", "seed")
            .get(pk=simulation_id)
        )
        rows = SimulationOp.objects.filter(simulation_id=simulation_id, index__lt=row["log_length"])
        if since is not None:
            rows = rows.filter(revision__gt=since)
        ops = list(rows.order_by("index").values_list("index", "op"))
    stored = Stored(row["revision"], row["log_length"], row["fakes"] or {}, row["seed"])
    return stored, ops


def commit(writes: list[LogWrite]) -> list[int | None]:
    """Apply `writes` in one transaction: the new revision of each, None for those that lost their
    compare-and-set (sync: DB). A handful of statements whatever the number of writes: the rows
    are locked in simulation order (no deadlock between processes), the winners updated in one
    UPDATE, their operations inserted in one INSERT."""
    now = timezone.now()
    # The connection itself, not the `connection` proxy: each attribute read through the proxy is
    # a context-variable lookup (asgiref's Local), ~8% of a transaction's instructions.
    db = connections[DEFAULT_DB_ALIAS]
    with transaction.atomic(), db.cursor() as cursor:
        current = _revisions(db, cursor, sorted({write.simulation_id for write in writes}))
        results: list[int | None] = []
        winners: list[LogWrite] = []
        for write in writes:
            if current.get(write.simulation_id) != write.base:
                results.append(None)
                continue
            current[write.simulation_id] = revision = write.base + 1
            results.append(revision)
            winners.append(write)
        if not winners:
            return results
        _update_rows(db, cursor, winners, now)
        _truncate(db, cursor, [w for w in winners if w.truncate])
        _insert_ops(db, cursor, winners)
    return results


# The journal's statements are written in SQL: through the ORM they cost ~2.5 M instructions of
# Python per transaction and ~0.4 M more per write (queries compiled, model instances built, the
# ids read back), more than the database's own work (docs/performance.md, "The journal in SQL").


def _revisions(db: Any, cursor: Any, ids: list[int]) -> dict[int, int]:
    """The stored revision of each simulation, its row locked (FOR UPDATE where the database has
    it; SQLite's transaction is the lock) in id order."""
    cursor.execute(_statement(db, _revisions_text, len(ids)), _params(ids))
    return dict(cursor.fetchall())


def _update_rows(db: Any, cursor: Any, winners: list[LogWrite], now: Any) -> None:
    """The new revision and length of each winner (one UPDATE; one write per simulation and batch);
    the recipe of those that changed it."""
    params: list[Any] = [w.simulation_id for w in winners]
    params += [w.base + 1 for w in winners]
    params += [w.floor + len(w.ops) for w in winners]
    params.append(now)
    cursor.execute(_statement(db, _update_text, len(winners)), _params(params))
    for write in winners:
        if write.recipe:
            recipe: dict[str, Any] = {"fakes": write.fakes, "seed": write.seed}
            if write.fakes_source is not None:
                recipe["fakes_source"] = write.fakes_source
            Simulation.objects.filter(pk=write.simulation_id).update(**recipe)


def _truncate(db: Any, cursor: Any, writes: list[LogWrite]) -> None:
    """The stored operations from each write's floor on (a rewind's or a restart's) go."""
    if writes:
        params = [x for write in writes for x in (write.simulation_id, write.floor)]
        cursor.execute(_statement(db, _truncate_text, len(writes)), _params(params))


#: rows of one INSERT (4 parameters each: within SQLite's 999 and PostgreSQL's 65,535)
_INSERT_ROWS = 200


def _insert_ops(db: Any, cursor: Any, winners: list[LogWrite]) -> None:
    """The winners' operations as `SimulationOp` rows, each `op` encoded by its field as the ORM
    would (the stored JSON is the same)."""
    prepare = SimulationOp._meta.get_field("op").get_db_prep_save
    rows = [
        (write.simulation_id, write.floor + i, write.base + 1, prepare(op, db))
        for write in winners
        for i, op in enumerate(write.ops)
    ]
    for start in range(0, len(rows), _INSERT_ROWS):
        chunk = rows[start : start + _INSERT_ROWS]
        cursor.execute(_statement(db, _insert_text, len(chunk)), _params([x for row in chunk for x in row]))


# The statements take their parameters by name ("pyformat": `%(p0)s`), which both backends take:
# Django's SQLite cursor converts positional ones with a regular expression, ~34 k instructions
# a statement, the journal thread's largest part after SQLite itself. The texts depend only on
# the backend and the number of rows: made once.
_STATEMENTS: dict[tuple[str, Callable[..., str], int], str] = {}


def _statement(db: Any, text: Callable[[Any, Any, int], str], count: int) -> str:
    """`text(quote, features, count)` for `db`'s backend, made once."""
    key = (db.vendor, text, count)
    sql = _STATEMENTS.get(key)
    if sql is None:
        if len(_STATEMENTS) >= 1024:
            _STATEMENTS.clear()
        sql = _STATEMENTS[key] = text(db.ops.quote_name, db.features, count)
    return sql


@functools.lru_cache(maxsize=64)
def _names(count: int) -> tuple[str, ...]:
    return tuple(f"p{i}" for i in range(count))


def _params(values: list[Any]) -> dict[str, Any]:
    """`values` by the names the statements give their placeholders: `%(p0)s`, `%(p1)s`, ..."""
    return dict(zip(_names(len(values)), values, strict=True))


def _revisions_text(quote: Any, features: Any, ids: int) -> str:
    lock = " FOR UPDATE" if features.has_select_for_update else ""
    return (
        f"SELECT {quote('id')}, {quote('revision')} FROM {quote(Simulation._meta.db_table)} "
        f"WHERE {quote('id')} IN ({', '.join(f'%(p{i})s' for i in range(ids))}) ORDER BY {quote('id')}{lock}"
    )


def _update_text(quote: Any, features: Any, n: int) -> str:
    # parameters: the n ids, their n revisions, their n lengths, the time
    revisions = " ".join(f"WHEN %(p{i})s THEN %(p{n + i})s" for i in range(n))
    lengths = " ".join(f"WHEN %(p{i})s THEN %(p{2 * n + i})s" for i in range(n))
    return (
        f"UPDATE {quote(Simulation._meta.db_table)} SET {quote('revision')} = CASE {quote('id')} {revisions} END, "
        f"{quote('log_length')} = CASE {quote('id')} {lengths} END, {quote('updated_at')} = %(p{3 * n})s "
        f"WHERE {quote('id')} IN ({', '.join(f'%(p{i})s' for i in range(n))})"
    )


def _truncate_text(quote: Any, features: Any, n: int) -> str:
    # parameters: (id, floor) of each write
    gone = " OR ".join(
        f"({quote('simulation_id')} = %(p{2 * i})s AND {quote('index')} >= %(p{2 * i + 1})s)" for i in range(n)
    )
    return f"DELETE FROM {quote(SimulationOp._meta.db_table)} WHERE {gone}"


def _insert_text(quote: Any, features: Any, rows: int) -> str:
    # parameters: (simulation_id, index, revision, op) of each row
    values = ", ".join(f"(%(p{4 * i})s, %(p{4 * i + 1})s, %(p{4 * i + 2})s, %(p{4 * i + 3})s)" for i in range(rows))
    return (
        f"INSERT INTO {quote(SimulationOp._meta.db_table)} "
        f"({quote('simulation_id')}, {quote('index')}, {quote('revision')}, {quote('op')}) VALUES {values}"
    )


class Journal:
    """The writer of a process: one thread with its own database connection, so the connection
    outlives one write (opening one per write would cost more than the write); the writes that
    arrive while it commits share the next transaction (group commit), and a transaction waits up
    to GATHER_SECONDS after its first write for others until it has GATHER_WRITES (`_gather`): a
    commit (its fsync) costs more CPU than the writes it carries, and steps that arrive one by one,
    a few milliseconds apart, then share one. The connection is closed
    when idle for IDLE_CLOSE seconds, after an error (the next write reconnects), and when the
    writer stops (`stop`: at the process's exit, and by the tests before their database goes)."""

    IDLE_CLOSE = 2.0
    #: the longest a write waits for others to share its transaction, and how many end the wait
    GATHER_SECONDS = 0.002
    GATHER_WRITES = 4

    def __init__(self) -> None:
        #: the running thread's queue (None: its end, after the writes put before); a stopped
        #: writer's thread drains its own, and the next write starts a thread with a new one
        self.queue: queue.SimpleQueue[LogWrite | None] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    async def write(self, write: LogWrite) -> int:
        """Store `write`: its new revision (Conflict when another process changed it first)."""
        future = write.future = asyncio.get_running_loop().create_future()
        self.put(write)
        revision = await future  # the journal takes `write.future` off the write (`_commit`)
        if revision is None:
            raise Conflict(write.simulation_id)
        return revision

    def put(self, write: LogWrite) -> None:
        """Queue `write`, whose `future` the journal sets on its loop once committed (any thread:
        the loop's `write`, or a simulation worker handing its operations' write over)."""
        with self.lock:  # never into the queue of a thread told to stop
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._run, args=(self.queue,), name="simulation-journal", daemon=True
                )
                self.thread.start()
            self.queue.put(write)

    def stop(self, timeout: float = 10.0) -> None:
        """Commit the writes queued so far, end the thread and close its database connection:
        one checked out of Django's pool until the thread next idles otherwise holds a session
        (a test database being dropped then waits for it, "is being accessed by other users")."""
        with self.lock:
            thread, self.thread = self.thread, None
            if thread is None:
                return
            self.queue.put(None)
            self.queue = queue.SimpleQueue()
        thread.join(timeout)

    def _run(self, writes: queue.SimpleQueue[LogWrite | None]) -> None:
        stopping = False
        while not stopping:
            try:
                first = writes.get(timeout=self.IDLE_CLOSE)
            except queue.Empty:
                connection.close()
                continue
            batch, stopping = self._gather(writes, first)
            if batch:
                self._commit(batch)
        connection.close()

    def _gather(self, writes: queue.SimpleQueue[LogWrite | None], item: LogWrite | None) -> tuple[list[LogWrite], bool]:
        """`item` and the writes queued after it, waiting up to GATHER_SECONDS from `item` for more
        while fewer than GATHER_WRITES have come; True when the end came (the last item of its
        queue: the writes before it are committed, none after it is waited for)."""
        batch: list[LogWrite] = []
        deadline = time.monotonic() + self.GATHER_SECONDS
        while item is not None:
            batch.append(item)
            try:
                item = writes.get_nowait()
            except queue.Empty:
                wait = deadline - time.monotonic()
                if len(batch) >= self.GATHER_WRITES or wait <= 0:
                    return batch, False
                try:
                    item = writes.get(timeout=wait)
                except queue.Empty:
                    return batch, False
        return batch, True

    def _commit(self, batch: list[LogWrite]) -> None:
        try:
            outcome: list[Any] = list(commit(batch))
        except Exception as exc:  # the writers get it (DatabaseError: the database is unavailable)
            connection.close()
            outcome = [exc] * len(batch)
        # One wake-up of each event loop per transaction, not one per write.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Any]]] = {}
        for write, result in zip(batch, outcome, strict=True):
            # taken off the write: a handed-over write is the future's result, and a write holding
            # its future made a reference cycle of every step (the write, its frames and operations:
            # ~17 objects) that only the collector freed, ~2.5x as many collections, each holding
            # the GIL while every socket waits (docs/performance.md, "The open loop's tail traced")
            future, write.future = write.future, None
            by_loop.setdefault(future.get_loop(), []).append((future, (write, result) if write.handed else result))
        for loop, results in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the event loop is closed
                loop.call_soon_threadsafe(_settle, results)


def _settle(results: list[tuple[asyncio.Future, Any]]) -> None:
    for future, result in results:
        if future.done():  # the writer was cancelled (the socket went away): the write still happened
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


_journal = Journal()
atexit.register(_journal.stop)  # a server's shutdown commits what is queued and closes its session


def journal() -> Journal:
    """The writer of this process."""
    return _journal


# -- one live simulation --------------------------------------------------------------------------


class SimulationStore:
    """The stored side of one live runtime (``sessions.Entry.store``); callers hold the entry's lock."""

    def __init__(self, simulation_id: int, entry: sessions.Entry, stored: Stored):
        self.simulation_id = simulation_id
        self.entry = entry
        self.stored = stored
        self.retry_task: asyncio.Task | None = None
        #: the other processes holding this simulation live (`simulation.holder` messages): the
        #: ones told of each change (nobody else is: a group message per operation costs more CPU
        #: than storing it)
        self.peers: set[str] = set()

    @property
    def unsaved(self) -> int:
        """Operations of the runtime not stored yet (the database was unavailable)."""
        runtime = self.entry.runtime
        return len(runtime.inputs) - runtime.log_floor if self.retry_task is not None else 0

    def _write(self, fakes_source: str | None) -> LogWrite | None:
        runtime = self.entry.runtime
        floor, stored = runtime.log_floor, self.stored
        ops = runtime.inputs[floor:]
        same_recipe = (runtime.base_fakes, runtime.seed) == (stored.fakes, stored.seed)
        if not ops and floor == stored.length and same_recipe and fakes_source is None:
            return None
        return LogWrite(
            self.simulation_id,
            stored.revision,
            floor,
            floor < stored.length,
            list(ops),
            dict(runtime.base_fakes),
            runtime.seed,
            fakes_source,
            recipe=not same_recipe or fakes_source is not None,
        )

    async def persist(self, fakes_source: str | None = None, barrier: bool = False) -> int:
        """Store what changed: the number of operations left unsaved (0: all durable).

        Conflict when another process changed the simulation first (nothing was written).
        `barrier`: read the log in the worker pool after a job of a cancelled run has finished."""
        if self.retry_task is not None:
            return self.unsaved  # the database is down: the retry saves them all
        runtime = self.entry.runtime
        if barrier:
            write = await sessions.execute(runtime, self._write, fakes_source)
        else:
            write = self._write(fakes_source)
        if write is None:
            return 0
        try:
            await self._store(write)
        except DatabaseError as exc:
            logger.warning("simulation %s: not saved, will retry (%s)", self.simulation_id, exc)
            self._retry_later()
            return self.unsaved
        return 0

    def hand_over(self, frames: Any, future: asyncio.Future) -> bool:
        """In the worker that has just applied operations (holding the runtime's lock, the
        caller's task holding the entry's): queue their write on the journal straight away, the
        journal to set `future` to `(write, outcome)` with `frames` as the write's (`handed`).
        False when there is nothing to write or the database is down (a retry is pending): the
        caller's task then saves on the loop as before (`persist`), which finds the same.

        The write is what `persist` would build on the loop right after the job: the caller's
        task holds the entry's lock, so nothing changes the store or the log meanwhile (a retry
        task ends with `retry_task = None` outside that lock: then this says False and `persist`
        decides)."""
        if self.retry_task is not None:
            return False
        write = self._write(None)
        if write is None:
            return False
        write.future, write.handed, write.frames = future, True, frames
        journal().put(write)
        return True

    async def handed(self, write: LogWrite, outcome: Any) -> int:
        """On the loop, the journal's outcome of a write handed over by a worker: what `persist`
        returns or raises for the same outcome (the number of operations left unsaved; Conflict)."""
        if outcome is None:
            raise Conflict(write.simulation_id)
        if isinstance(outcome, DatabaseError):
            logger.warning("simulation %s: not saved, will retry (%s)", self.simulation_id, outcome)
            self._retry_later()
            return self.unsaved
        if isinstance(outcome, BaseException):
            raise outcome
        await self._stored(write, outcome)
        return 0

    async def _store(self, write: LogWrite) -> None:
        await self._stored(write, await journal().write(write))

    async def _stored(self, write: LogWrite, revision: int) -> None:
        length = write.floor + len(write.ops)
        self.stored = Stored(revision, length, write.fakes, write.seed)
        self.entry.runtime.log_floor = length
        if not self.peers:
            return
        await get_channel_layer().group_send(
            group_name(self.simulation_id),
            {"type": "simulation.changed", "revision": revision, "process": PROCESS_ID},
        )

    def _retry_later(self) -> None:
        """Keep the runtime (a registry reference) and save it again with backoff until it is stored."""
        sessions.registry.acquire(self.simulation_id, self.entry.runtime)
        self.retry_task = asyncio.create_task(self._retry())

    async def _retry(self) -> None:
        delay = RETRY_FIRST
        try:
            while True:
                await asyncio.sleep(delay)
                delay = min(2 * delay, RETRY_MAX)
                async with self.entry.lock:
                    write = self._write(None)
                    try:
                        if write is not None:
                            await self._store(write)
                    except Conflict:
                        # Changed elsewhere meanwhile: the stored simulation wins, ours is dropped.
                        logger.warning(
                            "simulation %s: changed elsewhere; unsaved operations dropped", self.simulation_id
                        )
                        await self.reload()
                    except DatabaseError:
                        continue
                    logger.info("simulation %s: saved after the database came back", self.simulation_id)
                    return
        finally:
            self.retry_task = None
            dropped = sessions.registry.release(self.simulation_id)
            if dropped is not None:
                await sessions.execute(dropped.runtime, dropped.runtime.close)

    async def catch_up(self) -> tuple[list[dict], bool] | None:
        """Bring the runtime to the stored revision: (new records, False) when it only had to
        replay the new operations, ([], True) when it was rebuilt; None when it was current."""
        runtime = self.entry.runtime
        stored, rows = await database_sync_to_async(load_stored)(self.simulation_id, self.stored.revision)
        if stored.revision == self.stored.revision:
            return None
        start = min([index for index, _ in rows] + [stored.length])
        appended = (
            runtime.log_floor == len(runtime.inputs) == self.stored.length == start
            and (runtime.base_fakes, runtime.seed) == (self.stored.fakes, self.stored.seed)
            and (stored.fakes, stored.seed) == (self.stored.fakes, self.stored.seed)
        )
        if not appended:
            await self.reload()
            return [], True
        records = await sessions.execute(runtime, _apply_all, runtime, [op for _, op in rows])
        self.stored = stored
        return records, False

    async def reload(self) -> None:
        """Rebuild the runtime from the stored recipe and log (local unsaved changes are dropped)."""
        runtime = self.entry.runtime
        stored, rows = await database_sync_to_async(load_stored)(self.simulation_id)
        await sessions.execute(runtime, _reset, runtime, stored, [op for _, op in rows])
        self.stored = stored

    @database_sync_to_async
    def store_fields(self, **fields: Any) -> None:
        """Fields that are not part of the recipe (watches, breakpoints, shared)."""
        Simulation.objects.filter(pk=self.simulation_id).update(**fields)


def _apply_all(runtime: sessions.SimulationRuntime, ops: list[dict]) -> list[dict]:
    start = len(runtime.records)
    for op in ops:
        runtime.apply(op)
    runtime.log_floor = len(runtime.inputs)
    return runtime.records[start:]


def _reset(runtime: sessions.SimulationRuntime, stored: Stored, ops: list[dict]) -> None:
    if (runtime.base_fakes, runtime.seed) != (stored.fakes, stored.seed):
        runtime.restart(stored.fakes, stored.seed)
    runtime.replay(ops)
    runtime.log_floor = len(runtime.inputs)


def read_simulation(simulation: Simulation) -> list[dict]:
    """The stored log of `simulation`, its recipe fields refreshed in the same read (sync: DB)."""
    stored, rows = load_stored(simulation.pk)
    simulation.revision, simulation.log_length = stored.revision, stored.length
    simulation.fakes, simulation.seed = stored.fakes, stored.seed
    return [op for _, op in rows]


load_simulation = database_sync_to_async(read_simulation)
