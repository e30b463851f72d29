"""Simulator pages: opening a simulation of a version, the list, the simulation page and its access rules."""

from __future__ import annotations

import pytest
from django.test import Client

from designer import history, layouts
from designer.layouts import keep_layout
from designer.models import DiagramLayout, DraftDiagramLayout, Membership, Project, Role, ShareLink, Version
from simulator.models import Simulation

from .conftest import MANUAL_SUBMIT, SimWorld, make_user

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


def layout_of(graph: dict) -> dict:
    """A layout of every state (nested as in the graph) and of each transition's first target."""
    states = {s["id"]: s for s in graph["states"]}

    def node(state_id: str) -> dict:
        children = [node(c) for c in states[state_id]["children"]]
        return {"id": f"n:{state_id}", "x": 0, "y": 0, "width": 10, "height": 10, "children": children}

    edges = [
        {"id": f"e:{t['id']}:0", "sections": [{"startPoint": {"x": 0, "y": 0}, "endPoint": {"x": 5, "y": 5}}]}
        for t in graph["transitions"]
        if t["targets"]
    ]
    return {"width": 10, "height": 10, "children": [node(graph["root"])], "edges": edges}


def foreign_layout_of(graph: dict) -> dict:
    """`layout_of(graph)` with a node of no state of the graph: not a layout of that document."""
    layout = layout_of(graph)
    layout["children"][0]["children"].append({"id": "n:not-a-state", "x": 0, "y": 0, "width": 1, "height": 1})
    return layout


def test_a_version_simulation_page_brings_its_graph_and_a_writers_layout_to_every_reader(sim_world):
    """The browser posts ELK's layout once (static/orchweb/diagram.js); the next pages of the
    version come with it, the poster's and (the poster being an owner) every reader's."""
    owner, teammate = client_for(sim_world.owner), client_for(sim_world.teammate)
    simulation = open_simulation(sim_world)
    Simulation.objects.create(owner=sim_world.teammate, version=sim_world.version)
    theirs = Simulation.objects.exclude(pk=simulation.pk).get()
    entry = sim_world.version.entry
    url = f"/api/versions/{sim_world.version.pk}/layout"

    first = owner.get(f"/simulations/{simulation.pk}/")
    graph = first.context["diagram"]["graph"]
    stored = owner.post(url, {"entry": entry, "key": "1abc.4567", "layout": layout_of(graph)}, "application/json")
    again = owner.get(f"/simulations/{simulation.pk}/")
    teammates_page = teammate.get(f"/simulations/{theirs.pk}/")

    assert graph == owner.get(f"/api/versions/{sim_world.version.pk}/graph").json()
    assert first.context["diagram"]["store"] == {"url": url, "entry": entry, "layout": None}
    assert b'id="simulation-diagram"' in first.content
    assert stored.status_code == 204
    served = again.context["diagram"]["store"]["layout"]
    assert served["key"] == "1abc.4567"
    assert served["result"]["children"][0]["id"] == f"n:{graph['root']}"
    # An owner may change the strategy itself: their layout is served to the viewer too.
    assert teammates_page.context["diagram"]["store"] == {"url": url, "entry": entry, "layout": served}
    # The version's diagram page draws it too (same graph, same ELK input).
    diagram_page = owner.get(f"/versions/{sim_world.version.pk}/diagram/")
    assert diagram_page.context["layout_store"]["layout"] == served
    assert b'id="diagram-layout-store"' in diagram_page.content


def served_key(user, version, entry) -> str | None:
    """The key of the layout a page of (version, entry) is served for `user`, or None."""
    layout = layouts.layout_store(user, version, entry)["layout"]
    return layout["key"] if layout else None


def test_a_readers_layout_is_served_to_that_reader_only(sim_world):
    version, entry = sim_world.version, sim_world.version.entry
    other_viewer = make_user("other-viewer")
    Membership.objects.create(team=sim_world.project.team, user=other_viewer, role=Role.VIEWER)
    graph = client_for(sim_world.teammate).get(f"/api/versions/{version.pk}/graph").json()

    posted = client_for(sim_world.teammate).post(
        f"/api/versions/{version.pk}/layout",
        {"entry": entry, "key": "viewers", "layout": layout_of(graph)},
        "application/json",
    )

    assert posted.status_code == 204
    assert served_key(sim_world.teammate, version, entry) == "viewers"
    assert served_key(other_viewer, version, entry) is None
    assert served_key(sim_world.owner, version, entry) is None
    assert served_key(sim_world.outsider, version, entry) is None
    # A writer's layout does not replace the viewer's own for the viewer; the others get the writer's.
    keep_layout(sim_world.owner, version, entry, "owners", {})
    assert served_key(sim_world.teammate, version, entry) == "viewers"
    assert served_key(other_viewer, version, entry) == "owners"


