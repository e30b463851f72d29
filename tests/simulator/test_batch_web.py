"""Batch jobs in the web app: start (who may), the per-user limit, progress over the websocket,
the report equal to run_batch's, cancel, exports and runs of dead processes.

Real database (transactional: the run is driven by a thread of this process), real channel
layer and websocket (WebsocketCommunicator over the project's ASGI application).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client, override_settings
from django.utils import timezone

from designer import history
from designer.models import Membership, Role
from orchweb.asgi import application
from simulator import batches
from simulator.models import BatchRun
from simulator.runners.batch import run_batch
from simulator.runners.limits import Limits
from tests.simulator.conftest import SimWorld, build_sim_world, make_user

pytestmark = pytest.mark.django_db(transaction=True)

VARY = {"queue.available": [True, False], "ani": ["5551234", "5550100"]}
TIMEOUT = 300  # generous: the machine's two cores are shared; never a verdict on speed


@pytest.fixture
def world(transactional_db: None, shared_dir: Path) -> SimWorld:
    built = build_sim_world(shared_dir)
    editor = make_user("editor")
    Membership.objects.create(team=built.project.team, user=editor, role=Role.EDITOR)
    built.editor = editor  # type: ignore[attr-defined]
    return built


def client(user: AbstractBaseUser) -> Client:
    c = Client()
    c.force_login(user)
    return c


def start(user: AbstractBaseUser, version_id: int, **body: Any) -> Any:
    return client(user).post(f"/api/versions/{version_id}/batches", body, content_type="application/json")


def finished(run_id: int) -> BatchRun:
    assert batches.wait(run_id, TIMEOUT), "the batch thread did not end"
    return BatchRun.objects.get(pk=run_id)


def without_timing(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "timing"}


def direct_report(world: SimWorld, count: int, seed: int, vary: dict) -> dict:
    files = world.version.read_files()
    return run_batch(
        files, count, fakes={}, vary=vary, entry=world.version.entry, seed=seed, limits=Limits.from_settings(settings)
    )


# -- starting and reading -------------------------------------------------------------------------


def test_an_editor_starts_a_batch_whose_report_equals_run_batch_with_the_same_seed(world: SimWorld) -> None:
    response = start(world.editor, world.version.pk, count=60, seed=7, vary=VARY)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner"] == "editor" and body["count"] == 60 and body["urls"]["ws"] == f"/ws/batches/{body['id']}/"
    run = finished(body["id"])
    assert (run.status, run.done, run.error) == ("done", 60, "")
    assert without_timing(run.report) == without_timing(direct_report(world, 60, 7, VARY))
    assert sum(run.report["time_to_route"]["counts"]) == run.report["outcomes"].get("routed", 0)
    assert run.report["heat"]["runs"] == 60
    assert set(run.report["heat"]["states"]) >= {s["id"] for s in run.report["coverage"]["states"]["uncovered"]}


def test_the_owner_of_the_project_starts_batches_too(world: SimWorld) -> None:
    response = start(world.owner, world.version.pk, count=3)

    assert response.status_code == 201
    assert finished(response.json()["id"]).status == "done"


def test_a_viewer_reads_a_report_but_cannot_start_a_batch(world: SimWorld) -> None:
    run = finished(start(world.editor, world.version.pk, count=4).json()["id"])
    viewer = client(world.teammate)

    refused = viewer.post(f"/api/versions/{world.version.pk}/batches", {"count": 4}, content_type="application/json")
    page_refused = viewer.post(f"/versions/{world.version.pk}/batches/", {"count": "4"})

    assert refused.status_code == 403 and "editor" in refused.json()["detail"]
    assert page_refused.status_code == 403
    assert viewer.get(f"/api/batches/{run.pk}").json()["report"]["count"] == 4
    assert viewer.get(f"/batches/{run.pk}/").status_code == 200
    assert [b["id"] for b in viewer.get("/api/batches").json()["batches"]] == [run.pk]
    assert BatchRun.objects.count() == 1


def test_an_outsider_sees_no_batch_of_the_team(world: SimWorld) -> None:
    run = finished(start(world.editor, world.version.pk, count=2).json()["id"])
    outsider = client(world.outsider)

    assert start(world.outsider, world.version.pk, count=2).status_code == 404
    assert outsider.get(f"/api/batches/{run.pk}").status_code == 404
    assert outsider.get(f"/batches/{run.pk}/report.csv").status_code == 404
    assert outsider.get("/api/batches").json()["batches"] == []
    assert "batch-list-empty" in outsider.get("/batches/").content.decode()


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        # What the schema refuses is a 400; what matches it but cannot be run, a 422.
        ({"count": 0}, 400, "count"),
        ({"count": 1_000_001}, 400, "count"),
        ({"count": "5"}, 400, "count"),
        ({"count": 5, "seed": -1}, 400, "seed"),
        ({"count": 5, "fakes": [None]}, 400, "fakes"),
        ({"count": 5, "vary": {"queue.available": []}}, 422, "non-empty list"),
        ({"count": 5, "vary": {"queue.delay": ["soon"]}}, 422, "vary queue.delay[0]"),
        ({"count": 5, "fakes": "fakes/missing.json"}, 422, "no fakes profile"),
        ({"count": 5, "fakes": "fakes/broken.json"}, 422, "delay"),
    ],
)
def test_bad_input_is_refused_with_the_reason(world: SimWorld, body: dict, code: int, message: str) -> None:
    response = start(world.editor, world.version.pk, **body)

    assert response.status_code == code
    assert message in json.dumps(response.json())
    assert not BatchRun.objects.exists()


def test_a_fakes_file_of_the_version_is_the_base_profile(world: SimWorld) -> None:
    run = finished(start(world.editor, world.version.pk, count=3, fakes="fakes/manual-submit.json").json()["id"])

    assert run.fakes["rules"][0]["manual"] is True
    assert run.report["outcomes"] == {"waiting": 3}


# -- the per-user limit ------------------------------------------------------------------------------


def active_rows(world: SimWorld, user: AbstractBaseUser, n: int) -> list[BatchRun]:
    """Runs another process drives (queued/running with a live heartbeat): only the database knows."""
    statuses = ["running", "queued"]
    return [
        BatchRun.objects.create(
            owner=user, version=world.version, count=10, status=statuses[i % 2], heartbeat=timezone.now()
        )
        for i in range(n)
    ]


def test_a_user_over_the_concurrent_limit_is_refused_until_one_of_theirs_ends(world: SimWorld) -> None:
    rows = active_rows(world, world.editor, settings.BATCH_MAX_CONCURRENT_PER_USER)

    refused = start(world.editor, world.version.pk, count=2)
    page = client(world.editor).post(f"/versions/{world.version.pk}/batches/", {"count": "2"}, follow=True)
    others = start(world.owner, world.version.pk, count=2)
    BatchRun.objects.filter(pk=rows[0].pk).update(status="done")
    accepted = start(world.editor, world.version.pk, count=2)

    assert refused.status_code == 429 and "limit is 2" in refused.json()["detail"]
    assert "Batch not started" in page.content.decode() and "limit is 2" in page.content.decode()
    assert others.status_code == 201  # the limit is per user
    assert accepted.status_code == 201
    for body in (others.json(), accepted.json()):
        assert finished(body["id"]).status == "done"


# -- progress over the websocket ---------------------------------------------------------------------


async def headers(world: SimWorld, user: AbstractBaseUser | None) -> list[tuple[bytes, bytes]]:
    return await database_sync_to_async(world.headers)(user)


async def socket(world: SimWorld, run_id: int, user: AbstractBaseUser) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/batches/{run_id}/", headers=await headers(world, user))


async def frames_until_finished(communicator: WebsocketCommunicator) -> list[dict]:
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        frames.append(frame)
        if frame["type"] == "finished":
            return frames


async def test_progress_frames_stream_over_the_websocket_and_end_with_the_report(
    world: SimWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batches, "FRAME_SECONDS", 0.0)  # a frame per chunk: the test sees them all
    launches: list[tuple] = []
    launch = batches._launch
    monkeypatch.setattr(batches, "_launch", lambda *args: launches.append(args))  # start once we listen
    run = await database_sync_to_async(batches.start_batch)(world.editor, world.version, 500, 3, VARY)
    communicator = WebsocketCommunicator(
        application, f"/ws/batches/{run.pk}/", headers=await headers(world, world.teammate)
    )
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {
        "type": "progress",
        "status": "queued",
        "done": 0,
        "count": 500,
    }

    launch(*launches[0])
    frames = await frames_until_finished(communicator)
    await communicator.disconnect()

    progress = [f for f in frames if f["type"] == "progress"]
    done = [f["done"] for f in progress]
    assert done == sorted(done) and done[-1] == 500 and any(0 < n < 500 for n in done), done
    assert frames[-1] == {
        "type": "finished",
        "status": "done",
        "done": 500,
        "count": 500,
        "error": "",
        "report_url": f"/batches/{run.pk}/report.json",
    }
    stored = await database_sync_to_async(finished)(run.pk)
    local = await database_sync_to_async(direct_report)(world, 500, 3, VARY)
    assert without_timing(stored.report) == without_timing(local)


async def test_a_finished_run_sends_its_state_and_the_finished_frame_on_connect(world: SimWorld) -> None:
    run = await database_sync_to_async(batches.start_batch)(world.editor, world.version, 3, 0, None)
    await database_sync_to_async(finished)(run.pk)
    communicator = WebsocketCommunicator(
        application, f"/ws/batches/{run.pk}/", headers=await headers(world, world.owner)
    )
    await communicator.connect(timeout=TIMEOUT)

    first = await communicator.receive_json_from(timeout=TIMEOUT)
    second = await communicator.receive_json_from(timeout=TIMEOUT)
    await communicator.disconnect()

    assert first == {"type": "progress", "status": "done", "done": 3, "count": 3}
    assert second["type"] == "finished" and second["status"] == "done"


@pytest.mark.parametrize(("who", "code"), [("anonymous", 4401), ("outsider", 4404), ("nobody", 4404)])
async def test_the_batch_socket_refuses_with_the_documented_close_codes(world: SimWorld, who: str, code: int) -> None:
    run = await database_sync_to_async(BatchRun.objects.create)(owner=world.editor, version=world.version, count=1)
    user = {"anonymous": None, "outsider": world.outsider, "nobody": world.owner}[who]
    run_id = run.pk + 1000 if who == "nobody" else run.pk
    communicator = WebsocketCommunicator(application, f"/ws/batches/{run_id}/", headers=await headers(world, user))
    await communicator.connect(timeout=TIMEOUT)

    frame = await communicator.receive_json_from(timeout=TIMEOUT)
    closed = await communicator.receive_output(timeout=TIMEOUT)

    assert frame["fatal"] is True and frame["code"] == code
    assert closed == {"type": "websocket.close", "code": code}


# -- cancel ------------------------------------------------------------------------------------------------


async def test_cancelling_a_large_run_stops_it_and_keeps_the_partial_counts(world: SimWorld) -> None:
    run = await database_sync_to_async(batches.start_batch)(world.editor, world.version, 200_000, 1, VARY)
    communicator = WebsocketCommunicator(
        application, f"/ws/batches/{run.pk}/", headers=await headers(world, world.editor)
    )
    await communicator.connect(timeout=TIMEOUT)
    while (await communicator.receive_json_from(timeout=TIMEOUT))["done"] == 0:
        pass  # some chunks are done

    response = await database_sync_to_async(lambda: client(world.editor).post(f"/api/batches/{run.pk}/cancel"))()
    frames = await frames_until_finished(communicator)
    await communicator.disconnect()

    assert response.status_code == 200 and response.json()["cancel_requested"] is True
    stored = await database_sync_to_async(finished)(run.pk)
    assert stored.status == "cancelled" and 0 < stored.done < 200_000
    assert stored.report["cancelled"] is True and stored.report["count"] == stored.done
    assert sum(stored.report["outcomes"].values()) == stored.done
    assert frames[-1]["status"] == "cancelled" and frames[-1]["done"] == stored.done


def test_cancelling_a_queued_run_cancels_it_at_once(world: SimWorld) -> None:
    run = BatchRun.objects.create(owner=world.editor, version=world.version, count=10, heartbeat=timezone.now())

    response = client(world.editor).post(f"/batches/{run.pk}/cancel/", follow=True)

    run.refresh_from_db()
    assert run.status == "cancelled" and run.finished is not None
    assert "cancelled" in response.content.decode()


def test_the_team_owner_may_cancel_an_editors_batch_and_a_viewer_may_not(world: SimWorld) -> None:
    run = BatchRun.objects.create(owner=world.editor, version=world.version, count=10, heartbeat=timezone.now())

    viewer = client(world.teammate).post(f"/api/batches/{run.pk}/cancel")
    owner = client(world.owner).post(f"/api/batches/{run.pk}/cancel")

    assert viewer.status_code == 403
    assert owner.status_code == 200 and owner.json()["status"] == "cancelled"


# -- exports --------------------------------------------------------------------------------------------------


def test_the_report_downloads_as_csv_and_json_with_a_safe_file_name(world: SimWorld) -> None:
    world.project.name = "Support\r\nlíne"
    world.project.save()
    run = finished(start(world.editor, world.version.pk, count=20, seed=2, vary=VARY).json()["id"])
    viewer = client(world.teammate)

    as_csv = viewer.get(f"/batches/{run.pk}/report.csv")
    as_json = viewer.get(f"/batches/{run.pk}/report.json")

    for response, extension in ((as_csv, "csv"), (as_json, "json")):
        disposition = response["Content-Disposition"]
        assert "\r" not in disposition and "\n" not in disposition
        assert disposition.startswith('attachment; filename="Support__l_ne-')
        assert (
            disposition.endswith(f"-batch-{run.pk}.{extension}")
            and "filename*=UTF-8''Support%0D%0Al%C3%ADne" in disposition
        )
    assert as_json.json()["report"] == run.report
    rows = list(csv.reader(io.StringIO(as_csv.content.decode())))
    assert rows[0] == ["section", "key", "detail", "value"]
    assert ["run", "count", "", "20"] in rows
    outcomes = {r[1]: int(r[3]) for r in rows if r[0] == "outcomes"}
    assert outcomes == run.report["outcomes"]
    assert sum(int(r[3]) for r in rows if r[0] == "time_to_route") == outcomes.get("routed", 0)
    assert {r[1] for r in rows if r[0] == "state_visits"} == set(run.report["heat"]["states"])


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_quoted(world: SimWorld) -> None:
    run = BatchRun.objects.create(
        owner=world.editor, version=world.version, count=1, status="done", report={"targets": {"=HYPERLINK(1)": 1}}
    )

    rows = list(csv.reader(io.StringIO(batches.report_csv(run))))

    assert ["targets", "'=HYPERLINK(1)", "", "1"] in rows


# -- runs of a process that died ---------------------------------------------------------------------------------


def test_runs_whose_process_stopped_beating_are_marked_interrupted_and_live_ones_are_not(world: SimWorld) -> None:
    long_ago = timezone.now() - timedelta(seconds=10 * settings.BATCH_HEARTBEAT_SECONDS)
    dead_running = BatchRun.objects.create(
        owner=world.editor, version=world.version, count=10, status="running", done=4, heartbeat=long_ago
    )
    dead_queued = BatchRun.objects.create(owner=world.editor, version=world.version, count=10, heartbeat=long_ago)
    alive = BatchRun.objects.create(
        owner=world.editor, version=world.version, count=10, status="running", heartbeat=timezone.now()
    )
    over = BatchRun.objects.create(
        owner=world.editor, version=world.version, count=10, status="done", heartbeat=long_ago
    )

    marked = batches.mark_interrupted()

    assert sorted(marked) == sorted([dead_running.pk, dead_queued.pk])
    statuses = dict(BatchRun.objects.values_list("pk", "status"))
    assert statuses == {
        dead_running.pk: "interrupted",
        dead_queued.pk: "interrupted",
        alive.pk: "running",
        over.pk: "done",
    }
    dead_running.refresh_from_db()
    assert dead_running.done == 4 and "stopped" in dead_running.error
    # Interrupted runs no longer count against the owner's limit.
    assert start(world.editor, world.version.pk, count=1).status_code == 201
    batches.wait(BatchRun.objects.latest("pk").pk, TIMEOUT)


# -- failures -------------------------------------------------------------------------------------------------------


def test_a_run_whose_executor_cannot_start_fails_with_the_reason(world: SimWorld) -> None:
    with override_settings(BATCH_EXECUTOR="celery", CELERY_RESULT_BACKEND="cache+memory://"):
        body = start(world.editor, world.version.pk, count=5).json()
        run = finished(body["id"])

    assert (run.status, run.done, run.report) == ("failed", 0, None)
    assert "REDIS_URL" in run.error
    assert client(world.teammate).get(f"/api/batches/{run.pk}").json()["error"] == run.error


def test_a_strategy_with_definition_errors_is_refused_before_it_is_queued(world: SimWorld) -> None:
    broken = history.create_version(
        world.project,
        {"main.scxml": b'<scxml xmlns="http://www.w3.org/2005/07/scxml" initial="nowhere"><state id="a"/></scxml>'},
        author=world.owner,
        message="broken",
        parent=world.version,
        entry="main.scxml",
    )

    response = start(world.editor, broken.pk, count=5)

    assert response.status_code == 422 and "definition errors" in response.json()["detail"]
    assert not BatchRun.objects.exists()
