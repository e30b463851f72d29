"""Version history operations: create versions, work in drafts, save them, diff versions.

These are the only functions that write `Version`, `VersionFile`, `Draft` and `DraftFile` rows;
views and the API call them, so the stale-parent rule and content addressing live in one place.
"""

from __future__ import annotations

import bisect
import difflib
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery

from designer import serverlayouts
from designer.authoring.blocks import new_document
from designer.importing import (
    NoSuchFile,
    StateConflict,
    UploadError,
    check_files,
    check_xml,
    choose_entry,
    clean_path,
    max_file_bytes,
    text_of,
)
from designer.layouts import adopt_draft_layout
from designer.models import Blob, Draft, DraftFile, Project, Version, VersionFile


class StaleParentError(Exception):
    """Saving on top of a version that is no longer the latest: refused, nothing is lost."""

    def __init__(self, project: Project, parent: Version | None, latest: Version | None) -> None:
        self.parent = parent
        self.latest = latest
        parent_label = parent.label if parent else "no version"
        latest_label = latest.label if latest else "no version"
        author = latest.author.get_username() if latest and latest.author else "someone"
        super().__init__(
            f"Conflict: this work is based on {parent_label} but {author} has since saved {latest_label} "
            f"of {project.name}. Nothing was overwritten and your draft is kept: rebase it on "
            f"{latest_label} (your files are kept) and save again."
        )


def create_version(
    project: Project,
    files: Mapping[str, bytes],
    *,
    author: AbstractBaseUser | None,
    message: str,
    parent: Version | None,
    entry: str = "",
    check_parent: bool = True,
) -> Version:
    """Store `files` as the project's next version; refuse (StaleParentError) if `parent` is stale.

    `check_parent=False` appends on top of whatever is latest (used for uploads that explicitly
    ask to replace the project's content, and for the first version).
    """
    check_files(files)
    entry = entry or choose_entry(files).path
    if entry and entry not in files:
        raise UploadError(f"The entry document {entry!r} is not one of the project's files.")
    try:
        with transaction.atomic():
            # Lock the project row so two concurrent saves are serialised (PostgreSQL; SQLite
            # serialises writers anyway) and the stale check below cannot race.
            Project.objects.select_for_update().filter(pk=project.pk).first()
            latest = project.latest_version
            if check_parent and (latest.pk if latest else None) != (parent.pk if parent else None):
                raise StaleParentError(project, parent, latest)
            version = Version.objects.create(
                project=project,
                number=(latest.number + 1) if latest else 1,
                parent=latest,
                author=author,
                message=message.strip(),
                entry=entry,
            )
            VersionFile.objects.bulk_create(
                VersionFile(version=version, path=path, blob=Blob.store(content))
                for path, content in sorted(files.items())
            )
            # Laid out for the project's members' browsers once committed (designer/serverlayouts.py).
            transaction.on_commit(lambda: serverlayouts.schedule(version))
    except IntegrityError as exc:
        # Another save took the same version number between our check and our insert.
        raise StaleParentError(project, parent, project.latest_version) from exc
    return version


def latest_versions(projects: Iterable[Project]) -> dict[int, Version]:
    """Project id -> latest version of each project, in two queries whatever their number."""
    newest = Version.objects.filter(project=OuterRef("pk")).order_by("-number").values("pk")[:1]
    rows = Project.objects.filter(pk__in=[p.pk for p in projects]).annotate(latest=Subquery(newest))
    versions = Version.objects.select_related("author").in_bulk([row.latest for row in rows if row.latest])
    return {version.project_id: version for version in versions.values()}


def get_or_start_draft(project: Project, user: AbstractBaseUser, base: Version | None = None) -> Draft:
    """The user's draft of the project, started from `base` (default: latest version) if none."""
    draft = Draft.objects.filter(project=project, user=user).first()
    if draft is not None:
        return draft
    return reset_draft(project, user, base if base is not None else project.latest_version)


def reset_draft(project: Project, user: AbstractBaseUser, base: Version | None) -> Draft:
    """Replace the user's draft by a fresh copy of `base` (or an empty draft)."""
    with transaction.atomic():
        Draft.objects.filter(project=project, user=user).delete()
        draft = Draft.objects.create(project=project, user=user, base=base, entry=base.entry if base else "")
        if base is not None:
            DraftFile.objects.bulk_create(
                DraftFile(draft=draft, path=row.path, blob_id=row.blob_id) for row in base.files.all()
            )
    return draft


def rebase_draft(draft: Draft) -> Draft:
    """Move the draft's base to the latest version, keeping the draft's files as they are.

    After a conflict the user reviews the diff against the latest version and saves again; the
    draft's content wins for every path it has.
    """
    draft.base = draft.project.latest_version
    draft.save(update_fields=["base", "updated_at"])
    return draft


