"""Batch simulation at scale: chunks of a batch as Celery tasks (``celery -A orchweb worker``).

``CeleryExecutor`` is a ``simulator.runners.batch`` executor: ``run_batch(..., executor=
CeleryExecutor())`` cuts the batch into chunks as for the local pool, stores the job once in
Redis (``REDIS_URL``), sends one ``batch_chunk`` task per chunk and yields the chunk aggregates in
chunk order, which ``run_batch`` merges into one report. Tasks are acknowledged late: a worker
that dies mid-chunk leaves the message to another worker, which recomputes the same aggregate
(seeded) under the same task id, so a chunk counts once whoever ran it. A bounded window of
chunks is in flight at a time; closing the iterator early (a cancelled batch) revokes those and
deletes the stored job.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterator
from typing import Any

import redis
from celery.result import AsyncResult
from django.conf import settings

from orchweb.celery import app
from simulator.runners.batch import WINDOW_PER_WORKER, BatchError, BatchJob, job_from_json, job_to_json, run_range

#: how long a stored job waits for its chunks (seconds)
JOB_TTL = 24 * 3600
#: jobs a worker process keeps decoded (a worker usually serves one batch at a time)
_JOBS: OrderedDict[str, BatchJob] = OrderedDict()


def _redis() -> redis.Redis:
    url = getattr(settings, "CELERY_RESULT_BACKEND", "")
    if not str(url).startswith(("redis://", "rediss://", "unix://")):
        raise BatchError("batches on Celery need REDIS_URL (the result backend and the job store)")
    return redis.Redis.from_url(url)


def _job_key(batch_id: str) -> str:
    return f"orchweb:batch:{batch_id}:job"


@app.task(name="simulator.batch_chunk", acks_late=True, reject_on_worker_lost=True)
def batch_chunk(batch_id: str, start: int, stop: int) -> dict[str, Any]:
    """The aggregate of interactions [start, stop) of a stored batch job."""
    job = _JOBS.get(batch_id)
    if job is None:
        data = _redis().get(_job_key(batch_id))
        if data is None:
            raise LookupError(f"batch {batch_id}: the job is gone (expired or cancelled)")
        job = _JOBS[batch_id] = job_from_json(json.loads(data))
        while len(_JOBS) > 2:
            _JOBS.popitem(last=False)
    return run_range(job, start, stop)


class CeleryExecutor:
    """Runs batch chunks on Celery workers (see the module docstring).

    `workers` is how many worker processes to plan chunks for (more chunks than workers keeps
    them all busy); `queue` the Celery queue (default: ``CELERY_TASK_DEFAULT_QUEUE``).
    """

    name = "celery"

    def __init__(self, workers: int = 2, queue: str | None = None, timeout: float = 3600.0) -> None:
        self.workers = max(2, workers)  # plan several chunks even for one worker: results stream
        self.queue = queue
        self.timeout = timeout

    def run(self, job: BatchJob, chunks: list[tuple[int, int]]) -> Iterator[dict[str, Any]]:
        store = _redis()
        batch_id = uuid.uuid4().hex
        store.set(_job_key(batch_id), json.dumps(job_to_json(job)), ex=JOB_TTL)
        options = {"queue": self.queue} if self.queue else {}
        waiting = iter(enumerate(chunks))
        in_flight: deque[AsyncResult] = deque()

        def send() -> bool:
            for index, (start, stop) in waiting:
                task_id = f"{batch_id}-{index}"
                in_flight.append(batch_chunk.apply_async((batch_id, start, stop), task_id=task_id, **options))
                return True
            return False

        # A bounded window of chunks in flight: the broker and the result store hold a few per
        # worker, not a million interactions' worth, and a cancel has little to revoke.
        while len(in_flight) < self.workers * WINDOW_PER_WORKER and send():
            pass
        try:
            while in_flight:
                result = in_flight.popleft()
                part = result.get(timeout=self.timeout)
                result.forget()
                send()
                yield part
        finally:
            # Closed early (cancel, error, timeout): the chunks sent but not done are revoked,
            # and the job is deleted, so a chunk a worker already took fails fast ("job is gone").
            pending = [result.id for result in in_flight]
            if pending:
                app.control.revoke(pending)
                for result in in_flight:
                    result.forget()
            store.delete(_job_key(batch_id))