def test_a_layout_is_shared_while_its_poster_may_write_the_project(sim_world):
    version, entry, team = sim_world.version, sim_world.version.entry, sim_world.project.team
    editor = make_user("editor")
    membership = Membership.objects.create(team=team, user=editor, role=Role.EDITOR)
    keep_layout(editor, version, entry, "editors", {})
    # A writer of another team (the outsider owns "Elsewhere") is no writer of this project.
    Membership.objects.create(team=team, user=sim_world.outsider, role=Role.VIEWER)
    keep_layout(sim_world.outsider, version, entry, "outsiders", {})
    reader = sim_world.teammate

    assert served_key(reader, version, entry) == "editors"
    membership.role = Role.VIEWER
    membership.save()
    assert served_key(reader, version, entry) is None
    membership.role = Role.OWNER
    membership.save()
    assert served_key(reader, version, entry) == "editors"
    membership.delete()
    assert served_key(reader, version, entry) is None
    assert served_key(editor, version, entry) == "editors"  # still theirs, as any user's own layout
    # Of several writers, the latest post is served.
    Membership.objects.create(team=team, user=editor, role=Role.EDITOR)
    keep_layout(sim_world.owner, version, entry, "owners", {})
    assert served_key(reader, version, entry) == "owners"
    keep_layout(editor, version, entry, "editors-again", {})
    assert served_key(reader, version, entry) == "editors-again"


def test_a_share_links_visitor_is_served_a_writers_layout_and_keeps_none(sim_world):
    version, entry = sim_world.version, sim_world.version.entry
    link = ShareLink.objects.create(version=version, created_by=sim_world.owner)
    visitor = Client()
    visitor.get(f"/s/{link.token}/")

    before = visitor.get(f"/versions/{version.pk}/diagram/")
    keep_layout(sim_world.owner, version, entry, "owners", {})
    after = visitor.get(f"/versions/{version.pk}/diagram/")

    assert before.context["layout_store"] == {"url": None, "entry": entry, "layout": None}
    assert after.context["layout_store"] == {"url": None, "entry": entry, "layout": {"key": "owners", "result": {}}}


def test_a_posted_layout_is_refused_unless_it_lays_out_the_versions_graph_for_a_reader(sim_world):
    simulation = open_simulation(sim_world)
    owner = client_for(sim_world.owner)
    graph = owner.get(f"/simulations/{simulation.pk}/").context["diagram"]["graph"]
    url = f"/api/versions/{sim_world.version.pk}/layout"
    entry = sim_world.version.entry
    foreign = foreign_layout_of(graph)

    def post(client: Client, **body: object) -> int:
        data = {"entry": entry, "key": "1abc.4567", "layout": layout_of(graph), **body}
        return client.post(url, data, "application/json").status_code

    assert post(owner, layout=foreign) == 422
    assert post(owner, entry="fakes/manual-submit.json") == 422  # a document without this graph
    assert post(owner, entry="nope.scxml") == 422
    assert post(owner, key="<script>") == 400
    assert post(client_for(sim_world.outsider)) == 404
    assert post(Client()) == 401
    assert owner.post(url, b"{" + b'"a":' * 5000, "application/json").status_code == 400
    assert owner.get(f"/simulations/{simulation.pk}/").context["diagram"]["store"]["layout"] is None


def test_a_user_keeps_their_latest_layouts_only_and_a_repost_replaces(sim_world, monkeypatch):
    monkeypatch.setattr(layouts, "MAX_LAYOUTS_PER_USER", 2)
    owner, version = sim_world.owner, sim_world.version

    def kept(user) -> list[tuple[str, str]]:
        return list(DiagramLayout.objects.filter(user=user).order_by("pk").values_list("entry", "key"))

    keep_layout(sim_world.teammate, version, "a.scxml", "theirs", {})
    for entry in ("a.scxml", "b.scxml", "c.scxml"):
        keep_layout(owner, version, entry, "1", {})
    assert kept(owner) == [("b.scxml", "1"), ("c.scxml", "1")]
    keep_layout(owner, version, "b.scxml", "2", {})
    keep_layout(owner, version, "d.scxml", "1", {})
    assert kept(owner) == [("b.scxml", "2"), ("d.scxml", "1")]
    assert kept(sim_world.teammate) == [("a.scxml", "theirs")]


