"""A failing scenario opens in the simulator: a read-only replay of its timeline (the Tests tab's
"Failing record" link), who may open one, what it costs the user, and the socket's refusals."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from designer import history, scenario_suite
from designer.models import Version
from simulator import retention, scenario_replays, sessions
from simulator.models import Simulation
from simulator.runners.scenarios import run_scenario
from tests.simulator.client import SimClient
from tests.simulator.conftest import ORIGIN

from .conftest import World, build_world
from .test_scenarios_tab import BROKEN_SUBMIT, SUBMIT, break_draft

SCENARIO = "scenarios/route-to-agent.json"


def broken_version(world: World) -> Version:
    """v3: the starter with the submit timeout the scenario's outcome assertion fails on."""
    files = {p: c.replace(SUBMIT, BROKEN_SUBMIT) for p, c in world.v2.read_files().items()}
    return history.create_version(world.project, files, author=world.owner, message="Broken", parent=world.v2)


def failing_record(files: dict[str, bytes], entry: str) -> int:
    report = scenario_suite.run_suite(files, entry, [SCENARIO])
    record = report["results"][0]["record"]
    assert isinstance(record, int)
    return record


def config_of(page: str) -> dict:
    start = page.index('<script id="simulation-config" type="application/json">') + len(
        '<script id="simulation-config" type="application/json">'
    )
    return json.loads(page[start : page.index("</script>", start)])


@pytest.mark.django_db
def test_a_viewer_opens_a_failing_version_scenario_in_the_simulator_at_its_record(world: World) -> None:
    v3 = broken_version(world)
    record = failing_record(v3.read_files(), v3.entry)
    client = world.client_for("viewer")
    response = client.get(f"/versions/{v3.pk}/tests/replay/", {"scenario": SCENARIO, "record": record})
    simulation = Simulation.objects.get(owner=world.viewer)
    assert response.status_code == 302
    assert response["Location"] == f"/simulations/{simulation.pk}/?record={record}"
    assert (simulation.version, simulation.scenario, simulation.files) == (v3, SCENARIO, {})
    page = client.get(response["Location"]).content.decode()
    config = config_of(page)
    assert config["readonly"] is True
    assert config["replay"] == {
        "scenario": SCENARIO,
        "label": f"{SCENARIO} on {v3.label}",
        "record": record,
        "tests": f"/versions/{v3.pk}/tests/",
    }
    assert "(read-only)" in page and 'id="sim-shared"' not in page
    assert "New live simulation with fakes/default.json" in page  # to experiment: an ordinary one
    live = client.post(f"/versions/{v3.pk}/simulate/", {"fakes": "fakes/default.json", "entry": config["entry"]})
    assert live.status_code == 302 and Simulation.objects.get(owner=world.viewer, scenario="").files == {}
    # the replay is the verdict's run, record for record
    runtime = sessions.build_runtime(simulation)
    verdict = run_scenario(v3.read_files(), v3.read_files()[SCENARIO], entry=v3.entry, source=SCENARIO)
    assert [(r["seq"], r["type"]) for r in runtime.records] == [(r["seq"], r["type"]) for r in verdict.trace]
    assert runtime.snapshot()["outcome"].get("target") != "7042@SIPSwitch.DN"  # the default route
    runtime.close()


@pytest.mark.django_db
def test_a_draft_replay_is_the_drafts_files_as_they_were_and_its_owners_only(world: World) -> None:
    break_draft(world)
    draft = history.get_or_start_draft(world.project, world.editor)
    record = failing_record(draft.read_files(), draft.entry)
    editor = world.client_for("editor")
    response = editor.get(f"/projects/{world.project.pk}/draft/tests/replay/", {"scenario": SCENARIO, "record": record})
    assert response.status_code == 302
    simulation = Simulation.objects.get(owner=world.editor)
    assert simulation.files == draft.file_map() and simulation.version == draft.base
    page = editor.get(response["Location"]).content.decode()
    assert 'id="sim-replay-live"' not in page  # the draft's files are no version to simulate
    config = config_of(page)
    assert config["replay"]["tests"] == f"/projects/{world.project.pk}/draft/tests/"
    assert config["urls"]["graph"] == f"/api/projects/{world.project.pk}/draft/graph"
    # fixing the draft afterwards does not change what the replay shows
    history.write_draft_file(draft, "scenarios/other.json", b"{}")
    runtime = sessions.build_runtime(Simulation.objects.get(pk=simulation.pk))
    assert runtime.records[-1]["seq"] == record and "scenarios/other.json" not in runtime.files
    runtime.close()
    # another member may neither open the editor's replay nor replay a draft they cannot edit
    assert world.client_for("owner").get(response["Location"]).status_code == 403
    viewer = world.client_for("viewer").get(f"/projects/{world.project.pk}/draft/tests/replay/", {"scenario": SCENARIO})
    assert viewer.status_code in (403, 404)
    assert not Simulation.objects.filter(owner=world.viewer).exists()


