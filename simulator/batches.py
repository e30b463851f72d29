"""Batch jobs of the web app: start, run off the request, follow, cancel, export.

A batch is a :class:`simulator.models.BatchRun` row; the work is
:func:`simulator.runners.batch.run_batch`, the same as ``manage.py batch``. The web process that
accepted the batch drives it from a background thread (at most ``BATCH_RUNNING_PER_PROCESS`` at a
time, half of them at most for one user; the others wait queued: ``Slots``); the chunks run in a
local process pool (``BATCH_EXECUTOR=local``, ``BATCH_POOL_WORKERS`` processes) or on
``celery -A orchweb worker`` processes (``BATCH_EXECUTOR=celery``). Only the executor differs:
the report is the same.

Rules:

* access: whoever reads the version reads its batches; editors and owners of its team start
  them (viewers get ``PermissionDenied``); the run's owner or a team owner cancels;
* per user at most ``BATCH_MAX_CONCURRENT_PER_USER`` batches queued or running, counted in the
  database under a lock of the user's row (PostgreSQL), so the limit holds across processes;
* progress: the driving thread sends throttled frames to the channel-layer group of the run
  (``ws/batches/<id>/``, simulator.consumers.BatchConsumer) and writes ``done`` to the row at a
  modest rate;
* cancel: the row's ``cancel_requested`` (from any process) or an in-process event stops the run
  after its current chunk; the pending chunks are dropped and the partial report kept;
* a process that stops cleanly (SIGTERM) marks the runs it drives ``interrupted`` on its way out;
  one that dies leaves them ``running``: every process refreshes the heartbeat of the runs it
  drives, and runs whose heartbeat is older than 6 periods are marked ``interrupted`` (checked
  when a process first serves batches, then at most once per period), so a live process's run is
  never touched.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import csv
import io
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from designer.models import Role, Version
from designer.permissions import AuthenticationRequired, get_version_for_user, has_role, role_in_team, teams_for_user
from orchweb.affinity import cpus_before_pin
from simulator import sessions
from simulator.access import batch_group_name
from simulator.models import BatchRun
from simulator.ors.dialect import ORS
from simulator.ors.project import ProjectError, find_entry
from simulator.protocol import OpError
from simulator.runners.batch import (
    POOL_THRESHOLD,
    BatchError,
    ChunkExecutor,
    InProcess,
    LocalPool,
    parse_vary,
    run_batch,
)
from simulator.runners.limits import Limits
from simulator.scxml.errors import DocumentError
from simulator.scxml.model import get_model

logger = logging.getLogger(__name__)

__all__ = [
    "BatchError",
    "BatchLimit",
    "batches_for_user",
    "can_cancel",
    "can_start",
    "cancel_batch",
    "get_batch_for_user",
    "mark_interrupted",
    "recent_batches",
    "report_csv",
    "start_batch",
    "wait",
]

Status = BatchRun.Status

#: largest JSON of a `vary` spec or inline fakes profile a batch accepts
SPEC_MAX_BYTES = 256 * 1024
MAX_SEED = 2**31 - 1
#: progress frames at most this often; the row's `done` at most every PERSIST_SECONDS
FRAME_SECONDS = 0.1
PERSIST_SECONDS = 1.0
#: seconds a progress frame may take to reach the channel layer
PUBLISH_TIMEOUT = 10.0
#: a cancel requested from another process is read from the row at most this often
CANCEL_POLL_SECONDS = 0.5
#: heartbeats missed before a run counts as abandoned by a dead process
STALE_HEARTBEATS = 6
INTERRUPTED_ERROR = "The server process running this batch stopped before it finished; start it again."


class BatchLimit(Exception):
    """The user already has the maximum number of batches queued or running."""


# -- access ------------------------------------------------------------------------------------


def can_start(user: Any, version: Version) -> bool:
    """Whether `user` may start batches of `version` (editor or owner of its team)."""
    return has_role(role_in_team(user, version.project.team_id), Role.EDITOR)


def can_cancel(user: Any, run: BatchRun) -> bool:
    """The run's owner or an owner of the version's team may cancel it."""
    if not getattr(user, "is_authenticated", False):
        return False
    return run.owner_id == user.pk or has_role(role_in_team(user, run.version.project.team_id), Role.OWNER)


def batches_for_user(user: Any) -> QuerySet[BatchRun]:
    """Runs of the versions of every team the user is a member of (any role), newest first."""
    _sweep_if_due()
    return BatchRun.objects.filter(version__project__team__in=teams_for_user(user)).select_related(
        "owner", "version__project"
    )


def recent_batches(version: Version, limit: int = 10) -> list[BatchRun]:
    """The version's latest runs (for the version page of a reader of the version)."""
    _sweep_if_due()
    return list(BatchRun.objects.filter(version=version).select_related("owner")[:limit])


