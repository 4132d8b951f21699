"""The one exception hierarchy of ossrflow, and how each error reaches a user.

Every error the library raises on purpose derives from :class:`OssrflowError`::

    OssrflowError                     (never raised itself)
    ├── InputError            exit 2  bad input: a file, a reference, a value, a flag
    │   ├── NotFound          exit 2  a record, entry, file or output does not exist (404, 410, missing)
    │   ├── UnsafeValue       exit 2  an untrusted value would escape: path traversal, control chars
    │   ├── ChecksumMismatch  exit 2  downloaded or staged bytes differ from the published checksum
    │   └── Unsupported       exit 33 a valid CWL feature ossrflow does not run (cwl-runner convention)
    ├── ServiceError          exit 3  a registry, scheduler or Rucio server is unreachable or failing
    ├── WorkflowFailed        exit 1  the workflow ran and a step failed
    └── VerificationFailed    exit 4  a rerun produced outputs that differ from the record

Each error carries ``source`` (a file path or URL), ``location`` (``line:col`` or a path such as
``items[2].checksum``) and ``hint`` (the fix), and renders as one line::

    source:location: problem (fix: hint)

The CLI's ``main()`` is the only place where these are turned into a message and an exit code.
Anything that is not an ``OssrflowError`` is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = [
    "ChecksumMismatch",
    "InputError",
    "NotFound",
    "OssrflowError",
    "ServiceError",
    "UnsafeValue",
    "Unsupported",
    "VerificationFailed",
    "WorkflowFailed",
]


class OssrflowError(Exception):
    """Base of every error ossrflow raises on purpose."""

    exit_code: int = 2

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        location: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.source = source
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        prefix = ":".join(str(part) for part in (self.source, self.location) if part)
        text = f"{prefix}: {self.problem}" if prefix else self.problem
        if self.hint:
            text += f" (fix: {self.hint})"
        # One line, always: values from untrusted files may carry newlines.
        return " ".join(text.split("\n"))

    def at(self, *, source: str | None = None, location: str | None = None) -> OssrflowError:
        """Fill in where the error happened, when the raiser did not know it."""
        self.source = self.source or source
        self.location = self.location or location
        return self


class InputError(OssrflowError):
    """Bad input: a file, a reference, a flag or a value that cannot be used as given."""

    exit_code = 2


class NotFound(InputError):
    """A record, entry, file, step or output that does not exist."""


class UnsafeValue(InputError):
    """An untrusted value that would escape its place: path traversal, control characters."""


class ChecksumMismatch(InputError):
    """Bytes whose checksum differs from the one their source publishes."""


class Unsupported(InputError):
    """Valid CWL that ossrflow does not run; exit 33 as the cwl-runner convention asks."""

    exit_code = 33


class ServiceError(OssrflowError):
    """A registry, scheduler or data service that is unreachable or answers with a server error."""

    exit_code = 3


class WorkflowFailed(OssrflowError):
    """The workflow ran and at least one step failed."""

    exit_code = 1


class VerificationFailed(OssrflowError):
    """A rerun finished but its outputs differ from those in the provenance record."""

    exit_code = 4
