"""Starter templates for new projects: folders of files in Composer's project layout.

`basic/` is an IPD (application leg + event-handler leg) that includes a workflow routing the
interaction to an agent group, with a default route on failure, plus a fakes profile and a
scenario. Written for orchweb (not copied from any Composer project).
"""

from __future__ import annotations

from pathlib import Path

STARTER_DIR = Path(__file__).resolve().parent

#: name -> (label, entry document) of each starter; "empty" starts with no files.
STARTERS: dict[str, tuple[str, str]] = {
    "basic": ("IPD + routing workflow (queue:submit to an agent group)", "src-gen/IPD_default_Starter.scxml"),
    "empty": ("Empty project (add files in a draft)", ""),
}


def load_starter(name: str) -> tuple[dict[str, bytes], str]:
    """Files (path -> bytes) and entry document of a starter; KeyError for an unknown name."""
    if name not in STARTERS:
        raise KeyError(name)
    folder = STARTER_DIR / name
    if not folder.is_dir():
        return {}, STARTERS[name][1]
    files = {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()
    }
    return files, STARTERS[name][1]
