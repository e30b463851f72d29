#!/usr/bin/env python
"""Diagram benchmark: how long the browser takes to draw the largest shared sample's diagram.

    .venv/bin/python bench/diagram.py               # 5 cold and 5 cached loads per document
    .venv/bin/python bench/diagram.py --runs 3

Setup (outside the measurement): a fresh SQLite database in a temporary folder, one user, the
sample project ``../shared/ors-samples/crd-gvp-wf`` as a version, one Daphne process
(tests/servers.py, test settings) and headless /usr/bin/chromium driven by Playwright.

For each runnable document of the sample (the diagram page's `?entry=`), each run opens the
version's diagram page in a fresh browser context (so the layout cache is empty: ELK runs in its
Web Worker) and then reloads it (drawn from the tab's layout cache). Printed per document (one
JSON line): the drawn state count, and medians over the runs of

- ``ready_ms``: navigation start -> the diagram drawn (page, graph API, ELK, SVG);
- ``layout_ms``: the view's own measure -> lay out -> draw (`el.dataset.layoutMs`);
- ``longest_task_ms``: the longest main-thread task while loading (Long Tasks API): how long
  the page could not answer input;

for the cold (``worker``) and the cached (``cache``) load. Prints; never asserts. Figures depend
on the machine's load: quote ``uptime`` with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("ORCHWEB_SHARED", ROOT.parent / "shared"))
SAMPLE = SHARED / "ors-samples" / "crd-gvp-wf"
CHROMIUM = "/usr/bin/chromium"

# Collects the page's long tasks (> 50 ms on the main thread) from the first byte on.
LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longTasks.push(e.duration);
}).observe({ type: "longtask", buffered: true });
"""


def prepare(database: Path) -> dict[str, Any]:
    """Migrate a fresh database; one user owning the sample as a version; its session cookie."""
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from designer import history
    from designer.models import Membership, Project, Role, Team
    from simulator.ors.project import find_entry, load_project
    from simulator.ors.projectfiles import entry_candidates

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="pw-bench-diagram-1")
    team = Team.objects.create(name="bench team")
    Membership.objects.create(team=team, user=user, role=Role.OWNER)
    project = Project.objects.create(team=team, name="CRD", created_by=user)
    files = load_project(SAMPLE)
    version = history.create_version(
        project, files, author=user, message="sample", parent=None, entry=find_entry(files)
    )
    client = Client()
    client.force_login(user)
    return {
        "version": version.pk,
        "entries": entry_candidates(files, version.entry),
        "cookie": client.cookies["sessionid"].value,
    }


def load(page: Any, url: str) -> dict[str, Any]:
    """Open (or reload) the diagram page; the figures of this load."""
    if page.url == url:
        page.reload()
    else:
        page.goto(url)
    page.wait_for_function("document.body.dataset.diagramReady === '1'", timeout=120_000)
    return page.evaluate(
        """() => {
          const el = document.getElementById("diagram");
          const nav = performance.getEntriesByType("navigation")[0];
          return {
            ready_ms: performance.now() - (nav ? nav.startTime : 0),
            layout_ms: Number(el.dataset.layoutMs),
            source: el.dataset.layoutSource,
            states: Number(el.dataset.stateCount),
            longest_task_ms: Math.max(0, ...window.__longTasks),
          };
        }"""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="cold + cached loads per document")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.servers import daphne_server

    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "diagram.sqlite3"
        env = prepare(database)
        print(f"one Daphne process, {os.cpu_count()} CPUs, load average {os.getloadavg()}", flush=True)
        server_env = {"DATABASE_URL": f"sqlite:///{database}"}
        with daphne_server("diagram-bench", server_env) as server, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            host = server.url.split("//", 1)[1].split(":")[0]
            for entry in env["entries"]:
                url = f"{server.url}/versions/{env['version']}/diagram/?entry={quote(entry)}"
                runs: dict[str, list[dict[str, Any]]] = {"worker": [], "cache": []}
                for _ in range(args.runs):
                    context = browser.new_context(viewport={"width": 1400, "height": 900})
                    context.add_cookies([{"name": "sessionid", "value": env["cookie"], "domain": host, "path": "/"}])
                    context.add_init_script(LONG_TASKS)
                    page = context.new_page()
                    for _pass in ("cold", "cached"):
                        figures = load(page, url)
                        runs[figures["source"]].append(figures)
                    context.close()
                line: dict[str, Any] = {"document": entry, "states": runs["worker"][0]["states"]}
                for source, loads in runs.items():
                    for key in ("ready_ms", "layout_ms", "longest_task_ms"):
                        line[f"{source}_{key}"] = round(statistics.median(x[key] for x in loads)) if loads else None
                print(json.dumps(line), flush=True)
            browser.close()


if __name__ == "__main__":
    main()
