"""`python manage.py expire_simulations [--days N] [--dry-run]`: delete the simulations nobody
updated for N days (default ``SIMULATION_EXPIRE_DAYS``); logic in simulator.retention."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulator import retention


class Command(BaseCommand):
    help = "Delete stored simulations not updated for N days (default: the SIMULATION_EXPIRE_DAYS setting)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=float, default=None, help="age in days (default: the setting)")
        parser.add_argument("--dry-run", action="store_true", help="count them, delete nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        days = settings.SIMULATION_EXPIRE_DAYS if options["days"] is None else options["days"]
        if days < 0:
            raise CommandError("--days must be 0 (keep everything) or more")
        count = retention.expire(days=days, dry_run=options["dry_run"])
        verb = "would expire" if options["dry_run"] else "expired"
        kept = " (expiry is off: 0 days)" if not days else ""
        self.stdout.write(f"{count} simulations {verb}: not updated for {days:g} days{kept}")
