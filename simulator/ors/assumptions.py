"""``assumption`` records as text: what the fakes profile could not answer (CLI and summaries).

The records come from ``OrsPlatform.assume`` (``platform.assumptions`` keeps them for a summary;
``docs/trace.md`` describes the fields).  :func:`summary_lines` is what a text summary prints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def profile_path(fakes: Mapping[str, Any]) -> str:
    """The JSON path where the answer goes: ``$.lists.GLOBAL.OPM``, ``$.http.responses[+]``."""
    parts = "".join(f".{p}" if _IDENTIFIER.match(p) else f"[{json.dumps(p)}]" for p in fakes["path"])
    return "$" + parts + ("[+]" if fakes.get("append") else "")


def describe(assumption: Mapping[str, Any]) -> str:
    """``list value GLOBAL/OPM/greeting: assumed ""; answer it at $.lists.GLOBAL.OPM.greeting``."""
    asked = "/".join(str(v) for v in assumption["asked"].values())
    where = f" (line {assumption['line']})" if assumption.get("line") else ""
    used = json.dumps(assumption["used"], sort_keys=True)
    return f"{assumption['what']} {asked}{where}: assumed {used}; answer it at {profile_path(assumption['fakes'])}"


def summary_lines(assumptions: Iterable[Mapping[str, Any]]) -> list[str]:
    """Indented summary lines, one per assumption (none when nothing was assumed)."""
    found = list(assumptions)
    if not found:
        return []
    return [f"  assumed data ({len(found)}), add it to the fakes profile to decide it yourself:"] + [
        f"    {describe(a)}" for a in found
    ]
