"""Batches started through the API with ORCHWEB_BATCH_EXECUTOR=celery run on a real
`celery -A orchweb worker` process (tests/servers.py) over the real Redis: the stored report equals
a local run with the same seed, and a cancel stops the chunks on the workers.

Runs in the scaled pass (REDIS_URL set); an embedded run deselects it (tests/conftest.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client, override_settings

from orchweb.asgi import application
from simulator import batches
from simulator.models import BatchRun
from simulator.runners.batch import CHUNK, WINDOW_PER_WORKER
from tests.servers import RunningWorker, celery_worker
from tests.simulator.conftest import SimWorld, build_sim_world
from tests.simulator.test_batch_web import TIMEOUT, VARY, direct_report, without_timing

pytestmark = [pytest.mark.scaled, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def worker() -> Iterator[RunningWorker]:
    if not os.environ.get("REDIS_URL"):
        pytest.fail("the scaled run needs REDIS_URL (broker and results of the Celery workers)")
    queue = f"orchweb-test-{uuid.uuid4().hex[:8]}"  # other runs sharing the Redis never take our chunks
    with celery_worker("batch-web", queue, {"REDIS_URL": os.environ["REDIS_URL"]}, concurrency=2) as running:
        yield running


@pytest.fixture
def world(transactional_db: None, shared_dir: Path, worker: RunningWorker) -> Iterator[SimWorld]:
    with override_settings(BATCH_EXECUTOR="celery", CELERY_TASK_DEFAULT_QUEUE=worker.queue):
        yield build_sim_world(shared_dir)


def client(user: AbstractBaseUser) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_a_batch_started_through_the_api_runs_on_the_worker_and_reports_as_a_local_run(
    world: SimWorld, worker: RunningWorker
) -> None:
    response = client(world.owner).post(
        f"/api/versions/{world.version.pk}/batches", {"count": 120, "seed": 7, "vary": VARY}, "application/json"
    )

    assert response.status_code == 201 and response.json()["executor"] == "celery"
    assert batches.wait(response.json()["id"], TIMEOUT)
    run = BatchRun.objects.get(pk=response.json()["id"])
    assert (run.status, run.done, run.error) == ("done", 120, ""), worker.log_tail()
    assert run.report["timing"]["executor"] == "celery" and run.report["timing"]["chunks"] > 1
    assert without_timing(run.report) == without_timing(direct_report(world, 120, 7, VARY))
    assert "simulator.batch_chunk" in worker.log_path.read_text(errors="replace")


async def test_cancelling_a_celery_batch_stops_sending_its_chunks(world: SimWorld, worker: RunningWorker) -> None:
    log_start = len(worker.log_path.read_text(errors="replace"))
    run = await database_sync_to_async(batches.start_batch)(world.owner, world.version, 100_000, 5, VARY)
    headers = await database_sync_to_async(world.headers)(world.owner)
    communicator = WebsocketCommunicator(application, f"/ws/batches/{run.pk}/", headers=headers)
    await communicator.connect(timeout=TIMEOUT)
    while (await communicator.receive_json_from(timeout=TIMEOUT))["done"] == 0:
        pass  # some chunks came back from the worker

    await database_sync_to_async(batches.cancel_batch)(world.owner, run)
    while (frame := await communicator.receive_json_from(timeout=TIMEOUT))["type"] != "finished":
        pass
    await communicator.disconnect()

    assert await database_sync_to_async(batches.wait)(run.pk, TIMEOUT)
    stored = await database_sync_to_async(BatchRun.objects.get)(pk=run.pk)
    assert frame["status"] == stored.status == "cancelled"
    assert 0 < stored.done < 100_000 and stored.report["count"] == stored.done
    assert sum(stored.report["outcomes"].values()) == stored.done
    # Chunks of CHUNK interactions, at most a window of them in flight: the worker ran the chunks
    # merged so far and the window, not the 400 chunks of the whole batch.
    ran = worker.log_path.read_text(errors="replace")[log_start:].count("succeeded in")
    assert ran <= stored.done // CHUNK + 2 * WINDOW_PER_WORKER + 1, ran
