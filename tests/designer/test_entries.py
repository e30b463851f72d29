"""A version with several IPDs: the diagram and simulate pages start from any of them, nothing saved."""

from __future__ import annotations

import pytest

from designer import history
from designer.models import Version
from simulator.models import Simulation
from simulator.sessions import build_runtime
from tests.designer.conftest import World

FIRST = "src-gen/IPD_default_Starter.scxml"
SECOND = "src-gen/IPD_default_Second.scxml"


def two_ipds(world: World) -> Version:
    files = world.v2.read_files()
    files[SECOND] = files[FIRST]
    return history.create_version(
        world.project, files, author=world.owner, message="2 IPDs", parent=world.v2, entry=FIRST
    )


@pytest.mark.django_db
def test_the_diagram_page_offers_every_ipd_and_draws_the_one_picked(world: World) -> None:
    version = two_ipds(world)
    client = world.client_for("viewer")

    default = client.get(f"/versions/{version.pk}/diagram/")
    picked = client.get(f"/versions/{version.pk}/diagram/", {"entry": SECOND})
    bogus = client.get(f"/versions/{version.pk}/diagram/", {"entry": "include/starter.js"})

    assert version.entry == FIRST
    assert default.context["payload"]["entries"] == [FIRST, SECOND]
    assert default.context["payload"]["shown"] == FIRST
    assert '<select id="diagram-entry-select" name="entry">' in default.content.decode()
    payload = picked.context["payload"]
    assert payload["shown"] == SECOND and payload["entry"] == FIRST
    assert payload["urls"]["graph"] == f"/api/versions/{version.pk}/graph?entry=src-gen%2FIPD_default_Second.scxml"
    assert client.get(payload["urls"]["graph"]).json()["entry"] == SECOND
    assert f"/versions/{version.pk}/simulate/?entry=src-gen/IPD_default_Second.scxml" in picked.content.decode()
    assert bogus.context["payload"]["shown"] == FIRST  # not a document the version can start from
    assert client.get(f"/api/versions/{version.pk}/graph", {"entry": "nope.scxml"}).status_code == 404
    assert Version.objects.filter(project=world.project).count() == 3  # nothing saved


@pytest.mark.django_db
def test_a_draft_diagram_draws_another_ipd_without_changing_the_draft_entry(world: World) -> None:
    two_ipds(world)
    client = world.client_for("editor")

    page = client.get(f"/projects/{world.project.pk}/draft/diagram/", {"entry": SECOND})

    assert page.context["payload"]["shown"] == SECOND
    assert client.get(page.context["payload"]["urls"]["graph"]).json()["entry"] == SECOND
    assert history.get_or_start_draft(world.project, world.editor).entry == FIRST


@pytest.mark.django_db
def test_the_simulate_page_starts_from_the_ipd_picked(world: World) -> None:
    version = two_ipds(world)
    client = world.client_for("viewer")

    form = client.get(f"/versions/{version.pk}/simulate/", {"entry": SECOND}).content.decode()
    created = client.post(f"/versions/{version.pk}/simulate/", {"entry": SECOND})
    refused = client.post(f"/versions/{version.pk}/simulate/", {"entry": "include/starter.js"})

    assert f'<option value="{SECOND}" selected>' in form
    assert created.status_code == 302
    simulation = Simulation.objects.get()
    assert simulation.entry == SECOND
    assert build_runtime(simulation).entry == SECOND
    page = client.get(created["Location"])
    assert page.context["config"]["entry"] == SECOND
    assert page.context["config"]["urls"]["graph"].endswith("?entry=src-gen%2FIPD_default_Second.scxml")
    assert refused.status_code == 400 and Simulation.objects.count() == 1
    version.refresh_from_db()
    assert version.entry == FIRST
