"""`python manage.py seed`: the demo user (a superuser, so Admin works in the demo) and demo content.

Idempotent: run.sh calls it on every start. The demo user is created only when missing: a password
changed since is kept (run.sh never resets it). With DEBUG off it refuses to create a user with a
published password unless asked explicitly (`--demo-user`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from designer import serverlayouts
from designer.demo import seed_demo_content

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-orchweb"


def ensure_demo_user() -> tuple[AbstractBaseUser, bool]:
    """The demo superuser, created with the demo password when missing; and whether it was created."""
    users = get_user_model().objects
    user = users.filter(username=DEMO_USERNAME).first()
    if user is not None:
        return user, False
    return users.create_superuser(username=DEMO_USERNAME, email="", password=DEMO_PASSWORD), True


class Command(BaseCommand):
    help = "Create the demo user (demo / demo-orchweb) and the demo content. Safe to run again."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-content", action="store_true", help="only the demo user, no demo projects")
        parser.add_argument(
            "--demo-user",
            action="store_true",
            help="create the demo superuser even with DEBUG off (its password is public: never on a shared server)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        exists = get_user_model().objects.filter(username=DEMO_USERNAME).exists()
        if not settings.DEBUG and not exists and not options["demo_user"]:
            raise CommandError(
                f"DEBUG is off: refusing to create the demo superuser {DEMO_USERNAME!r}, whose password is "
                "published. Create your own with `manage.py createsuperuser`, or pass --demo-user to seed anyway."
            )
        with transaction.atomic():
            user, created = ensure_demo_user()
            lines = [] if options["no_content"] else seed_demo_content(user)
        # The new versions' layouts (designer/serverlayouts.py: for the diagram's bundled fonts)
        # are queued on this process's layout thread, which would die with the command: waited for,
        # so the demo's first opens draw at once (~0.5 s a version; nothing when nothing was made).
        serverlayouts.wait_local()
        if created:
            self.stdout.write("Created the demo user (superuser).")
        else:
            self.stdout.write("The demo user exists; its password was left as it is.")
        for line in lines:
            self.stdout.write(f"  {line}")
        if created:
            message = f"Demo login: username {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}"
        else:
            message = f"Demo login: username {DEMO_USERNAME!r} (password {DEMO_PASSWORD!r} unless it was changed)"
        self.stdout.write(self.style.SUCCESS(message))