@pytest.mark.django_db
def test_outsiders_and_share_links_cannot_replay_and_unknown_scenarios_are_refused(world: World) -> None:
    url = f"/versions/{world.v1.pk}/tests/replay/"
    assert world.client_for("outsider").get(url, {"scenario": SCENARIO}).status_code == 404
    # a share link reads the verdicts, but a replay runs the scenario and stores a simulation
    shared = world.client_for("share").get(f"/versions/{world.v2.pk}/tests/replay/", {"scenario": SCENARIO})
    assert shared.status_code == 403 and "Only team members can replay scenarios." in shared.content.decode()
    missing = world.client_for("viewer").get(url, {"scenario": "scenarios/nope.json"})
    assert missing.status_code == 404 and "No scenario &#x27;scenarios/nope.json&#x27;" in missing.content.decode()
    assert not Simulation.objects.exists()


@pytest.mark.django_db
def test_replays_are_reused_bounded_apart_and_do_not_use_the_stored_simulation_cap(
    world: World, settings, monkeypatch
) -> None:
    settings.SIMULATION_MAX_STORED_PER_USER = 1
    Simulation.objects.create(owner=world.editor, version=world.v1)
    editor = world.client_for("editor")
    url = f"/versions/{world.v1.pk}/tests/replay/"
    first = editor.get(url, {"scenario": SCENARIO})
    again = editor.get(url, {"scenario": SCENARIO, "record": 3})
    assert first.status_code == again.status_code == 302
    assert again["Location"] == first["Location"] + "?record=3"  # the same replay, reopened
    with pytest.raises(retention.TooManyStored):  # the cap counts the one ordinary simulation only
        retention.check_room(world.editor)
    monkeypatch.setattr(scenario_replays, "MAX_REPLAYS", 1)
    assert editor.get(f"/versions/{world.v2.pk}/tests/replay/", {"scenario": SCENARIO}).status_code == 302
    replays = Simulation.objects.filter(owner=world.editor).exclude(scenario="")
    assert [s.version for s in replays] == [world.v2]  # the oldest replay made room
    assert Simulation.objects.filter(owner=world.editor, scenario="").count() == 1
    listed = editor.get("/simulations/").content.decode()
    assert f"replay of <code>{SCENARIO}</code>" in listed


def headers_of(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [*ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


@pytest.mark.django_db(transaction=True)
async def test_a_replay_socket_refuses_changes_but_rewinds_back_and_forth_along_the_whole_timeline() -> None:
    def prepare() -> tuple[int, int, list, int]:
        world = build_world()
        v3 = broken_version(world)
        simulation = scenario_replays.open_replay(world.viewer, SCENARIO, version=v3)
        other = Simulation.objects.create(owner=world.owner, version=v3, scenario=SCENARIO)
        return simulation.pk, simulation.log_length, headers_of(world.viewer), other.pk

    sim_id, length, headers, others_replay = await database_sync_to_async(prepare)()
    client, connected, _ = await SimClient.open(f"/ws/simulations/{sim_id}/", headers)
    assert connected
    hello = await client.until("hello")
    assert (hello["role"], hello["readonly"]) == ("replay", True)
    end = (await client.until("snapshot"))["seq"]
    for action, fields in (("step", {"unit": "macrostep"}), ("inject", {"kind": "hangup"}), ("restart", {})):
        refused = await client.request(action, **fields)
        assert refused["type"] == "error" and refused["message"].startswith("read-only: this is a scenario's replay")
    middle = await client.request("rewind", seq=12)
    assert middle["type"] == "snapshot" and 12 <= middle["seq"] < end
    assert max(r["seq"] for r in client.records) == middle["seq"]
    back = await client.request("rewind", seq=end)  # forward again: the timeline was not truncated
    assert back["seq"] == end and back["op_seqs"] == middle["op_seqs"]
    await client.close()
    row = await database_sync_to_async(Simulation.objects.get)(pk=sim_id)
    assert row.log_length == length
    # someone else's replay is not theirs to watch (replays are never shared)
    code, frame = await SimClient.refusal(f"/ws/simulations/{others_replay}/", headers)
    assert code == 4403 and frame["fatal"] is True
