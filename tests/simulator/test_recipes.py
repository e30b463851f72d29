"""Export (trace JSONL, recipe) and import of a simulation: a recipe imported on a fresh database
reproduces the same simulation, console evaluations and edits included."""

from __future__ import annotations

import io
import json

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from designer.models import Membership, Project, Role, Team
from simulator.models import Simulation
from simulator.recipes import FORMAT

from .conftest import make_user
from .test_consumer import start, started_id
from .test_debugger import at_branch

pytestmark = pytest.mark.django_db(transaction=True)


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def download(user, url: str) -> tuple[int, bytes, str]:
    response = client_of(user).get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body, response.get("Content-Disposition", "")


def fresh_server_import(recipe: bytes) -> tuple[int, str]:
    """Empty the database of the original's traces, then import as a new user of a new team."""
    Simulation.objects.all().delete()
    Project.objects.all().delete()
    Membership.objects.all().delete()
    Team.objects.all().delete()
    user = make_user("elsewhere")
    team = Team.objects.create(name="Imported")
    Membership.objects.create(team=team, user=user, role=Role.EDITOR)
    upload = io.BytesIO(recipe)
    upload.name = "recipe.json"
    response = client_of(user).post("/simulations/import/", {"recipe": upload, "team": team.pk})
    return response.status_code, response.get("Location", "")


async def test_an_imported_recipe_reproduces_the_simulation_on_a_fresh_database(sim_world):
    client = await start(sim_world)
    await at_branch(client)
    await client.request("set_variable", name="varCustLevel", value="vip")
    await client.request("eval", expect="eval", expression="var fromConsole = 42")
    await client.step_until(lambda s: s["status"] == "final")
    await client.request("pause")  # saved
    simulation_id = started_id(client)
    await client.close()

    status, trace, disposition = await database_sync_to_async(download)(
        sim_world.owner, f"/simulations/{simulation_id}/trace.jsonl"
    )
    _, recipe, _ = await database_sync_to_async(download)(sim_world.owner, f"/simulations/{simulation_id}/recipe.json")
    imported, location = await database_sync_to_async(fresh_server_import)(recipe)
    new = await database_sync_to_async(Simulation.objects.select_related("version__project", "owner").get)()
    _, replayed, _ = await database_sync_to_async(download)(new.owner, f"/simulations/{new.pk}/trace.jsonl")

    records = [json.loads(line) for line in trace.decode().splitlines()]
    assert status == 200 and "trace.jsonl" in disposition
    assert json.loads(recipe)["format"] == FORMAT
    assert [r["type"] for r in records if r["type"] == "console"] == ["console", "console"]
    assert records[-1]["type"] in ("done", "datamodel", "clock", "macrostep")
    assert (imported, location) == (302, f"/simulations/{new.pk}/")
    assert new.version.project.name == "CRD (imported)"
    assert replayed == trace


async def test_a_bad_recipe_is_refused_with_its_problem(sim_world):
    def post(data: bytes) -> tuple[int, str]:
        upload = io.BytesIO(data)
        upload.name = "x.json"
        team = Team.objects.get(name="Routing")
        response = client_of(sim_world.owner).post("/simulations/import/", {"recipe": upload, "team": team.pk})
        return response.status_code, response.content.decode()

    not_json = await database_sync_to_async(post)(b"{oops")
    not_a_recipe = await database_sync_to_async(post)(json.dumps({"format": "x"}).encode())

    recipe = {"format": FORMAT, "project": "P", "entry": "a.scxml", "files": {"a.scxml": ""}, "fakes": {}}
    huge_seed = await database_sync_to_async(post)(json.dumps({**recipe, "seed": 2**40, "inputs": []}).encode())

    assert huge_seed[0] == 400 and "$.seed: 1099511627776 is greater than the maximum of 2147483647" in huge_seed[1]
    assert not_json[0] == 400 and "not JSON" in not_json[1]
    assert not_a_recipe[0] == 400 and "not a simulation recipe" in not_a_recipe[1]
    assert await database_sync_to_async(Simulation.objects.count)() == 0


async def test_an_outsider_cannot_download_a_simulations_trace_or_recipe(sim_world):
    client = await start(sim_world)
    await client.close()

    for suffix in ("trace.jsonl", "recipe.json"):
        status, _, _ = await database_sync_to_async(download)(
            sim_world.outsider, f"/simulations/{started_id(client)}/{suffix}"
        )
        assert status == 404
