"""Server layouts at scale: a version created while batches run on Celery is laid out by a real
`celery -A orchweb worker` process (designer/tasks.py) on the real Redis broker and the test
database, with the key and layout the process itself computes for the same table.

Runs in the scaled pass (REDIS_URL and DATABASE_URL set); an embedded run deselects it
(tests/conftest.py).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import override_settings

from designer.analysis import analysed
from designer.elk import ServerElk
from designer.models import ServerDiagramLayout
from designer.serverlayouts import BUNDLED_FINGERPRINT, keep_font_table
from tests.designer.conftest import World
from tests.designer.test_server_layouts import chart, new_version, table
from tests.servers import RunningWorker, celery_worker, database_url

pytestmark = pytest.mark.scaled

SECONDS = 120


@pytest.fixture
def worker(transactional_db: None) -> Iterator[RunningWorker]:
    if not os.environ.get("REDIS_URL"):
        pytest.fail("the scaled run needs REDIS_URL (the Celery broker)")
    queue = f"orchweb-test-{uuid.uuid4().hex[:8]}"  # other runs sharing the Redis never take our tasks
    env = {"REDIS_URL": os.environ["REDIS_URL"], "DATABASE_URL": database_url(connection.settings_dict)}
    with celery_worker("layouts", queue, env, concurrency=1) as running:
        yield running


def test_a_version_created_on_celery_is_laid_out_by_a_worker_process(worker: RunningWorker, world: World) -> None:
    member = keep_font_table(world.viewer, table(7))
    with override_settings(
        DIAGRAM_SERVER_LAYOUTS=True, BATCH_EXECUTOR="celery", CELERY_TASK_DEFAULT_QUEUE=worker.queue
    ):
        version = new_version(world, chart())  # committed: its on_commit hook sends the task

    deadline = time.monotonic() + SECONDS
    while len(rows := list(ServerDiagramLayout.objects.filter(version=version))) < 2:
        assert worker.process.poll() is None, worker.log_tail()
        assert time.monotonic() < deadline, f"no layouts after {SECONDS} s\n{worker.log_tail()}"
        time.sleep(0.2)

    # for the member's table and the diagram's bundled fonts' (designer/serverlayouts.py)
    assert {row.fingerprint for row in rows} == {member, BUNDLED_FINGERPRINT}
    row = next(row for row in rows if row.fingerprint == member)
    elk = ServerElk()
    try:
        key, result = elk.layout(analysed("graph", version, "chart.scxml"), table(7))
    finally:
        elk.close()
    assert (row.entry, row.key) == ("chart.scxml", key)
    assert row.layout["children"][0]["id"] == result["children"][0]["id"]
    assert "designer.lay_out_version" in worker.log_path.read_text(errors="replace")


def test_a_page_served_on_celery_without_a_layout_is_laid_out_by_a_worker_process(
    worker: RunningWorker, world: World
) -> None:
    """designer.serverlayouts.schedule_viewed on the real broker: the page queues the task once, a
    worker stores the layout a new version gets, and gives back the viewer's and the server's
    places; the next open is served it."""
    from django.core.cache import cache

    from designer import serverlayouts
    from simulator.models import Simulation

    for user in (world.viewer.pk, world.owner.pk):
        serverlayouts.forget_counts(user)
    cache.delete(serverlayouts.VIEWED_WAITING_KEY)
    serverlayouts.forget_viewed(world.v2.pk, world.v2.entry)
    viewer = world.client_for("viewer")
    with override_settings(
        DIAGRAM_SERVER_LAYOUTS=True, BATCH_EXECUTOR="celery", CELERY_TASK_DEFAULT_QUEUE=worker.queue
    ):
        assert viewer.get(f"/versions/{world.v2.pk}/diagram/").status_code == 200  # autocommit: queued now
        assert viewer.get(f"/versions/{world.v2.pk}/diagram/").status_code == 200  # queued already

        deadline = time.monotonic() + SECONDS
        while not (rows := list(ServerDiagramLayout.objects.filter(version=world.v2))):
            assert worker.process.poll() is None, worker.log_tail()
            assert time.monotonic() < deadline, f"no layout after {SECONDS} s\n{worker.log_tail()}"
            time.sleep(0.2)
        while cache.get(serverlayouts.VIEWED_WAITING_KEY) not in (0, None):  # the task's finally
            assert time.monotonic() < deadline, worker.log_tail()
            time.sleep(0.1)
        simulation = Simulation.objects.create(owner=world.owner, version=world.v2)
        page = world.client_for("owner").get(f"/simulations/{simulation.pk}/")

    assert [(row.entry, row.fingerprint) for row in rows] == [(world.v2.entry, BUNDLED_FINGERPRINT)]
    assert page.context["diagram"]["store"]["layout"]["key"] == rows[0].key
    received = [line for line in worker.log_path.read_text(errors="replace").splitlines() if "received" in line]
    assert sum("designer.lay_out_viewed[" in line for line in received) == 1  # the second page queued nothing
    for _ in range(serverlayouts.PER_USER):  # the viewer's place given back: all PER_USER free
        assert serverlayouts.take_place(world.viewer.pk)
    serverlayouts.forget_counts(world.viewer.pk)
