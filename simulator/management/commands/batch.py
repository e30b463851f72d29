"""`python manage.py batch PROJECT --count N`: simulate N interactions and print a JSON summary
(logic in simulator.runners.batch)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulator.ors.project import ProjectError, load_project
from simulator.runners import batch
from simulator.runners.limits import Limits
from simulator.scxml.errors import DocumentError
from simulator.tasks import CeleryExecutor


class Command(BaseCommand):
    help = (
        "Run N interactions through a project's strategy on the virtual clock (varying ANI/DNIS/userdata/fakes "
        "settings with --vary) and print aggregated outcomes, targets, errors and coverage as JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", metavar="PROJECT_DIR_OR_ZIP")
        parser.add_argument("--count", type=int, required=True, metavar="N", help="number of interactions")
        parser.add_argument(
            "--fakes", default=None, metavar="F", help="fakes profile: a path inside the project or a file on disk"
        )
        parser.add_argument(
            "--vary",
            action="append",
            default=[],
            metavar="KEY=V1,V2",
            help='vary a fakes setting per interaction: KEY=V1,V2 (strings), KEY=[JSON values], KEY={"values":'
            ' [...], "weights": [...]} or a JSON object of such keys; KEY is ani, dnis, routepoint, media, udata or'
            " a dotted fakes path (queue.available, rules...); repeatable",
        )
        parser.add_argument("--seed", type=int, default=0, help="base seed (interaction i uses seed + i)")
        parser.add_argument("--entry", default=None, help="entry document (default: the project's IPD)")
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="local: processes (default: min(2, cpu) for N >= 400); celery: worker processes to plan chunks for",
        )
        parser.add_argument(
            "--executor",
            choices=["local", "celery"],
            default=None,
            help="where chunks run: this machine, or `celery -A orchweb worker` processes (default: the"
            " ORCHWEB_BATCH_EXECUTOR setting)",
        )
        parser.add_argument("--max-time", type=float, default=3600.0, help="virtual seconds per interaction at most")
        parser.add_argument("--no-coverage", action="store_true", help="skip coverage (faster: no trace)")

    def handle(self, *args: object, **options: Any) -> None:
        try:
            files = load_project(options["project"])
        except (ProjectError, OSError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        fakes = None
        if options["fakes"]:
            name = options["fakes"]
            try:
                raw = files[name] if name in files else Path(name).read_bytes()
                fakes = json.loads(raw)
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read fakes {name}: {exc}", returncode=2) from exc
        vary: dict[str, Any] = {}
        try:
            for text in options["vary"]:
                vary.update(batch.parse_vary_option(text))
            summary = batch.run_batch(
                files,
                options["count"],
                fakes=fakes,
                vary=vary,
                entry=options["entry"],
                seed=options["seed"],
                coverage=not options["no_coverage"],
                workers=options["workers"],
                max_time=options["max_time"],
                limits=Limits.from_settings(settings),
                executor=self.executor(options),
            )
        except (batch.BatchError, ProjectError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        except DocumentError as exc:
            raise CommandError("; ".join(f"{e.file}:{e.line}: {e.message}" for e in exc.errors), returncode=2) from exc
        self.stdout.write(json.dumps(summary, indent=2))

    def executor(self, options: dict[str, Any]) -> batch.ChunkExecutor | None:
        """The Celery executor when asked for (option or setting); None: run_batch's local default."""
        if (options["executor"] or settings.BATCH_EXECUTOR) != "celery":
            return None
        return CeleryExecutor(workers=options["workers"] or 2)