def write_draft_file(draft: Draft, path: str, content: bytes) -> DraftFile:
    """Create or replace one file of the draft (path is validated; XML need not be well-formed).

    A new empty `.scxml` file starts as an empty ORS strategy (the SCXML root with the Genesys
    namespaces), so blocks can be added to it on the diagram without typing XML."""
    path = clean_path(path)
    if len(content) > max_file_bytes():
        raise UploadError(f"{path}: {len(content)} bytes is over the {max_file_bytes()}-byte limit per file.")
    if path.lower().endswith(".scxml") and not content.strip() and not draft.files.filter(path=path).exists():
        content = new_document(PurePosixPath(path).stem).encode("utf-8")
    row, _ = DraftFile.objects.update_or_create(draft=draft, path=path, defaults={"blob": Blob.store(content)})
    fields = ["updated_at"]
    if not draft.entry:
        # The first document that can run becomes the entry (an empty project's first .scxml).
        draft.entry = choose_entry(draft.read_files()).path
        fields.append("entry")
    draft.save(update_fields=fields)
    return row


def rename_draft_file(draft: Draft, old: str, new: str) -> DraftFile:
    """Rename one file of the draft; the entry follows if it was the renamed file."""
    old, new = clean_path(old), clean_path(new)
    row = draft.files.filter(path=old).first()
    if row is None:
        raise NoSuchFile(f"{old}: no such file in the draft.")
    if old != new and draft.files.filter(path=new).exists():
        raise StateConflict(f"{new}: a file with this path already exists.")
    row.path = new
    row.save(update_fields=["path"])
    if draft.entry == old:
        draft.entry = new
    draft.save(update_fields=["entry", "updated_at"])
    return row


def delete_draft_file(draft: Draft, path: str) -> None:
    """Delete one file of the draft."""
    path = clean_path(path)
    deleted, _ = draft.files.filter(path=path).delete()
    if not deleted:
        raise NoSuchFile(f"{path}: no such file in the draft.")
    if draft.entry == path:
        draft.entry = ""
    draft.save(update_fields=["entry", "updated_at"])


def set_draft_entry(draft: Draft, path: str) -> None:
    """Choose the draft's entry document among its files."""
    path = clean_path(path)
    if not draft.files.filter(path=path).exists():
        raise NoSuchFile(f"{path}: no such file in the draft.")
    draft.entry = path
    draft.save(update_fields=["entry", "updated_at"])


def save_draft(draft: Draft, message: str) -> Version:
    """Turn the draft into the project's next version; StaleParentError keeps the draft intact.

    After a successful save the draft is based on the new version (ready for more edits), and
    the version has the layout the draft's diagram editor drew of this content, if any.
    """
    if not message.strip():
        raise UploadError("A message describing the change is required.")
    if draft.base is not None and not draft.is_modified():
        raise StateConflict(f"Nothing to save: the draft has no changes since {draft.base.label}.")
    files = draft.read_files()
    for path, content in files.items():
        if path.lower().endswith((".scxml", ".xml")):
            check_xml(path, content)
    version = create_version(
        draft.project,
        files,
        author=draft.user,
        message=message,
        parent=draft.base,
        entry=draft.entry if draft.entry in files else "",
    )
    draft.base = version
    draft.entry = version.entry
    draft.save(update_fields=["base", "entry", "updated_at"])
    adopt_draft_layout(draft, version)
    return version


@dataclass(frozen=True)
class FileDiff:
    """Difference of one path between two versions."""

    path: str
    status: str  # one of FILE_CHANGES (designer.changes)
    diff: str | None
    binary: bool

    def as_json(self) -> dict[str, Any]:
        """JSON shape used by the API and the diff page."""
        return {"path": self.path, "status": self.status, "diff": self.diff, "binary": self.binary}


#: a changed region with up to this many line pairs (lines before x lines after) is matched by
#: difflib exactly; difflib's cost grows with that product (quadratic on a large rewrite)
DIFF_EXACT_PAIRS = 1_000_000
#: wall-clock seconds one file's diff may spend matching before it settles for a coarser diff
DIFF_SECONDS = 5.0