def get_batch_for_user(user: Any, run_id: int, share_tokens: Iterable[str] = ()) -> BatchRun:
    """The run if `user` may read its version (Http404 otherwise, AuthenticationRequired when
    anonymous: the version access rules of designer.permissions)."""
    _sweep_if_due()
    run = BatchRun.objects.select_related("owner", "version__project__team").filter(pk=run_id).first()
    if run is None:
        if not getattr(user, "is_authenticated", False):
            raise AuthenticationRequired()
        raise Http404("No such batch.")
    get_version_for_user(user, run.version_id, share_tokens)
    return run


# -- starting ------------------------------------------------------------------------------------

_start_lock = threading.Lock()  # SQLite has no row locks: one process serialises its own starts


def _spec(value: Any, name: str) -> Any:
    size = len(json.dumps(value))
    if size > SPEC_MAX_BYTES:
        raise BatchError(f"{name} is {size:,} bytes of JSON; the limit is {SPEC_MAX_BYTES:,}")
    return value


def start_batch(
    user: Any, version: Version, count: Any, seed: Any = 0, vary: Any = None, fakes: Any = None
) -> BatchRun:
    """Queue a batch of `count` interactions of `version` and start it once committed.

    `vary` is a variation spec (simulator.runners.batch.parse_vary), `fakes` an inline fakes
    profile or the path of a fakes file of the version. Raises PermissionDenied (not an editor),
    BatchError (bad input, a strategy with definition errors) or BatchLimit.
    """
    if not can_start(user, version):
        raise PermissionDenied("Starting a batch needs the editor role in the team.")
    limit = settings.BATCH_MAX_COUNT
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= limit:
        raise BatchError(f"count must be a whole number from 1 to {limit:,}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise BatchError(f"seed must be a whole number from 0 to {MAX_SEED}")
    vary = _spec(vary or {}, "vary")
    if not isinstance(vary, dict):
        raise BatchError("vary must be a JSON object: {key: [values]}")
    files, entry = sessions.version_files(version)
    try:
        profile, _ = sessions.resolve_fakes(files, _spec(fakes, "fakes"))
    except OpError as exc:
        raise BatchError(str(exc)) from exc
    parse_vary(vary, profile)
    try:
        errors = get_model(files, entry or find_entry(files), ORS).errors
    except (ProjectError, DocumentError) as exc:
        raise BatchError(f"the strategy cannot be loaded: {exc}") from exc
    if errors:
        first = errors[0]
        raise BatchError(f"the strategy has definition errors ({first.file}:{first.line}: {first.message})")
    _sweep_if_due()
    with _start_lock, transaction.atomic():
        # Lock the user's row: two processes starting batches for one user count one at a time.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        active = BatchRun.objects.filter(owner=user, status__in=BatchRun.ACTIVE).count()
        allowed = settings.BATCH_MAX_CONCURRENT_PER_USER
        if active >= allowed:
            raise BatchLimit(
                f"You already have {active} batch(es) queued or running (the limit is {allowed}); "
                "wait for one to finish or cancel one."
            )
        run = BatchRun.objects.create(
            owner=user,
            version=version,
            count=count,
            seed=seed,
            vary=vary,
            fakes=profile,
            executor=settings.BATCH_EXECUTOR,
            heartbeat=timezone.now(),
        )
        loop = _main_loop()
        transaction.on_commit(lambda: _launch(run.pk, user.pk, loop))
    return run


def cancel_batch(user: Any, run: BatchRun) -> BatchRun:
    """Stop a queued or running batch (its owner or a team owner; PermissionDenied otherwise).

    A queued run is cancelled at once; a running one stops after its current chunk, wherever it
    runs, and keeps the partial report. Cancelling a finished run changes nothing.
    """
    if not can_cancel(user, run):
        raise PermissionDenied("Only the batch's owner or a team owner can cancel it.")
    now = timezone.now()
    if BatchRun.objects.filter(pk=run.pk, status=Status.QUEUED).update(status=Status.CANCELLED, finished=now):
        _publish_finished(run.pk)
    else:
        BatchRun.objects.filter(pk=run.pk, status=Status.RUNNING).update(cancel_requested=True)
        event = _LOCAL.get(run.pk)
        if event is not None:
            event.set()
    run.refresh_from_db()
    return run


# -- running ---------------------------------------------------------------------------------------

#: runs this process drives: id -> their cancel event
_LOCAL: dict[int, threading.Event] = {}
_THREADS: dict[int, threading.Thread] = {}
_registry_lock = threading.Lock()
_slots: Slots | None = None
_heartbeat: threading.Thread | None = None


def _main_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop serving this request (ASGI), which the in-memory channel layer is bound to."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return getattr(SyncToAsync.threadlocal, "main_event_loop", None)


class Slots:
    """The runs one process drives at once: at most `total`, at most `per_user` of one user's
    (so one user's batches never hold every slot while another user's wait), granted in order of
    arrival among the runs allowed to start."""

    def __init__(self, total: int, per_user: int) -> None:
        self.total, self.per_user = total, per_user
        self.running: Counter[int] = Counter()
        self.waiting: list[tuple[int, int]] = []  # (run id, user id), in order of arrival
        self.changed = threading.Condition()

    def _next(self) -> int | None:
        if sum(self.running.values()) >= self.total:
            return None
        return next((run for run, user in self.waiting if self.running[user] < self.per_user), None)

    @contextlib.contextmanager
    def hold(self, run_id: int, user_id: int) -> Iterator[None]:
        """Wait for a slot for `run_id` of `user_id`, hold it for the block."""
        with self.changed:
            self.waiting.append((run_id, user_id))
            self.changed.notify_all()  # for whoever watches the queue (tests)
            self.changed.wait_for(lambda: self._next() == run_id)
            self.waiting.remove((run_id, user_id))
            self.running[user_id] += 1
            self.changed.notify_all()  # another waiter may be next now
        try:
            yield
        finally:
            with self.changed:
                self.running[user_id] -= 1
                self.changed.notify_all()


def _launch(run_id: int, user_id: int, loop: asyncio.AbstractEventLoop | None) -> None:
    global _slots, _heartbeat
    with _registry_lock:
        if _slots is None:
            total = settings.BATCH_RUNNING_PER_PROCESS
            _slots = Slots(total, max(1, total // 2))
        if _heartbeat is None:
            _heartbeat = threading.Thread(target=_heartbeat_loop, name="batch-heartbeat", daemon=True)
            _heartbeat.start()
            atexit.register(_interrupt_local_runs)
        _LOCAL[run_id] = threading.Event()
        thread = _THREADS[run_id] = threading.Thread(
            target=_drive, args=(run_id, user_id, _slots, loop), name=f"batch-{run_id}", daemon=True
        )
    thread.start()


def wait(run_id: int, timeout: float | None = None) -> bool:
    """Wait until this process's thread driving `run_id` is done; False on timeout."""
    thread = _THREADS.get(run_id)
    if thread is not None:
        thread.join(timeout)
        return not thread.is_alive()
    return True


def _drive(run_id: int, user_id: int, slots: Slots, loop: asyncio.AbstractEventLoop | None) -> None:
    try:
        with slots.hold(run_id, user_id):
            _execute(run_id, _LOCAL[run_id], loop)
    except Exception:  # the thread's last resort: the run must not stay running
        logger.exception("batch %s failed", run_id)
        _finish(run_id, Status.FAILED, loop, error="internal error (see the server log)")
    finally:
        connection.close()  # this thread's own connection: nobody else would close it
        with _registry_lock:
            _LOCAL.pop(run_id, None)
            _THREADS.pop(run_id, None)


def _executor(run: BatchRun) -> ChunkExecutor:
    if run.executor == "celery":
        from simulator.tasks import CeleryExecutor  # needs Redis: imported only when asked for

        return CeleryExecutor(workers=settings.BATCH_CELERY_WORKERS, queue=settings.CELERY_TASK_DEFAULT_QUEUE)
    workers = settings.BATCH_POOL_WORKERS
    # A server pinned to one CPU (ORCHWEB_CPU) gives its pool the CPUs it had before.
    pooled = workers > 1 and run.count >= POOL_THRESHOLD
    return LocalPool(workers, cpus_before_pin()) if pooled else InProcess()


def _execute(run_id: int, cancel: threading.Event, loop: asyncio.AbstractEventLoop | None) -> None:
    now = timezone.now()
    if not BatchRun.objects.filter(pk=run_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started=now, heartbeat=now
    ):
        return  # cancelled (or interrupted) while queued
    run = BatchRun.objects.select_related("version").get(pk=run_id)
    progress = _Progress(run_id, run.count, loop)
    progress(0, run.count)
    files, entry = sessions.version_files(run.version)
    try:
        report = run_batch(
            files,
            run.count,
            fakes=run.fakes,
            vary=run.vary,
            entry=entry,
            seed=run.seed,
            limits=Limits.from_settings(settings),
            executor=_executor(run),
            progress=progress,
            cancelled=_CancelCheck(run_id, cancel),
        )
    except (BatchError, DocumentError) as exc:
        _finish(run_id, Status.FAILED, loop, error=str(exc))
        return
    status = Status.CANCELLED if report.get("cancelled") else Status.DONE
    _finish(run_id, status, loop, report=report, done=int(report["count"]))


class _Progress:
    """run_batch's progress callback: throttled frames to the run's group, `done` to the row."""

    def __init__(self, run_id: int, count: int, loop: asyncio.AbstractEventLoop | None) -> None:
        self.run_id, self.count, self.loop = run_id, count, loop
        self.sent = self.saved = float("-inf")

    def __call__(self, done: int, count: int) -> None:
        now = time.monotonic()  # pacing of messages, never part of a simulation
        if now - self.saved >= PERSIST_SECONDS:
            BatchRun.objects.filter(pk=self.run_id).update(done=done)
            self.saved = now
        if now - self.sent >= FRAME_SECONDS or done == count:
            _publish(self.run_id, progress_frame(Status.RUNNING, done, count), self.loop)
            self.sent = now


class _CancelCheck:
    """run_batch's cancel check: this process's event, or the row's flag read every so often."""

    def __init__(self, run_id: int, event: threading.Event) -> None:
        self.run_id, self.event = run_id, event
        self.read = time.monotonic()

    def __call__(self) -> bool:
        if self.event.is_set():
            return True
        now = time.monotonic()
        if now - self.read >= CANCEL_POLL_SECONDS:
            self.read = now
            requested = BatchRun.objects.filter(pk=self.run_id).values_list("cancel_requested", flat=True).first()
            if requested is not False:  # asked for, or the run is gone (its version was deleted)
                self.event.set()
        return self.event.is_set()


def _finish(
    run_id: int,
    status: str,
    loop: asyncio.AbstractEventLoop | None,
    report: dict[str, Any] | None = None,
    done: int | None = None,
    error: str = "",
) -> None:
    fields: dict[str, Any] = {"status": status, "finished": timezone.now(), "error": error[:2000]}
    if report is not None:
        fields["report"] = report
    if done is not None:
        fields["done"] = done
    BatchRun.objects.filter(pk=run_id).update(**fields)
    _publish_finished(run_id, loop)


# -- heartbeat and interrupted runs ------------------------------------------------------------------

_last_sweep = float("-inf")


def _heartbeat_loop() -> None:
    while True:
        time.sleep(settings.BATCH_HEARTBEAT_SECONDS)
        _beat()


def _beat() -> None:
    """Refresh the heartbeat of the runs this process drives."""
    ids = list(_LOCAL)
    if not ids:
        return
    try:
        BatchRun.objects.filter(pk__in=ids, status__in=BatchRun.ACTIVE).update(heartbeat=timezone.now())
    except Exception:  # a database hiccup must not end the heartbeat
        logger.exception("batch heartbeat failed")
    finally:
        connection.close()  # no connection held between beats, even after a failed update


def _interrupt_local_runs() -> None:
    """At a clean exit (Daphne stopped with SIGTERM) the runs this process drives end with it:
    mark them interrupted now rather than after the heartbeat timeout."""
    ids = list(_LOCAL)
    if not ids:
        return
    try:
        BatchRun.objects.filter(pk__in=ids, status__in=BatchRun.ACTIVE).update(
            status=Status.INTERRUPTED, finished=timezone.now(), error=INTERRUPTED_ERROR
        )
        connection.close()
    except Exception:  # the database may be gone too; the heartbeat rule catches the runs later
        logger.warning("batches %s: could not be marked interrupted at exit", ids, exc_info=True)


def mark_interrupted(now: datetime | None = None) -> list[int]:
    """Mark queued or running runs whose driving process stopped beating as ``interrupted``.

    Safe with several processes: a run counts as abandoned only when its heartbeat is older than
    STALE_HEARTBEATS periods (every live process refreshes its runs' every period), and never
    when this process drives it. Returns the ids marked.
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=STALE_HEARTBEATS * settings.BATCH_HEARTBEAT_SECONDS)
    candidates = BatchRun.objects.filter(status__in=BatchRun.ACTIVE, heartbeat__lt=stale).exclude(pk__in=list(_LOCAL))
    marked = []
    for run_id in candidates.values_list("pk", flat=True):
        if BatchRun.objects.filter(pk=run_id, status__in=BatchRun.ACTIVE, heartbeat__lt=stale).update(
            status=Status.INTERRUPTED,
            finished=now,
            error=INTERRUPTED_ERROR,
        ):
            marked.append(run_id)
            _publish_finished(run_id)
    return marked


def _sweep_if_due() -> None:
    """mark_interrupted when this process first serves batches, then at most once per heartbeat."""
    global _last_sweep
    now = time.monotonic()
    if now - _last_sweep >= settings.BATCH_HEARTBEAT_SECONDS:
        _last_sweep = now
        mark_interrupted()


# -- frames -------------------------------------------------------------------------------------------


def progress_frame(status: str, done: int, count: int) -> dict[str, Any]:
    """``{"type": "progress", "status", "done", "count"}`` (docs/scenarios.md, batches)."""
    return {"type": "progress", "status": str(status), "done": done, "count": count}


def finished_frame(run: BatchRun) -> dict[str, Any]:
    """``{"type": "finished", "status", "done", "count", "error", "report_url"}``."""
    return {
        "type": "finished",
        "status": run.status,
        "done": run.done,
        "count": run.count,
        "error": run.error,
        "report_url": reverse("simulator-batch-json", args=[run.pk]),
    }


def _publish(run_id: int, frame: dict[str, Any], loop: asyncio.AbstractEventLoop | None = None) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "batch.frame", "frame": frame}
    group = batch_group_name(run_id)
    try:
        if loop is not None and loop.is_running():
            # The in-memory layer's queues belong to the server's loop: send from there, and wait
            # (this is the batch's own thread) so that frames keep their order.
            asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop).result(PUBLISH_TIMEOUT)
        else:
            async_to_sync(layer.group_send)(group, message)
    except Exception:  # a lost frame must not fail the batch: the row has the state too
        logger.warning("batch %s: a progress frame could not be sent", run_id, exc_info=True)


def _publish_finished(run_id: int, loop: asyncio.AbstractEventLoop | None = None) -> None:
    run = BatchRun.objects.filter(pk=run_id).first()
    if run is not None:
        _publish(run_id, finished_frame(run), loop or _main_loop())


# -- exports ------------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    """A CSV cell; text a spreadsheet would read as a formula is quoted with a leading '."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def report_csv(run: BatchRun) -> str:
    """The run's report as CSV rows ``section,key,detail,value`` (one figure a row)."""
    report = run.report or {}
    rows: list[tuple[Any, ...]] = [
        ("run", "status", "", run.status),
        ("run", "count", "", run.count),
        ("run", "done", "", run.done),
        ("run", "seed", "", run.seed),
    ]
    for section in ("statuses", "outcomes", "targets", "final_states"):
        rows += [(section, key, "", n) for key, n in (report.get(section) or {}).items()]
    errors = report.get("errors") or {}
    rows += [("errors", "sessions", "", errors.get("sessions", 0)), ("errors", "records", "", errors.get("records", 0))]
    rows += [("errors", "message", message, n) for message, n in (errors.get("messages") or {}).items()]
    rows += [("virtual_time", key, "", value) for key, value in (report.get("virtual_time") or {}).items()]
    histogram = report.get("time_to_route") or {}
    width = histogram.get("bucket_seconds") or 0
    for index, n in enumerate(histogram.get("counts") or []):
        rows.append(("time_to_route", f"{index * width:g}", f"{(index + 1) * width:g}", n))
    for key, values in (report.get("by_variation") or {}).items():
        for value, outcomes in values.items():
            rows += [("by_variation", f"{key}={value}", outcome, n) for outcome, n in outcomes.items()]
    coverage = report.get("coverage") or {}
    for kind in ("states", "transitions"):
        if kind in coverage:
            rows.append(("coverage", kind, "percent", coverage[kind]["percent"]))
    heat = report.get("heat") or {}
    rows += [("state_visits", state, "", n) for state, n in (heat.get("states") or {}).items()]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("section", "key", "detail", "value"))
    writer.writerows(tuple(_cell(v) for v in row) for row in rows)
    return out.getvalue()
