"""Import of uploaded strategies (a single .scxml or a Composer project zip) and zip export.

Everything here treats the upload as hostile: paths must stay inside the project, archives may not
expand beyond fixed limits (zip bombs), symlinks are refused, every XML document must be
well-formed under the engine's hardened parser (no entities, no DTD, no network). Each refusal is
an `UploadError` whose message says what is wrong and with which file.

Export writes the files back with the same project-relative layout and the exact stored bytes, in
path order with a fixed timestamp, so exporting a version twice gives identical archives.
"""

from __future__ import annotations

import io
import posixpath
import stat
import zipfile
from collections.abc import Mapping

from django.conf import settings

#: Extensions checked for XML well-formedness on import and on draft save.
XML_SUFFIXES = (".scxml", ".xml")
#: Most entries an archive may hold (real Composer projects have a few hundred).
MAX_ZIP_ENTRIES = 5000
#: The uncompressed total may be this many times the upload limit.
MAX_TOTAL_FACTOR = 4
#: A member expanding more than this ratio is a bomb once it is also bigger than BOMB_MIN_BYTES.
MAX_COMPRESSION_RATIO = 100
BOMB_MIN_BYTES = 1024 * 1024
#: Fixed member timestamp so the same files always give the same archive.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
#: Folders of a Composer project, used to recognise a wrapping top-level folder in a zip.
COMPOSER_FOLDERS = {"src-gen", "src", "include", "fakes", "scenarios", "resources", "bin", "callflows", "workflows"}


class UploadError(ValueError):
    """A refused upload or path; the message is shown to the user as is."""


def max_file_bytes() -> int:
    """Largest single file accepted (settings.MAX_UPLOAD_BYTES)."""
    return int(settings.MAX_UPLOAD_BYTES)


def clean_path(raw: str) -> str:
    """A normalised project-relative POSIX path, or UploadError if it could escape the project.

    Refuses absolute paths, drive letters, `..` segments, backslashes, control characters and
    empty names; collapses `./` and duplicate slashes.
    """
    path = (raw or "").strip()
    if not path:
        raise UploadError("A file path is required.")
    if "\\" in path:
        raise UploadError(f"{raw!r}: use forward slashes in paths.")
    if any(ord(ch) < 32 for ch in path):
        raise UploadError(f"{raw!r}: control characters are not allowed in paths.")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise UploadError(f"{raw!r}: absolute paths are not allowed; paths are relative to the project.")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise UploadError(f"{raw!r}: '..' would leave the project folder.")
    if not parts:
        raise UploadError(f"{raw!r} is not a file path.")
    if len(path) > 500:
        raise UploadError(f"{raw[:60]!r}...: paths are limited to 500 characters.")
    return "/".join(parts)


def check_xml(path: str, content: bytes) -> None:
    """Raise UploadError unless `content` is well-formed XML under the engine's hardened parser.

    The engine loader's `parse_xml` resolves no entities, loads no DTD (a DOCTYPE is refused),
    fetches nothing and refuses huge trees; using it keeps one hardened configuration.
    """
    from simulator.scxml.loader import parse_xml

    root, errors = parse_xml(content, path, max_bytes=max_file_bytes())
    if root is None or errors:
        first = errors[0] if errors else None
        message = getattr(first, "message", None) or str(first or "not an XML document")
        line = getattr(first, "line", None)
        where = f" (line {line})" if line else ""
        raise UploadError(f"{path}: not well-formed XML{where}: {message}")


def check_files(files: Mapping[str, bytes]) -> None:
    """Validate a whole project: sizes and XML well-formedness of every XML document."""
    if not files:
        raise UploadError("The project has no files.")
    limit = max_file_bytes()
    total = 0
    for path, content in files.items():
        if len(content) > limit:
            raise UploadError(f"{path}: {len(content)} bytes is over the {limit}-byte limit per file.")
        total += len(content)
        if path.lower().endswith(XML_SUFFIXES):
            check_xml(path, content)
    if total > limit * MAX_TOTAL_FACTOR:
        raise UploadError(f"The project is {total} bytes, over the {limit * MAX_TOTAL_FACTOR}-byte limit.")


