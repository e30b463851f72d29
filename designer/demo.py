"""Demo content for `python manage.py seed` (owned by the designer engineer).

`seed_demo_content(user)` is called by the seed command after the demo user exists. It must be
idempotent: run.sh seeds on every start.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser


def seed_demo_content(user: AbstractBaseUser) -> list[str]:
    """Create the demo teams/projects for `user` if missing; return one line per thing created.

    Empty for now: the designer engineer fills it with the demo projects.
    """
    return []
