"""Import of uploaded strategies (a single .scxml or a Composer project zip) and zip export.

Reading an archive, path rules and the choice of the entry document are the project-files
module's (`simulator.ors.projectfiles`, shared with the CLI); this module applies the site's
upload limit (settings.MAX_UPLOAD_BYTES) and checks every XML document is well-formed under the
engine's hardened parser (no entities, no DTD, no network). Each refusal is an `UploadError`
whose message says what is wrong and with which file.

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

from simulator.ors import projectfiles
from simulator.ors.projectfiles import EntryChoice, ProjectError, choose_entry, clean_path
from simulator.scxml.loader import parse_xml

__all__ = [
    "EntryChoice",
    "StateConflict",
    "UploadError",
    "check_files",
    "choose_entry",
    "clean_path",
    "export_zip",
    "read_upload",
    "text_of",
]

#: Extensions checked for XML well-formedness on import and on draft save.
XML_SUFFIXES = (".scxml", ".xml")
#: The uncompressed total may be this many times the upload limit.
MAX_TOTAL_FACTOR = 4
#: Fixed member timestamp so the same files always give the same archive.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)

#: A refused upload or path; the message is shown to the user as is.
UploadError = ProjectError


class NoSuchFile(UploadError):
    """A path that is not a file of the draft or version (the API answers 404)."""


class StateConflict(UploadError):
    """Refused because of what the draft holds now, not because of the request (the API answers
    409): a path already taken, nothing changed to save."""


def max_file_bytes() -> int:
    """Largest single file accepted (settings.MAX_UPLOAD_BYTES)."""
    return int(settings.MAX_UPLOAD_BYTES)


def upload_limits() -> projectfiles.Limits:
    """The project-files limits of an upload under the current settings."""
    limit = max_file_bytes()
    return projectfiles.Limits(max_file_bytes=limit, max_total_bytes=limit * MAX_TOTAL_FACTOR)


def check_xml(path: str, content: bytes) -> None:
    """Raise UploadError unless `content` is well-formed XML under the engine's hardened parser.

    The engine loader's `parse_xml` resolves no entities, loads no DTD (a DOCTYPE is refused),
    fetches nothing and refuses huge trees; using it keeps one hardened configuration.
    """
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
    """Every file of a zip archive under the upload limits (see projectfiles.read_zip)."""
    return projectfiles.read_zip(data, upload_limits())


def text_of(content: bytes) -> str | None:
    """UTF-8 text of a file, or None for binary content (NUL bytes or not UTF-8)."""
    if b"\x00" in content:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


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