def read_upload(filename: str, data: bytes) -> dict[str, bytes]:
    """Files of an upload: a Composer project zip, or a single SCXML document put in `src-gen/`."""
    if len(data) > max_file_bytes():
        raise UploadError(f"The upload is {len(data)} bytes, over the {max_file_bytes()}-byte limit.")
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith(".zip"):
        files = read_zip(data)
    else:
        name = posixpath.basename((filename or "").replace("\\", "/")) or "Main.scxml"
        if not name.lower().endswith(XML_SUFFIXES):
            raise UploadError(f"{name}: upload a .scxml document or a .zip of a Composer project.")
        files = {clean_path(f"src-gen/{name}"): data}
    check_files(files)
    return files


def read_zip(data: bytes) -> dict[str, bytes]:
    """Files of a zip archive, refusing bombs, symlinks and paths escaping the project."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise UploadError(f"Not a valid zip archive: {exc}.") from exc
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise UploadError(f"The archive has {len(infos)} entries; at most {MAX_ZIP_ENTRIES} are accepted.")
    limit = max_file_bytes()
    total_limit = limit * MAX_TOTAL_FACTOR
    declared_total = 0
    members: list[tuple[str, zipfile.ZipInfo]] = []
    for info in infos:
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UploadError(f"{info.filename}: symbolic links are not allowed in a project archive.")
        if info.is_dir():
            clean_path(info.filename)  # a directory named '../x' is as suspicious as a file
            continue
        path = clean_path(info.filename)
        if info.file_size > limit:
            raise UploadError(f"{path}: {info.file_size} bytes is over the {limit}-byte limit per file.")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > BOMB_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise UploadError(
                f"{path}: compression ratio {ratio:.0f}:1 looks like a zip bomb (limit {MAX_COMPRESSION_RATIO}:1)."
            )
        declared_total += info.file_size
        if declared_total > total_limit:
            raise UploadError(f"The archive expands to more than {total_limit} bytes; refusing a zip bomb.")
        members.append((path, info))
    files: dict[str, bytes] = {}
    actual_total = 0
    for path, info in members:
        if path in files:
            raise UploadError(f"{path}: the archive holds this path twice.")
        try:
            with archive.open(info) as handle:
                # Never trust the declared size: read at most one byte past the limit.
                content = handle.read(limit + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as exc:
            raise UploadError(f"{path}: cannot be extracted ({exc}).") from exc
        if len(content) > limit:
            raise UploadError(f"{path}: expands past the {limit}-byte limit per file.")
        actual_total += len(content)
        if actual_total > total_limit:
            raise UploadError(f"The archive expands to more than {total_limit} bytes; refusing a zip bomb.")
        files[path] = content
    files = _strip_wrapper_folder(files)
    if not files:
        raise UploadError("The archive contains no files.")
    return files


def _strip_wrapper_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    """Drop one top-level folder wrapping the whole project (`MyProject/src-gen/...` zips)."""
    tops = {path.split("/", 1)[0] for path in files}
    if len(tops) != 1 or any("/" not in path for path in files):
        return files
    (top,) = tops
    if top in COMPOSER_FOLDERS:
        return files
    return {path.split("/", 1)[1]: content for path, content in files.items()}


def guess_entry(paths: list[str] | set[str] | Mapping[str, bytes]) -> str:
    """The most likely entry document: an IPD in src-gen/, else a src-gen/ document, else any SCXML."""
    scxml = sorted(path for path in paths if path.lower().endswith(".scxml"))
    for predicate in (
        lambda p: p.startswith("src-gen/") and posixpath.basename(p).startswith("IPD_"),
        lambda p: posixpath.basename(p).startswith("IPD_"),
        lambda p: p.startswith("src-gen/"),
        lambda p: True,
    ):
        for path in scxml:
            if predicate(path):
                return path
    return ""


def export_zip(files: Mapping[str, bytes]) -> bytes:
    """A zip of `files` with their project-relative paths and exact bytes, deterministic."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, files[path])
    return buffer.getvalue()
