"""Template context of every page (TEMPLATES' context processors, orchweb/settings.py)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.http import HttpRequest

from designer.layouts import page_font_report


def font_report(request: HttpRequest) -> dict[str, Any]:
    """base.html's `font_report` (designer.layouts.page_font_report): a callable, so that only a
    page that renders base.html's body looks it up (an error page or a fragment does not)."""
    return {"font_report": partial(page_font_report, request)}
