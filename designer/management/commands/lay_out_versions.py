"""`python manage.py lay_out_versions`: the server's diagram layouts of the versions that have none.

A version is laid out by the server when it is created (designer/serverlayouts.py), for the
diagram's bundled fonts and its project's members' browsers, so that its first open draws without
ELK in the browser. Versions made before that (or before migration 0006 deleted the stored
layouts), with ``ORCHWEB_DIAGRAM_SERVER_LAYOUTS=0``, or when the layout queue was full have none:
their first open runs ELK in the browser (~1 s on a 100-state chart) until a page view queues the
layout. This command lays them out now, in this process, with the code and tables a new version
gets (`serverlayouts.LayoutRun`, `tables_for`): the stored layouts are those the server would have
stored on upload.

By default the latest version of every project, the most recently changed first; `--all-versions`
every version (the newest first), `--project ID` (repeatable) only those projects, `--limit N` at
most N versions, `--dry-run` only lists them. Each layout is committed as it is stored, so an
interrupted run keeps its work, and a second run lays out only what is still missing (nothing
when it finished). A chart the server cannot lay out (its graph fails to build, or a label's
character is not in a table) is reported and skipped; its browser lays it out as before.

Runs inline in both deployments (embedded and with Celery workers): one ELK context in this
process, ~0.3 s to start, then ~0.1-3.3 s of CPU per layout (docs/performance.md).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from designer.serverlayouts import LayoutRun, versions_without_layouts


class Command(BaseCommand):
    help = (
        "Lay out, on the server, the diagrams of versions that have no stored layout (by default the latest "
        "version of every project), as a new version is laid out. Safe to run again."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--all-versions", action="store_true", help="every version, not only each project's latest")
        parser.add_argument("--project", type=int, action="append", metavar="ID", help="only this project (repeatable)")
        parser.add_argument("--limit", type=int, metavar="N", help="lay out at most N versions (run again to go on)")
        parser.add_argument("--dry-run", action="store_true", help="list the versions that would be laid out")

    def handle(self, *args: Any, **options: Any) -> None:
        limit: int | None = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1")
        dry_run: bool = options["dry_run"]
        pending = versions_without_layouts(options["all_versions"], options["project"])
        versions = layouts = failed = 0
        limited = False
        with LayoutRun() as run:
            for version, tables in pending:
                if limit is not None and versions >= limit:
                    limited = True
                    break
                versions += 1
                name = f"{version.project.name} v{version.number} ({version.entry}, version {version.pk})"
                if dry_run:
                    self.stdout.write(f"{name}: {_tables(len(tables))} to lay out")
                    layouts += len(tables)
                    continue
                started = time.monotonic()
                try:
                    stored = run.lay_out(version, version.entry, tables)
                except DatabaseError:
                    raise
                except Exception as exc:  # a chart whose graph cannot be built: the next version still runs
                    failed += 1
                    self.stderr.write(f"{name}: not laid out: {type(exc).__name__}: {str(exc)[:300]}")
                    continue
                layouts += stored
                took = f"{time.monotonic() - started:.1f} s"
                if stored == len(tables):
                    self.stdout.write(f"{name}: {_tables(stored)} laid out in {took}")
                else:
                    self.stdout.write(
                        f"{name}: {stored} of {_tables(len(tables))} laid out in {took} (the others' browsers "
                        "lay it out themselves: a character without a width, or a limit; see the log)"
                    )
        if dry_run:
            summary = f"{versions} version(s) to lay out ({_tables(layouts)}); nothing stored (--dry-run)."
        elif versions == 0:
            summary = "Nothing to lay out: every version asked for has its layouts."
        else:
            summary = f"{versions} version(s) laid out: {layouts} layout(s) stored" + (
                f", {failed} version(s) not laid out." if failed else "."
            )
        if limited:
            summary += f" Stopped at --limit {limit}: run it again to go on."
        self.stdout.write(self.style.SUCCESS(summary) if not failed else summary)


def _tables(count: int) -> str:
    return f"{count} layout" + ("" if count == 1 else "s")
