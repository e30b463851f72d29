"""`python manage.py seed`: the demo user (a superuser, so Admin works in the demo) and demo content.

Idempotent: run.sh calls it on every start. The demo password is reset each time so the
credentials written in the README always work.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand
from django.db import transaction

from designer.demo import seed_demo_content

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-orchweb"


def ensure_demo_user() -> tuple[AbstractBaseUser, bool]:
    """Create or refresh the demo superuser; return it and whether it was created."""
    user, created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
    user.is_staff = True
    user.is_superuser = True
    user.is_active = True
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user, created


class Command(BaseCommand):
    help = "Create the demo user (demo / demo-orchweb) and the demo content. Safe to run again."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-content", action="store_true", help="only the demo user, no demo projects")

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            user, created = ensure_demo_user()
            lines = [] if options["no_content"] else seed_demo_content(user)
        self.stdout.write(f"{'Created' if created else 'Updated'} the demo user (superuser).")
        for line in lines:
            self.stdout.write(f"  {line}")
        self.stdout.write(self.style.SUCCESS(f"Demo login: username {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}"))
