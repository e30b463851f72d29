#!/usr/bin/env python
"""Writes designer/diagram_font_table.json: the character widths chromium measures for the
diagram's fonts with the bundled web fonts (static/orchweb/fonts, diagram-fonts.css), as
`Diagram.fontTable()` reports them. The server lays every new version out for this table
(designer/serverlayouts.py, BUNDLED_TABLE), so a browser that loads the bundled fonts draws a
version's first open without running ELK. Run it after changing the fonts or the diagram's font
strings; tests/e2e/test_server_layout.py fails when chromium's widths and the file differ.

    .venv/bin/python scripts/diagram_font_table.py
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static" / "orchweb"
TABLE = ROOT / "designer" / "diagram_font_table.json"


def font_faces() -> str:
    """diagram-fonts.css's @font-face rules, their fonts inlined (the page is not served)."""
    css = (STATIC / "diagram-fonts.css").read_text(encoding="utf-8")
    faces = re.findall(r"@font-face\s*\{[^}]*\}", css)

    def inline(match: re.Match[str]) -> str:
        data = base64.b64encode((STATIC / match["path"]).read_bytes()).decode()
        return f'url("data:font/woff2;base64,{data}")'

    return "\n".join(re.sub(r'url\("(?P<path>[^"]+)"\)', inline, face) for face in faces)


def measure() -> dict[str, dict[str, float]]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        try:
            page = browser.new_page()
            page.set_content(f"<!doctype html><html><head><style>{font_faces()}</style></head><body></body></html>")
            page.add_script_tag(path=str(STATIC / "diagram.js"))
            table: dict[str, dict[str, float]] = page.evaluate("Diagram.fontsReady().then(() => Diagram.fontTable())")
            loaded = page.evaluate("[...document.fonts].map((f) => f.status)")
            if loaded != ["loaded", "loaded"]:
                raise SystemExit(f"the bundled fonts did not load: {loaded}")
            return table
        finally:
            browser.close()


def main() -> None:
    table = measure()
    TABLE.write_text(json.dumps(table, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(
        f"{TABLE.relative_to(ROOT)}: {', '.join(f'{font}: {len(widths)} characters' for font, widths in table.items())}"
    )


if __name__ == "__main__":
    main()
