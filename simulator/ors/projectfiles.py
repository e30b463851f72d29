"""Composer project files: read a zip or a folder safely, and choose the entry document.

The one place that turns an upload, an archive or a folder into ``{relative/path: bytes}`` and
decides which document a simulation starts from; the designer's import, the CLI, batch and
scenario commands all call it. Django-free: limits come in as a ``Limits`` object.

Reading treats the input as hostile: paths must stay inside the project (no absolute paths,
drive letters, ``..``, backslashes or control characters), symbolic links are refused, archives
may not expand past fixed limits (entries, bytes per file, bytes in total, compression ratio), and
a member is never trusted to be as small as it declares. Every refusal is a ``ProjectError`` whose
message names the file and says what is wrong. A single folder wrapping the whole project
(``MyProject/src-gen/...``) is dropped.

Choosing the entry (``choose_entry``) follows one rule, documented on the function, and says why.
"""

from __future__ import annotations

import io
import posixpath
import re
import stat
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: Suffixes of the files a simulation may read; callers that only run strategies keep these.
PROJECT_SUFFIXES = frozenset(
    {".scxml", ".js", ".xml", ".json", ".vxml", ".workflow", ".callflow", ".ixnprocess", ".grxml"}
)
#: Folders of a Composer project: a lone top folder with one of these names is not a wrapper.
COMPOSER_FOLDERS = frozenset(
    {"src-gen", "src", "include", "fakes", "scenarios", "resources", "bin", "callflows", "workflows"}
)
PATH_MAX_LENGTH = 500

#: Composer writes this `initial` into every workflow that only runs when an IPD includes it.
NOBOOT_STATE = "_composer_noboot"
_ROOT_INITIAL = re.compile(rb"<scxml\b[^>]*?\binitial\s*=\s*[\"']([^\"']*)[\"']", re.DOTALL)
#: How much of a document is read to find its root element's `initial` attribute.
_HEAD_BYTES = 16 * 1024


class ProjectError(ValueError):
    """A refused or unusable project; the message is shown to the user as is."""


