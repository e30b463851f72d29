"""Simulator pages: opening a simulation of a version, the list, the simulation page and its access rules."""

from __future__ import annotations

import pytest
from django.test import Client

from simulator.models import Simulation

from .conftest import MANUAL_SUBMIT, SimWorld

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def open_simulation(world: SimWorld, **params) -> Simulation:
    response = client_for(world.owner).post(f"/versions/{world.version.pk}/simulate/", params)
    assert response.status_code == 302
    simulation = Simulation.objects.get()
    assert response["Location"] == f"/simulations/{simulation.pk}/"
    return simulation


def test_simulating_a_version_creates_the_users_simulation_and_redirects_to_its_page(sim_world):
    simulation = open_simulation(sim_world, fakes="fakes/manual-submit.json")

    page = client_for(sim_world.owner).get(f"/simulations/{simulation.pk}/")

    assert (simulation.owner, simulation.version) == (sim_world.owner, sim_world.version)
    assert (simulation.fakes, simulation.fakes_source) == (MANUAL_SUBMIT, "fakes/manual-submit.json")
    assert page.status_code == 200
    config = page.context["config"]
    assert config["urls"]["ws"] == f"/ws/simulations/{simulation.pk}/"
    assert config["urls"]["graph"] == f"/api/versions/{sim_world.version.pk}/graph"
    assert list(config["fakes_files"]) == ["fakes/manual-submit.json"]  # the invalid one is not offered
    assert config["readonly"] is False


def test_the_version_pages_simulate_link_shows_a_start_form_and_creates_nothing(sim_world):
    client = client_for(sim_world.owner)

    form = client.get("/simulations/new/", {"version": sim_world.version.pk})
    again = client.get(f"/versions/{sim_world.version.pk}/simulate/", {"fakes": "fakes/manual-submit.json"})

    assert form.status_code == again.status_code == 200
    html = again.content.decode()
    assert f'action="/versions/{sim_world.version.pk}/simulate/"' in html
    assert 'method="post"' in html
    assert '<option value="fakes/manual-submit.json" selected>' in html
    assert not Simulation.objects.exists()  # a reload or a prefetch of the link opens nothing


def test_posting_the_start_form_opens_a_simulation(sim_world):
    response = client_for(sim_world.owner).post("/simulations/new/", {"version": sim_world.version.pk})

    assert response.status_code == 302
    assert Simulation.objects.filter(owner=sim_world.owner).count() == 1


def test_a_bad_fakes_file_is_a_400_with_the_problem(sim_world):
    response = client_for(sim_world.owner).post(
        f"/versions/{sim_world.version.pk}/simulate/", {"fakes": "fakes/broken.json"}
    )

    assert response.status_code == 400
    assert b"queue.delay" in response.content
    assert not Simulation.objects.exists()


def test_a_simulation_that_cannot_be_opened_says_why_in_the_site_page_with_a_way_back(sim_world):
    client = client_for(sim_world.owner)
    bad_fakes = client.post(f"/versions/{sim_world.version.pk}/simulate/", {"fakes": "fakes/nope.json"})
    bad_version = client.post("/simulations/new/", {"version": "abc"})

    assert bad_fakes.status_code == 400
    html = bad_fakes.content.decode()
    assert "fakes/nope.json" in html
    assert 'href="/projects/"' in html  # the navigation is there
    assert f'href="/versions/{sim_world.version.pk}/"' in html
    assert bad_version.status_code == 400
    assert "version must be the id of a version" in bad_version.content.decode()
    assert not Simulation.objects.exists()


def test_an_outsider_cannot_simulate_a_version_of_another_team(sim_world):
    client = client_for(sim_world.outsider)
    response = client.post(f"/versions/{sim_world.version.pk}/simulate/")
    form = client.get(f"/versions/{sim_world.version.pk}/simulate/")

    assert response.status_code == form.status_code == 404
    assert not Simulation.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login_page(sim_world):
    response = Client().get("/simulations/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_simulation_page_is_private_until_shared_then_teammates_watch_it_read_only(sim_world):
    simulation = open_simulation(sim_world)
    teammate = client_for(sim_world.teammate)

    assert teammate.get(f"/simulations/{simulation.pk}/").status_code == 403
    assert client_for(sim_world.outsider).get(f"/simulations/{simulation.pk}/").status_code == 404
    assert b"Simulation" not in teammate.get("/simulations/").content.split(b"<h1>")[1].split(b"</h1>", 1)[1]

    Simulation.objects.filter(pk=simulation.pk).update(shared=True)
    page = teammate.get(f"/simulations/{simulation.pk}/")
    listing = teammate.get("/simulations/")

    assert page.status_code == 200
    assert page.context["config"]["readonly"] is True
    assert f"/simulations/{simulation.pk}/" in listing.content.decode()


def test_the_list_shows_the_users_simulations(sim_world):
    simulation = open_simulation(sim_world)

    listing = client_for(sim_world.owner).get("/simulations/")

    assert listing.status_code == 200
    assert f'href="/simulations/{simulation.pk}/"' in listing.content.decode()


def test_only_the_owner_deletes_a_simulation_from_the_list(sim_world):
    simulation = open_simulation(sim_world)
    Simulation.objects.filter(pk=simulation.pk).update(shared=True)
    url = f"/simulations/{simulation.pk}/delete/"
    owner = client_for(sim_world.owner)
    assert f'action="{url}"' in owner.get("/simulations/").content.decode()
    assert f'action="{url}"' not in client_for(sim_world.teammate).get("/simulations/").content.decode()

    assert client_for(sim_world.teammate).post(url).status_code == 403  # a watcher
    assert client_for(sim_world.outsider).post(url).status_code == 404
    assert Client().post(url).status_code == 302  # to the login page
    assert owner.get(url).status_code == 405
    assert Simulation.objects.filter(pk=simulation.pk).exists()

    response = owner.post(url)
    assert response.status_code == 302 and response["Location"] == "/simulations/"
    assert not Simulation.objects.filter(pk=simulation.pk).exists()
    assert f"Simulation {simulation.pk} of" in owner.get("/simulations/").content.decode()  # the message
    assert owner.post(url).status_code == 404
