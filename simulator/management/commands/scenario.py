"""`python manage.py scenario PROJECT [SCENARIO.json ...]`: run scenarios as regression tests
(logic in simulator.runners.scenarios; no Django needed there)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulator.ors.project import ProjectError, find_entry, load_project
from simulator.runners import scenarios
from simulator.runners.coverage import format_coverage
from simulator.runners.limits import Limits


class Command(BaseCommand):
    help = (
        "Run a project's scenarios (scenarios/*.json by default) headless on the virtual clock; prints a "
        "verdict per scenario and exits 1 if any fails (2 for unusable input)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", metavar="PROJECT_DIR_OR_ZIP", help="Composer project folder or .zip")
        parser.add_argument(
            "scenarios",
            nargs="*",
            metavar="SCENARIO.json",
            help="scenario files (paths inside the project, or files on disk); default: scenarios/*.json",
        )
        parser.add_argument("--entry", default=None, help="entry document (default: the project's IPD)")
        parser.add_argument("--junit", default=None, metavar="FILE", help="write a JUnit XML report to FILE")
        parser.add_argument(
            "--coverage", action="store_true", help="print state/transition coverage over all scenarios"
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            files = load_project(str(options["project"]))
            entry = str(options["entry"] or find_entry(files))
        except (ProjectError, OSError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        chosen = [str(s) for s in options["scenarios"]] or scenarios.project_scenarios(files)
        if not chosen:
            raise CommandError(f"{options['project']}: no scenarios/*.json and none given", returncode=2)
        limits = Limits.from_settings(settings)
        results = []
        for name in chosen:
            if name in files:
                text, source = files[name], name
            else:
                try:
                    text, source = Path(name).read_bytes(), name
                except OSError as exc:
                    raise CommandError(f"cannot read scenario {name}: {exc.strerror}", returncode=2) from exc
            result = scenarios.run_scenario(files, text, entry=entry, source=source, limits=limits)
            results.append(result)
            self.stdout.write(scenarios.format_result(result))
        failed = sum(1 for r in results if not r.passed)
        self.stdout.write(f"{len(results) - failed} passed, {failed} failed")
        if options["coverage"]:
            report = scenarios.suite_report(files, results, entry=entry)
            self.stdout.write(format_coverage(report["coverage"]))
        if options["junit"]:
            Path(str(options["junit"])).write_text(scenarios.junit_xml(results), encoding="utf-8")
        if failed:
            raise SystemExit(1)
