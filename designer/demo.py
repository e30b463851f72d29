"""Demo content for `python manage.py seed` (the command itself belongs to the foundation).

`seed_demo_content(user)` creates, once, a "Demo team" owned by the demo user with two projects:

* **Starter strategy**: one version made from the starter template (`designer/starters/basic`);
* **VIP routing**: v1 is the starter, v2 adds a VIP check (a `session:fetch` to a customer API,
  answered by the fakes profile) with a greeting (`dialog:play`) and a VIP agent group, so the
  version timeline, the text diff and the visual diagram diff have something to show. v2 carries a
  review comment anchored at a file line and an active share link.

Idempotent: run.sh seeds on every start, so existing content is left alone.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from designer import history
from designer.models import Comment, Membership, Project, Role, ShareLink, Team, Version
from designer.starters import load_starter

DEMO_TEAM = "Demo team"
#: (name, description) of the demo projects
STARTER_PROJECT = (
    "Starter strategy",
    "An IPD with an event-handler leg and a routing workflow, from the starter template.",
)
VIP_PROJECT = ("VIP routing", "Looks the caller up in a CRM; VIPs hear a greeting and go to the VIP agent group.")

DEMO_CONTENT = Path(__file__).resolve().parent / "demo_content"
#: The VIP branch inserted into the starter workflow between Entry1 and RouteToAgent.
VIP_STATES = (DEMO_CONTENT / "vip_states.xml").read_text(encoding="utf-8")
VIP_FAKES = (DEMO_CONTENT / "vip_fakes.json").read_bytes()


def vip_routing_files(starter: dict[str, bytes]) -> dict[str, bytes]:
    """The starter project with the VIP branch added to its workflow."""
    files = dict(starter)
    main = files["src-gen/Main.scxml"].decode("utf-8")
    main = main.replace(
        'xmlns:ixn="http://www.genesyslab.com/modules/interaction"',
        'xmlns:ixn="http://www.genesyslab.com/modules/interaction"\n'
        '\t\txmlns:session="http://www.genesyslab.com/modules/session"\n'
        '\t\txmlns:dialog="http://www.genesyslab.com/modules/dialog"',
        1,
    )
    main = main.replace(
        "\t\t\t\tvar App_RouteToAgent = new Object();",
        "\t\t\t\tvar App_CheckVip = new Object();\n"
        "\t\t\t\tvar App_GreetVip = new Object();\n"
        "\t\t\t\tvar App_RouteToVipAgent = new Object();\n"
        "\t\t\t\tvar App_RouteToAgent = new Object();",
        1,
    )
    main = main.replace(
        '<transition target="$$_MY_PREFIX_$$.RouteToAgent"/>\n\t\t</state>\n',
        '<transition target="$$_MY_PREFIX_$$.CheckVip"/>\n\t\t</state>\n' + VIP_STATES,
        1,
    )
    files["src-gen/Main.scxml"] = main.encode("utf-8")
    files["fakes/vip.json"] = VIP_FAKES
    return files


def seed_demo_content(user: AbstractBaseUser) -> list[str]:
    """Create the demo team and projects for `user` if missing; return one line per thing created."""
    lines: list[str] = []
    with transaction.atomic():
        team, created = Team.objects.get_or_create(name=DEMO_TEAM)
        if created:
            lines.append(f"Created team {team.name!r}.")
        _, created = Membership.objects.get_or_create(team=team, user=user, defaults={"role": Role.OWNER})
        if created:
            lines.append(f"Made {user.get_username()} owner of {team.name!r}.")
        starter, entry = load_starter("basic")

        if _starter_project(team, user, STARTER_PROJECT, starter, entry) is not None:
            lines.append("Created project 'Starter strategy' (v1).")

        v1 = _starter_project(team, user, VIP_PROJECT, starter, entry)
        if v1 is not None:
            v2 = history.create_version(
                v1.project,
                vip_routing_files(starter),
                author=user,
                message="Add the VIP check, greeting and VIP agent group",
                parent=v1,
                entry=entry,
            )
            Comment.objects.create(
                version=v2,
                author=user,
                path="src-gen/Main.scxml",
                line=_line_of(v2.read_files()["src-gen/Main.scxml"], b'<state id="CheckVip">'),
                body="Should a CRM timeout really route as a normal call? Check with the business.",
            )
            ShareLink.objects.create(version=v2, created_by=user)
            lines.append("Created project 'VIP routing' (v1, v2 with a review comment and a share link).")
    return lines


def _starter_project(
    team: Team, user: AbstractBaseUser, demo: tuple[str, str], starter: dict[str, bytes], entry: str
) -> Version | None:
    """The v1 (the starter template) of a new project (name, description); None if the team has it."""
    name, description = demo
    if Project.objects.filter(team=team, name=name).exists():
        return None
    project = Project.objects.create(team=team, name=name, description=description, created_by=user)
    return history.create_version(
        project, starter, author=user, message="Created from the starter template", parent=None, entry=entry
    )


def _line_of(content: bytes, needle: bytes) -> int | None:
    """1-based line of the first occurrence of `needle`, or None."""
    index = content.find(needle)
    return content[:index].count(b"\n") + 1 if index >= 0 else None
