"""One error hierarchy for the engine.

* Definition errors (bad XML, unknown targets, missing include, ...) are *collected* while a
  document is loaded and modelled, each as a `DefinitionError` record with file, line and column.
  `DocumentError` carries the whole list when a caller wants an exception (e.g. starting a
  session of a broken document).
* Runtime failures never raise out of a session: they become `error.execution` /
  `error.communication` internal events (W3C 5.10) and `error` trace records. `ExecutionError`
  is the internal exception used to abort one block of executable content.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class DefinitionError:
    """A problem in the document found at load/model time."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def as_record(self) -> dict:
        """The CLI / API representation: `{"type": "error", "kind": "definition", ...}`."""
        return {"type": "error", "kind": "definition", **asdict(self)}

    def __str__(self) -> str:
        where = f"{self.file or '<document>'}:{self.line or '?'}"
        if self.column:
            where += f":{self.column}"
        return f"{where}: {self.message}"


class SCXMLError(Exception):
    """Base class of every exception the engine raises."""


class DocumentError(SCXMLError):
    """A document cannot be used because of definition errors (see `.errors`)."""

    def __init__(self, errors: list[DefinitionError]):
        self.errors = list(errors)
        first = str(self.errors[0]) if self.errors else "invalid document"
        more = f" (+{len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(first + more)


class ExecutionError(SCXMLError):
    """Aborts the current block of executable content; becomes an `error.*` internal event.

    `kind` is the W3C category ("execution" or "communication"), `js_error` the JS exception
    name when a script/expression failed (used by Profile.error_event_name()).
    """

    def __init__(self, message: str, kind: str = "execution", js_error: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.js_error = js_error
        self.line = line
        self.sendid: str | None = None  # set for <send> failures: the error event carries it
        self.file: str | None = None  # the file of `line` when not the failing node's own
