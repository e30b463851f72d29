"""The batch pages as the server renders them: the version page's "Batch simulation" section (form
for editors and owners, runs for every member), the batch page (what its script reads, cancel
only while it runs), the batch list and the Batches link. The browser side is tests/e2e/test_batch.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client
from django.utils import timezone

from simulator import batches
from simulator.models import BatchRun
from tests.simulator.conftest import SimWorld, build_sim_world

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 300  # generous: the machine's two cores are shared; never a verdict on speed


@pytest.fixture
def world(transactional_db: None, shared_dir: Path) -> SimWorld:
    return build_sim_world(shared_dir)


def client(user: AbstractBaseUser) -> Client:
    c = Client()
    c.force_login(user)
    return c


def finished_run(world: SimWorld, count: int = 3) -> BatchRun:
    run = batches.start_batch(world.owner, world.version, count, seed=1, vary={"queue.available": [True, False]})
    assert batches.wait(run.pk, TIMEOUT), "the batch thread did not end"
    run.refresh_from_db()
    assert run.status == "done"
    return run


def batch_config(page: str) -> dict:
    [text] = re.findall(r'<script id="batch-config" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(text)


def test_the_version_page_gives_an_owner_the_batch_form_with_the_versions_fakes_profiles(world: SimWorld) -> None:
    page = client(world.owner).get(f"/versions/{world.version.pk}/").content.decode()

    assert f'action="/versions/{world.version.pk}/batches/" id="batch-form"' in page
    assert '<option value="fakes/manual-submit.json"' in page
    assert 'name="vary"' in page and 'name="count"' in page and 'max="1000000"' in page
    assert "simulator/batch-form.js" in page
    assert 'id="batch-runs-empty"' in page


def test_a_viewer_sees_the_versions_batch_runs_but_no_start_form(world: SimWorld) -> None:
    run = finished_run(world)

    page = client(world.teammate).get(f"/versions/{world.version.pk}/").content.decode()

    assert "Batch simulation" in page
    assert 'id="batch-form"' not in page and "batch-form.js" not in page
    assert f'<a href="/batches/{run.pk}/">Batch {run.pk}</a>' in page
    assert "3 / 3" in page


def test_a_refused_start_goes_back_to_the_version_page_with_the_reason(world: SimWorld) -> None:
    response = client(world.owner).post(
        f"/versions/{world.version.pk}/batches/", {"count": "5", "vary": '{"queue.delay": ["soon"]}'}, follow=True
    )

    page = response.content.decode()
    assert response.redirect_chain == [(f"/versions/{world.version.pk}/", 302)]
    assert "Batch not started: vary queue.delay[0]" in page
    assert not BatchRun.objects.exists()


def test_a_finished_batch_page_embeds_its_report_and_the_diagram_for_its_script(world: SimWorld) -> None:
    run = finished_run(world)

    page = client(world.teammate).get(f"/batches/{run.pk}/").content.decode()

    config = batch_config(page)
    assert config["status"] == "done" and config["report"]["count"] == 3
    assert config["report"]["heat"]["runs"] == 3
    assert config["urls"]["ws"] == f"/ws/batches/{run.pk}/"
    assert config["urls"]["report_json"] == f"/batches/{run.pk}/report.json"
    assert f'data-graph-url="/api/versions/{world.version.pk}/graph"' in page
    assert "vendor/chartjs/chart.umd.min.js" in page and "simulator/batch.js" in page
    assert 'id="batch-cancel"' not in page


def test_a_running_batch_offers_cancel_to_its_owner_only(world: SimWorld) -> None:
    run = BatchRun.objects.create(
        owner=world.owner, version=world.version, count=10, status="running", heartbeat=timezone.now()
    )

    owner_page = client(world.owner).get(f"/batches/{run.pk}/").content.decode()
    viewer_page = client(world.teammate).get(f"/batches/{run.pk}/").content.decode()

    assert f'action="/batches/{run.pk}/cancel/" id="batch-cancel-form"' in owner_page
    assert batch_config(owner_page)["report"] is None
    assert 'id="batch-cancel"' not in viewer_page


def test_the_batch_list_shows_project_version_owner_status_and_progress(world: SimWorld) -> None:
    run = finished_run(world)

    page = client(world.teammate).get("/batches/").content.decode()

    row = re.search(rf'<tr data-batch="{run.pk}">(.*?)</tr>', page, re.S)
    assert row is not None
    for text in ("CRD", world.version.label, "owner", "batch-status-done", "3 / 3"):
        assert text in row.group(1)
    assert '<a href="/batches/" aria-current="page">Batches</a>' in page
    assert re.search(r'<a href="/simulations/"\s*>Simulations</a>', page)  # not the current section