class _AnchoredMatcher(difflib.SequenceMatcher):
    """difflib's matcher with bounded work for large changed regions (the patience-diff idea).

    The common head and tail are matched first; in between, lines that occur exactly once on each
    side anchor the match (longest increasing run, O(n log n)), and only the regions between
    anchors small enough (DIFF_EXACT_PAIRS) or reached within DIFF_SECONDS are matched by difflib;
    the others are shown as replaced whole. The result is always a correct diff, maybe a longer one.
    """

    def get_matching_blocks(self) -> list[difflib.Match]:
        if self.matching_blocks is not None:
            return self.matching_blocks
        a, b = self.a, self.b
        deadline = time.monotonic() + DIFF_SECONDS
        head = 0
        while head < len(a) and head < len(b) and a[head] == b[head]:
            head += 1
        tail = 0
        while tail < len(a) - head and tail < len(b) - head and a[-1 - tail] == b[-1 - tail]:
            tail += 1
        blocks: list[tuple[int, int, int]] = [(0, 0, head)] if head else []
        last_a, last_b = head, head
        for i, j in [*_unique_anchors(a, b, head, len(a) - tail, head, len(b) - tail), (len(a) - tail, len(b) - tail)]:
            if (i - last_a) * (j - last_b) <= DIFF_EXACT_PAIRS and time.monotonic() < deadline:
                inner = difflib.SequenceMatcher(None, a[last_a:i], b[last_b:j], autojunk=False)
                blocks += [(last_a + x, last_b + y, n) for x, y, n in inner.get_matching_blocks() if n]
            if i < len(a) - tail:
                blocks.append((i, j, 1))
            last_a, last_b = i + 1, j + 1
        if tail:
            blocks.append((len(a) - tail, len(b) - tail, tail))
        merged: list[list[int]] = []
        for i, j, n in blocks:  # adjacent blocks as one, as difflib returns them
            if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
                merged[-1][2] += n
            else:
                merged.append([i, j, n])
        self.matching_blocks = [difflib.Match(i, j, n) for i, j, n in merged] + [difflib.Match(len(a), len(b), 0)]
        return self.matching_blocks


def _unique_anchors(a: list[str], b: list[str], a0: int, a1: int, b0: int, b1: int) -> list[tuple[int, int]]:
    """Pairs (i, j) of lines occurring once in a[a0:a1] and once in b[b0:b1], in an order both keep."""
    count_a: dict[str, int] = {}
    for i in range(a0, a1):
        count_a[a[i]] = count_a.get(a[i], 0) + 1
    where_b: dict[str, int] = {}
    count_b: dict[str, int] = {}
    for j in range(b0, b1):
        count_b[b[j]] = count_b.get(b[j], 0) + 1
        where_b[b[j]] = j
    pairs = [(i, where_b[a[i]]) for i in range(a0, a1) if count_a[a[i]] == 1 and count_b.get(a[i]) == 1]
    # Longest increasing subsequence of the b positions (patience sorting, O(n log n)).
    tails: list[int] = []  # tails[k]: smallest b position ending an increasing run of length k + 1
    ends: list[int] = []  # ends[k]: index in `pairs` of that position
    previous: list[int] = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        k = bisect.bisect_left(tails, j)
        previous[index] = ends[k - 1] if k else -1
        if k == len(tails):
            tails.append(j)
            ends.append(index)
        else:
            tails[k], ends[k] = j, index
    run: list[tuple[int, int]] = []
    index = ends[-1] if ends else -1
    while index >= 0:
        run.append(pairs[index])
        index = previous[index]
    return run[::-1]


def _range(start: int, length: int) -> str:
    """A unified-diff hunk range, as difflib writes it."""
    beginning = start + 1 if length else start
    return str(beginning) if length == 1 else f"{beginning},{length}"


def _unified(before: list[str], after: list[str], fromfile: str, tofile: str) -> Iterator[str]:
    """difflib.unified_diff's output (3 lines of context); on the bounded matcher above for large files."""
    if len(before) * len(after) <= DIFF_EXACT_PAIRS:
        yield from difflib.unified_diff(before, after, fromfile, tofile)
        return
    matcher = _AnchoredMatcher(None, before, after, autojunk=False)
    started = False
    for group in matcher.get_grouped_opcodes(3):
        if not started:
            started = True
            yield f"--- {fromfile}\n"
            yield f"+++ {tofile}\n"
        first, last = group[0], group[-1]
        yield f"@@ -{_range(first[1], last[2] - first[1])} +{_range(first[3], last[4] - first[3])} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in before[i1:i2])
                continue
            if tag in {"replace", "delete"}:
                yield from ("-" + line for line in before[i1:i2])
            if tag in {"replace", "insert"}:
                yield from ("+" + line for line in after[j1:j2])


def diff_files(old: Mapping[str, bytes], new: Mapping[str, bytes], old_label: str, new_label: str) -> list[FileDiff]:
    """Per-file unified text diff between two file sets, in path order (bounded work, see above)."""
    result: list[FileDiff] = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            result.append(FileDiff(path, "unchanged", None, False))
            continue
        status = "added" if before is None else "removed" if after is None else "modified"
        before_text = text_of(before or b"")
        after_text = text_of(after or b"")
        if before_text is None or after_text is None:
            result.append(FileDiff(path, status, None, True))
            continue
        lines = _unified(
            before_text.splitlines(keepends=True),
            after_text.splitlines(keepends=True),
            fromfile=f"{old_label}/{path}" if before is not None else "/dev/null",
            tofile=f"{new_label}/{path}" if after is not None else "/dev/null",
        )
        text = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
        result.append(FileDiff(path, status, text, False))
    return result


def diff_versions(a: Version, b: Version) -> list[FileDiff]:
    """Per-file unified diff from version `a` to version `b`."""
    return diff_files(a.read_files(), b.read_files(), a.label, b.label)
