"""Holding a composition to its lock: which registry, and what to say when the pins differ.

:func:`lock_registry` is the registry a lock's entries were resolved in (``lock`` and ``compose``
use it when the user names none); :func:`relock_args` is what follows ``ossrflow lock`` in every
fix (the definition as the user gave it, and the registry unless it is the default). The
``verify_*`` functions raise :class:`ChecksumMismatch` naming what changed and that command.
"""

from __future__ import annotations

from collections.abc import Mapping

from ossrflow.compose.lock import EntryPin, FilePin, InputPin, Lock
from ossrflow.errors import ChecksumMismatch, InputError

__all__ = ["lock_registry", "relock_args", "verify_entry_files", "verify_input_files"]

_RELOCK = "run `ossrflow lock {definition}` to pin the new state, if the change is expected"


def relock_args(definition: str, registry: str | None) -> str:
    """What follows ``ossrflow lock`` to pin a definition again: its path as the user gave it,
    and ``--registry`` unless the registry is the default one."""
    from ossrflow.config import DEFAULT_REGISTRY

    if registry is None or registry == DEFAULT_REGISTRY:
        return definition
    return f"{definition} --registry {registry}"


def lock_registry(lock: Lock) -> str | None:
    """The registry the lock's entries were resolved in when named by record id, DOI or name
    (entries named by a folder path carry their own), when they all used one; else None."""
    from ossrflow.registry.refs import parse_ref

    found = set()
    for pin in lock.entries.values():
        try:
            local = parse_ref(pin.ref).is_local
        except InputError:
            continue
        if not local:
            found.add(pin.registry)
    return found.pop() if len(found) == 1 else None


def verify_entry_files(
    alias: str,
    pin: EntryPin,
    record_id: str,
    files: Mapping[str, str | None],
    *,
    source: str,
    location: str | None,
    definition: str,
) -> None:
    """Raise :class:`ChecksumMismatch` unless the record and its files are the pinned ones."""
    problem = None
    if record_id != pin.record_id:
        problem = f"resolves to record {record_id}, but the lock pins record {pin.record_id}"
    else:
        for key in sorted(set(files) | set(pin.files)):
            if key not in pin.files:
                problem = f"record {record_id} now has a file {key!r} the lock does not know"
            elif key not in files:
                problem = f"record {record_id} no longer has the pinned file {key!r}"
            elif files[key] != pin.files[key]:
                problem = f"file {key!r} of record {record_id} is {files[key]}, the lock pins {pin.files[key]}"
            if problem:
                break
    if problem:
        raise ChecksumMismatch(
            f"entries.{alias}: {problem}",
            source=source,
            location=location,
            hint=_RELOCK.format(definition=definition),
        )


def verify_input_files(
    name: str,
    pin: InputPin,
    files: tuple[FilePin, ...],
    *,
    source: str,
    location: str | None,
    definition: str,
) -> None:
    """Raise :class:`ChecksumMismatch` unless the input holds exactly the pinned files."""
    problem = None
    if len(files) != len(pin.files):
        problem = f"holds {len(files)} files, the lock pins {len(pin.files)}"
    else:
        for index, (now, pinned) in enumerate(zip(files, pin.files, strict=True)):
            if (now.name, now.sha256) != (pinned.name, pinned.sha256):
                problem = (
                    f"file {index} is {now.name!r} sha256:{now.sha256[:16]}…, "
                    f"the lock pins {pinned.name!r} sha256:{pinned.sha256[:16]}…"
                )
                break
    if problem:
        raise ChecksumMismatch(
            f"inputs.{name}: {problem}",
            source=source,
            location=location,
            hint=_RELOCK.format(definition=definition),
        )