@dataclass(frozen=True)
class Limits:
    """Bounds on what reading a project may cost (a zip bomb or a huge folder is refused)."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_total_bytes: int = 64 * 1024 * 1024
    max_entries: int = 5000
    #: A member expanding more than this ratio is a bomb once it is also bigger than bomb_min_bytes.
    max_compression_ratio: int = 100
    bomb_min_bytes: int = 1024 * 1024


DEFAULT_LIMITS = Limits()


def clean_path(raw: str) -> str:
    """A normalised project-relative POSIX path, or ProjectError if it could escape the project.

    Refuses absolute paths, drive letters, `..` segments, backslashes, control characters and
    empty names; collapses `./` and duplicate slashes.
    """
    path = (raw or "").strip()
    if not path:
        raise ProjectError("A file path is required.")
    if "\\" in path:
        raise ProjectError(f"{raw!r}: use forward slashes in paths.")
    if any(ord(ch) < 32 for ch in path):
        raise ProjectError(f"{raw!r}: control characters are not allowed in paths.")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise ProjectError(f"{raw!r}: absolute paths are not allowed; paths are relative to the project.")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise ProjectError(f"{raw!r}: '..' would leave the project folder.")
    if not parts:
        raise ProjectError(f"{raw!r} is not a file path.")
    if len(path) > PATH_MAX_LENGTH:
        raise ProjectError(f"{raw[:60]!r}...: paths are limited to {PATH_MAX_LENGTH} characters.")
    return "/".join(parts)


def _kept(path: str, suffixes: Iterable[str] | None) -> bool:
    return suffixes is None or posixpath.splitext(path)[1].lower() in suffixes


def read_zip(data: bytes, limits: Limits = DEFAULT_LIMITS, suffixes: Iterable[str] | None = None) -> dict[str, bytes]:
    """Files of a zip archive (only `suffixes` if given), refusing bombs, symlinks and escapes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ProjectError(f"Not a valid zip archive: {exc}.") from exc
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise ProjectError(f"The archive has {len(infos)} entries; at most {limits.max_entries} are accepted.")
    keep = frozenset(suffixes) if suffixes is not None else None
    declared_total = 0
    members: list[tuple[str, zipfile.ZipInfo]] = []
    for info in infos:
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ProjectError(f"{info.filename}: symbolic links are not allowed in a project archive.")
        path = clean_path(info.filename)  # a directory named '../x' is as suspicious as a file
        if info.is_dir() or not _kept(path, keep):
            continue
        if info.file_size > limits.max_file_bytes:
            raise ProjectError(
                f"{path}: {info.file_size} bytes is over the {limits.max_file_bytes}-byte limit per file."
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.bomb_min_bytes and ratio > limits.max_compression_ratio:
            raise ProjectError(
                f"{path}: compression ratio {ratio:.0f}:1 looks like a zip bomb "
                f"(limit {limits.max_compression_ratio}:1)."
            )
        declared_total += info.file_size
        if declared_total > limits.max_total_bytes:
            raise ProjectError(f"The archive expands to more than {limits.max_total_bytes} bytes; refusing a zip bomb.")
        members.append((path, info))
    files: dict[str, bytes] = {}
    actual_total = 0
    for path, info in members:
        if path in files:
            raise ProjectError(f"{path}: the archive holds this path twice.")
        try:
            with archive.open(info) as handle:
                # Never trust the declared size: read at most one byte past the limit.
                content = handle.read(limits.max_file_bytes + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as exc:
            raise ProjectError(f"{path}: cannot be extracted ({exc}).") from exc
        if len(content) > limits.max_file_bytes:
            raise ProjectError(f"{path}: expands past the {limits.max_file_bytes}-byte limit per file.")
        actual_total += len(content)
        if actual_total > limits.max_total_bytes:
            raise ProjectError(f"The archive expands to more than {limits.max_total_bytes} bytes; refusing a zip bomb.")
        files[path] = content
    files = strip_common_root(files)
    if not files:
        raise ProjectError("The archive contains no files.")
    return files


def read_folder(
    folder: Path, limits: Limits = DEFAULT_LIMITS, suffixes: Iterable[str] | None = None
) -> dict[str, bytes]:
    """Files under `folder` (only `suffixes` if given), same limits as an archive; symlinks refused."""
    keep = frozenset(suffixes) if suffixes is not None else None
    files: dict[str, bytes] = {}
    total = 0
    for item in sorted(folder.rglob("*")):
        rel = item.relative_to(folder).as_posix()
        if item.is_symlink():
            raise ProjectError(f"{rel}: symbolic links are not allowed in a project folder.")
        if not item.is_file() or not _kept(rel, keep):
            continue
        if len(files) >= limits.max_entries:
            raise ProjectError(f"{folder}: more than {limits.max_entries} files.")
        size = item.stat().st_size
        if size > limits.max_file_bytes:
            raise ProjectError(f"{rel}: {size} bytes is over the {limits.max_file_bytes}-byte limit per file.")
        total += size
        if total > limits.max_total_bytes:
            raise ProjectError(f"{folder}: project larger than {limits.max_total_bytes} bytes.")
        files[clean_path(rel)] = item.read_bytes()
    return files


def strip_common_root(files: dict[str, bytes]) -> dict[str, bytes]:
    """Drop one top-level folder wrapping the whole project (`MyProject/src-gen/...` zips)."""
    tops = {path.split("/", 1)[0] for path in files}
    if len(tops) != 1 or any("/" not in path for path in files):
        return files
    (top,) = tops
    if top.lower() in COMPOSER_FOLDERS:
        return files
    return {path.split("/", 1)[1]: content for path, content in files.items()}


# --------------------------------------------------------------------------------------------
# The entry document


@dataclass(frozen=True)
class EntryChoice:
    """Which document a simulation of the project starts from, and why.

    `reason` says why `path` was chosen ("It is ..."), or, when `path` is '', why none could be;
    `warnings` then say what to do.
    `candidates` are every document a user may pick instead (IPDs and runnable stand-alone
    workflows), in the order of the rule.
    """

    path: str
    reason: str
    candidates: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    workflows: list[str] = field(default_factory=list)


def is_ipd(path: str) -> bool:
    """Whether `path` is the generated SCXML of an Interaction Process Diagram (`IPD_*.scxml`)."""
    name = posixpath.basename(path).lower()
    return name.startswith("ipd_") and name.endswith(".scxml")


def is_subroutine(path: str) -> bool:
    """Whether `path` sits in a Composer subroutines folder (they run when a workflow invokes them)."""
    return "subroutines" in (part.lower() for part in path.split("/")[:-1])


def boots(content: bytes) -> bool:
    """Whether a document can run first: Composer marks include-only workflows `_composer_noboot`."""
    match = _ROOT_INITIAL.search(content[:_HEAD_BYTES])
    return not (match and match.group(1).strip() == NOBOOT_STATE.encode())


def _generated_first(paths: list[str]) -> list[str]:
    """Paths under src-gen/ (Composer's generated code) first, each group in path order."""
    return sorted(paths, key=lambda p: (not p.lower().startswith("src-gen/"), p))


def choose_entry(files: Mapping[str, bytes]) -> EntryChoice:
    """The entry document of a project, by one rule, with the reason.

    1. The IPDs (`IPD_*.scxml`, src-gen/ first, then path order): ORS starts an application
       from its Interaction Process Diagram. With several, the first is chosen and the others
       are offered as candidates.
    2. Without an IPD, the SCXML documents that can run first: not in a subroutines folder and
       not marked `_composer_noboot` (Composer's include-only workflows). Exactly one is chosen;
       several are ambiguous, and none is chosen.
    3. Otherwise there is no entry: Composer sources (`*.workflow`) without generated SCXML get
       "generate code in Composer and import again"; subroutines are never chosen on their own.
    """
    scxml = sorted(path for path in files if path.lower().endswith(".scxml"))
    workflows = sorted(path for path in files if path.lower().endswith(".workflow"))
    ipds = _generated_first([path for path in scxml if is_ipd(path)])
    runnable = _generated_first(
        [path for path in scxml if not is_ipd(path) and not is_subroutine(path) and boots(files[path])]
    )
    candidates = ipds + runnable
    if len(ipds) == 1:
        return EntryChoice(ipds[0], "It is the project's Interaction Process Diagram (IPD).", candidates)
    if ipds:
        others = ", ".join(ipds[1:])
        return EntryChoice(
            ipds[0],
            f"It is the first of {len(ipds)} IPDs in path order (the others: {others}); "
            "pick another on the diagram or simulate page.",
            candidates,
        )
    if len(runnable) == 1:
        return EntryChoice(runnable[0], "It is the only SCXML document that can run first.", candidates)
    if runnable:
        listed = ", ".join(runnable[:10])
        return EntryChoice(
            "",
            f"No IPD and {len(runnable)} documents could run first ({listed}): choose the entry.",
            candidates,
            [f"Several documents could be the entry ({listed}); choose one."],
            workflows,
        )
    warnings: list[str] = []
    if workflows and not any(path.lower().startswith("src-gen/") for path in scxml):
        warnings.append("No generated SCXML: generate code in Composer and import again.")
        reason = f"no generated SCXML for the {len(workflows)} Composer workflow(s) found"
    elif scxml:
        reason = (
            "no IPD and no SCXML document that can run first (subroutines and include-only workflows run from another)"
        )
        warnings.append(f"No entry document: {reason}.")
    else:
        reason = "the project has no SCXML document"
    return EntryChoice("", reason[0].upper() + reason[1:] + ".", candidates, warnings, workflows)


def entry_candidates(files: Mapping[str, bytes], entry: str) -> list[str]:
    """Documents a user may start a diagram or simulation from: `entry` first, then choose_entry's candidates."""
    candidates = choose_entry(files).candidates
    return ([entry] if entry else []) + [path for path in candidates if path != entry]


def read_project(
    path: Path, limits: Limits = DEFAULT_LIMITS, suffixes: Iterable[str] | None = None
) -> dict[str, bytes]:
    """Files of a project folder, a `.zip` or a single `.scxml` file on disk (ProjectError otherwise)."""
    if path.is_dir():
        files = read_folder(path, limits, suffixes)
    elif path.is_file() and zipfile.is_zipfile(path):
        if path.stat().st_size > limits.max_total_bytes:
            raise ProjectError(f"{path}: archive larger than {limits.max_total_bytes} bytes")
        files = read_zip(path.read_bytes(), limits, suffixes)
    elif path.is_file() and path.suffix.lower() == ".scxml":
        if path.stat().st_size > limits.max_file_bytes:
            raise ProjectError(f"{path}: over the {limits.max_file_bytes}-byte limit per file")
        files = {path.name: path.read_bytes()}
    else:
        raise ProjectError(f"{path}: not a project directory, a .zip or an .scxml file")
    if not files:
        raise ProjectError(f"{path}: no SCXML/JS files found")
    return files