def test_the_layout_the_draft_editor_drew_becomes_the_saved_versions_shared_layout(sim_world):
    """The draft's diagram editor posts ELK's layout after each edit; saving the draft with that
    content gives the new version the author's layout, which its readers are served."""
    owner = client_for(sim_world.owner)
    project, entry = sim_world.project, sim_world.version.entry
    draft = history.get_or_start_draft(project, sim_world.owner)
    history.write_draft_file(draft, "notes.txt", b"edited")
    url = f"/api/projects/{project.pk}/draft/diagram-layout"
    graph = owner.get(f"/api/projects/{project.pk}/draft/graph").json()

    posted = owner.post(url, {"entry": entry, "key": "drafts", "layout": layout_of(graph)}, "application/json")
    page = owner.get(f"/projects/{project.pk}/draft/diagram/")
    version = history.save_draft(draft, "with the editor's layout")

    assert posted.status_code == 204
    assert page.context["layout_store"] == {
        "url": url,
        "entry": entry,
        "layout": {"key": "drafts", "result": layouts.clean_layout(layout_of(graph), graph)},
    }
    assert served_key(sim_world.owner, version, entry) == "drafts"
    assert served_key(sim_world.teammate, version, entry) == "drafts"


def test_a_draft_layout_of_other_content_is_neither_drawn_nor_given_to_the_version(sim_world):
    owner = client_for(sim_world.owner)
    project, entry = sim_world.project, sim_world.version.entry
    draft = history.get_or_start_draft(project, sim_world.owner)
    url = f"/api/projects/{project.pk}/draft/diagram-layout"
    graph = owner.get(f"/api/projects/{project.pk}/draft/graph").json()
    foreign = foreign_layout_of(graph)

    def post(client: Client, **body: object) -> int:
        data = {"entry": entry, "key": "drafts", "layout": layout_of(graph), **body}
        return client.post(url, data, "application/json").status_code

    assert post(owner, layout=foreign) == 422
    assert post(owner, entry="nope.scxml") == 422
    assert post(client_for(sim_world.teammate)) == 403  # a viewer has no draft
    assert post(owner) == 204
    # Edited after the layout was drawn: the layout is of other content.
    history.write_draft_file(draft, "notes.txt", b"edited later")
    page = owner.get(f"/projects/{project.pk}/draft/diagram/")
    version = history.save_draft(draft, "edited after the layout")

    assert page.context["layout_store"]["layout"] is None
    assert served_key(sim_world.owner, version, entry) is None
    assert not DiagramLayout.objects.filter(version=version).exists()


def test_a_user_keeps_the_layouts_of_their_latest_drafts_only(sim_world, monkeypatch):
    monkeypatch.setattr(layouts, "MAX_LAYOUTS_PER_USER", 2)
    team, owner = sim_world.project.team, sim_world.owner
    drafts = []
    for name in ("one", "two", "three"):
        project = Project.objects.create(team=team, name=name, created_by=owner)
        drafts.append(history.get_or_start_draft(project, owner))
        layouts.keep_draft_layout(drafts[-1], "a.scxml", name, {})
    layouts.keep_draft_layout(drafts[1], "b.scxml", "two-again", {})

    kept = DraftDiagramLayout.objects.order_by("pk").values_list("draft__project__name", "entry", "key")
    assert list(kept) == [("three", "a.scxml", "three"), ("two", "b.scxml", "two-again")]


def test_a_version_without_a_layout_is_offered_an_earlier_versions_nearest_first(sim_world):
    """designer.layouts.earlier_layout: the browser draws it only when its ELK input hashes to the
    key, so any trusted layout of the document may be offered; the nearest ancestor's first."""
    project, entry, owner, reader = sim_world.project, sim_world.version.entry, sim_world.owner, sim_world.teammate
    files = sim_world.version.read_files()

    def version_after(parent):
        return history.create_version(
            project, files, author=owner, message="again", parent=parent, entry=entry, check_parent=False
        )

    first = sim_world.version
    second = version_after(first)
    third = version_after(second)
    fourth = version_after(third)
    keep_layout(owner, second, entry, "second", {})
    keep_layout(owner, first, entry, "first", {})  # posted later, but further from the fourth

    def offered(user, version):
        layout = layouts.layout_store(user, version, entry)["layout"]
        return layout and (layout["key"], layout.get("earlier"))

    assert offered(reader, fourth) == ("second", True)
    assert offered(reader, third) == ("second", True)
    assert offered(reader, second) == ("second", None)  # its own: no "earlier" mark, nothing to post
    # With no ancestor that has one (a version uploaded without a parent): the latest posted.
    unrelated = version_after(fourth)
    Version.objects.filter(pk=unrelated.pk).update(parent=None)
    unrelated.refresh_from_db()
    assert offered(reader, unrelated) == ("first", True)
    # A reader's own layouts are offered to that reader only; other readers' never.
    keep_layout(reader, third, entry, "readers", {})
    assert offered(reader, fourth) == ("readers", True)
    assert offered(make_user("another-reader"), fourth) == ("second", True)
    # A writer who may no longer write the project is not offered, as for the version's own layouts.
    Membership.objects.filter(user=owner, team=project.team).update(role=Role.VIEWER)
    assert offered(sim_world.outsider, fourth) is None
    assert offered(reader, fourth) == ("readers", True)
