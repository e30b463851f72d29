"""`python manage.py simulate PATH...`: headless runs on the virtual clock (logic in simulator.runners.headless)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulator.runners import headless
from simulator.runners.limits import Limits


class Command(BaseCommand):
    help = (
        "Run SCXML documents headless on the virtual clock. Prints trace records (jsonl or text) and one "
        "summary line per document; exit status 2 on definition errors."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="SCXML documents (run one after another)")
        parser.add_argument("--profile", default="w3c", choices=sorted(headless.PROFILES), help="dialect profile")
        parser.add_argument(
            "--inject",
            action="append",
            default=[],
            metavar="NAME[:JSON][@SECONDS]",
            help="external event to inject (optionally with JSON data, at a virtual time); repeatable",
        )
        parser.add_argument("--max-time", type=float, default=None, metavar="S", help="virtual seconds to run at most")
        parser.add_argument("--format", choices=["jsonl", "text"], default="jsonl", help="output format")
        parser.add_argument("--seed", type=int, default=0, help="seed for session ids (same seed, same trace)")
        # ORS dialect (headless.run_ors_paths): PATH is a Composer project folder, .zip or .scxml.
        parser.add_argument("--entry", default=None, help="ors: entry document in the project (default: its IPD)")
        parser.add_argument("--fakes", default=None, metavar="FILE.json", help="ors: fakes profile (docs/fakes.md)")

    def options_for_run(self, options: dict) -> dict:
        """Keyword arguments for headless.run_paths; dialect commands extend this."""
        try:
            injections = [headless.parse_inject(text) for text in options["inject"]]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        return {
            "profile": options["profile"],
            "injections": injections,
            "max_time": options["max_time"],
            "seed": options["seed"],
            "limits": Limits.from_settings(settings),
        }

    def handle(self, *args: object, **options: object) -> None:
        run_options = self.options_for_run(options)
        if options["profile"] == "ors":
            status = headless.run_ors_paths(
                options["paths"],
                self.stdout,
                fmt=options["format"],
                entry=options["entry"],
                fakes=options["fakes"],
                injections=run_options["injections"],
                max_time=run_options["max_time"],
                seed=run_options["seed"],
                limits=run_options["limits"],
            )
            if status:
                raise SystemExit(status)
            return
        status = headless.run_paths(options["paths"], self.stdout, fmt=options["format"], **run_options)
        if status:
            raise SystemExit(status)
