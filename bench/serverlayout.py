#!/usr/bin/env python
"""The server's CPU per diagram layout (designer/elk.py): not a test, prints figures.

    .venv/bin/python bench/serverlayout.py [--runs 3]

For each chart of bench/layout.py (the ORS samples, shared/bench's charts, the bench chain): this
process's CPU time (`time.process_time`) to build ELK's input with diagram.js's builder and lay
it out with elkjs, both in QuickJS, as a new version's background layout does for one font table
(designer/serverlayouts.py); the median of `--runs`, after one warm-up layout in the same context.
Also the context's start (ELK's and the diagram's scripts loaded: paid once per version laid out)
and its memory after the layouts. The table is a fixed width for every character: the cost does
not depend on the widths' values.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BOLD = 'bold 12px "Orchweb Diagram Sans", "DejaVu Sans", "Liberation Sans", Arial, sans-serif'
SMALL = '10.5px "Orchweb Diagram Sans", "DejaVu Sans", "Liberation Sans", Arial, sans-serif'
CHARS = ["\u21ba", "\u2026", *(chr(c) for c in range(0x20, 0x7F)), *(chr(c) for c in range(0xA0, 0x180))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchweb.settings")
    import django

    django.setup()
    from layout import charts

    from designer.elk import ServerElk

    table = {font: dict.fromkeys(CHARS, 7.25) for font in (BOLD, SMALL)}
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    started = time.process_time()
    elk = ServerElk()
    print(f"context start (ELK's and diagram.js's scripts): {1000 * (time.process_time() - started):.0f} ms CPU")
    try:
        for name, graph in charts().items():
            elk.layout(graph, table)  # warm-up
            times = []
            for _ in range(args.runs):
                started = time.process_time()
                elk.layout(graph, table)
                times.append(time.process_time() - started)
            print(
                f"{name} ({len(graph['states'])} states, {len(graph['transitions'])} transitions): "
                f"{1000 * statistics.median(times):.0f} ms CPU per layout"
            )
        print(f"context memory after: {elk.ctx.memory()['malloc_size'] / 2**20:.1f} MiB")
    finally:
        elk.close()
    load = os.getloadavg()
    print(f"load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
