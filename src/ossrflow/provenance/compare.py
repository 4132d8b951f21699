"""Compare runs: a rerun's outputs against its record, and any two records with each other.

:func:`verify_outputs` checks every output file of a rerun against the record it reruns, under
the declared tolerance rules (:class:`~ossrflow.provenance.model.Tolerance`). :func:`diff_records` lists
everything that differs between two records, the earliest possible cause first: pinned entries,
inputs, the packed workflow, tool versions, the profile, step files (upstream steps first), then
outputs. Both are pure: they read the records only. :func:`text_difference` reads the two
files of a difference (the crate's copy, else the file where the run left it, when it still has
the recorded bytes) and gives their unified diff when both are small text files.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ossrflow.compose.lock import Lock
from ossrflow.integrity import hash_file
from ossrflow.provenance.model import JOB_REQUIREMENTS, RecordedFile, RunRecord, Tolerance
from ossrflow.provenance.scan import local_path

__all__ = [
    "TEXT_DIFF_LIMIT",
    "Difference",
    "Verification",
    "VerifiedOutput",
    "diff_records",
    "text_difference",
    "verify_outputs",
]

TEXT_DIFF_LIMIT = 64 * 1024  # bytes: larger files are compared by digest only


@dataclass(frozen=True)
class VerifiedOutput:
    """An output file whose rerun differs from the record (or is missing, or unexpected)."""

    step: str
    output: str
    expected_sha256: str | None
    obtained_sha256: str | None
    expected_size: int | None
    obtained_size: int | None
    problem: str  # differs | missing | unexpected | size differs


@dataclass(frozen=True)
class Difference:
    """One thing that differs between two records."""

    kind: str  # entry | input | workflow | version | profile | step | output
    name: str
    before: str
    after: str


@dataclass(frozen=True)
class Verification:
    """The outputs of a rerun against its record."""

    total: int  # recorded output files that a rule does not ignore
    reproduced: int
    rows: tuple[VerifiedOutput, ...]
    ignored: tuple[str, ...] = ()  # labels ignored by a tolerance rule
    by_size: tuple[str, ...] = ()  # labels compared by size only
    first_cause: Difference | None = None  # the earliest differing step file, if any

    @property
    def ok(self) -> bool:
        """True when every output matched."""
        return not self.rows

    def summary(self) -> str:
        """``reproduced N/N outputs`` plus what the tolerance rules did."""
        text = f"reproduced {self.reproduced}/{self.total} outputs"
        notes = []
        if self.by_size:
            notes.append(f"{len(self.by_size)} compared by size only")
        if self.ignored:
            notes.append(f"{len(self.ignored)} ignored")
        return text + (f" ({', '.join(notes)}, as the tolerance rules say)" if notes else "")


# --- verification ----------------------------------------------------------------------------


def _rule_for(item: RecordedFile, rules: Sequence[Tolerance]) -> Tolerance | None:
    return next((rule for rule in rules if rule.matches(item)), None)


def _compare(
    expected: RecordedFile | None, obtained: RecordedFile | None, rule: Tolerance | None
) -> str | None:
    """The problem with one output, None when it matches (under ``rule``)."""
    if expected is None:
        return "unexpected"
    if obtained is None:
        return "missing"
    if rule is not None and rule.mode == "size":
        return None if expected.size == obtained.size else "size differs"
    return None if expected.sha256 == obtained.sha256 else "differs"


def verify_outputs(
    record: RunRecord, new: RunRecord, tolerance: Sequence[Tolerance] | None = None
) -> Verification:
    """Compare every output file of ``new`` with ``record``; ``tolerance`` defaults to the rules
    the new record declares."""
    rules = tuple(new.tolerance if tolerance is None else tolerance)
    expected = {f.label: f for f in record.outputs}
    obtained = {f.label: f for f in new.outputs}
    labels = list(expected) + [label for label in obtained if label not in expected]
    rows, ignored, by_size, reproduced = [], [], [], 0
    for label in labels:
        before, after = expected.get(label), obtained.get(label)
        rule = _rule_for(before or after or obtained[label], rules)
        if rule is not None and rule.mode == "ignore":
            ignored.append(label)
            continue
        if rule is not None:
            by_size.append(label)
        problem = _compare(before, after, rule)
        if problem is None:
            reproduced += 1
            continue
        rows.append(
            VerifiedOutput(
                (before or obtained[label]).step,
                label,
                before.sha256 if before else None,
                after.sha256 if after else None,
                before.size if before else None,
                after.size if after else None,
                problem,
            )
        )
    total = len([label for label in expected if label not in ignored])
    first = next((d for d in diff_records(record, new) if d.kind == "step"), None)
    return Verification(total, reproduced, tuple(rows), tuple(ignored), tuple(by_size), first)


# --- differences -------------------------------------------------------------------------------


def _changes(
    kind: str, before: Mapping[str, str], after: Mapping[str, str], order: Iterable[str] = ()
) -> list[Difference]:
    names = list(dict.fromkeys([*order, *before, *after]))
    return [
        Difference(kind, name, before.get(name, "absent"), after.get(name, "absent"))
        for name in names
        if before.get(name) != after.get(name)
    ]


def _entries(lock: Lock | None) -> dict[str, str]:
    if lock is None:
        return {}
    return {
        alias: f"{pin.registry} record {pin.record_id} version {pin.version} "
        f"files {json.dumps(dict(sorted(pin.files.items())))}"
        for alias, pin in sorted(lock.entries.items())
    }


def _inputs(record: RunRecord) -> dict[str, str]:
    values = {f.label: f"sha256:{f.sha256}" for f in record.inputs}
    with_files = {f.param for f in record.inputs}
    for name, value in sorted(record.job.items()):
        if name not in with_files and name != JOB_REQUIREMENTS:
            values[name] = json.dumps(value, sort_keys=True)
    return values


def _step_key(item: RecordedFile) -> str:
    where = item.step if item.element is None else f"{item.step}[{item.element}]"
    return f"{where} {item.label}"


def _files(files: Iterable[RecordedFile], key: Callable[[RecordedFile], str]) -> dict[str, str]:
    return {key(f): f"sha256:{f.sha256} ({f.size} bytes)" for f in files}


def diff_records(a: RunRecord, b: RunRecord) -> list[Difference]:
    """What differs from ``a`` to ``b``, the earliest possible cause first."""
    steps_a = _files(a.step_files, _step_key)
    order = [_step_key(f) for step in a.step_order for f in a.step_files if f.step == step]
    return [
        *_changes("entry", _entries(a.lock), _entries(b.lock)),
        *_changes("input", _inputs(a), _inputs(b)),
        *_changes("workflow", {"packed": a.workflow_sha256}, {"packed": b.workflow_sha256}),
        *_changes("version", dict(a.versions), dict(b.versions)),
        *_changes("profile", _profile(a), _profile(b)),
        *_changes("step", steps_a, _files(b.step_files, _step_key), order),
        *_changes(
            "output", _files(a.outputs, lambda f: f.label), _files(b.outputs, lambda f: f.label)
        ),
    ]


def _profile(record: RunRecord) -> dict[str, str]:
    return {"name": record.profile, "executor": record.executor}


# --- text differences ------------------------------------------------------------------------


def _recorded(record: RunRecord, kind: str, name: str) -> RecordedFile | None:
    files = record.outputs if kind == "output" else record.step_files
    key: Callable[[RecordedFile], str] = (lambda f: f.label) if kind == "output" else _step_key
    return next((f for f in files if key(f) == name), None)


def _readable(record: RunRecord, item: RecordedFile, limit: int) -> str | None:
    """The file's text when a copy with the recorded bytes is at hand, small and text."""
    candidates = [record.crate / item.copy] if item.copy else []
    if (path := local_path(item.location)) is not None:
        candidates.append(path)
    for path in candidates:
        if item.size > limit or not path.is_file() or path.stat().st_size != item.size:
            continue
        if hash_file(path)["sha256"] != item.sha256:
            continue
        data = path.read_bytes()
        if b"\0" in data:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


def text_difference(
    a: RunRecord, b: RunRecord, difference: Difference, *, limit: int = TEXT_DIFF_LIMIT
) -> list[str]:
    """The unified diff of an output or step file that differs, when both versions are small
    UTF-8 text files still at hand (else empty): ``--- RUN_A output x/y.txt``, ``+++ RUN_B …``"""
    if difference.kind not in ("output", "step"):
        return []
    before = _recorded(a, difference.kind, difference.name)
    after = _recorded(b, difference.kind, difference.name)
    if before is None or after is None:
        return []
    old, new = _readable(a, before, limit), _readable(b, after, limit)
    if old is None or new is None:
        return []
    label = f"{difference.kind} {difference.name}"
    return list(
        difflib.unified_diff(
            old.splitlines(),
            new.splitlines(),
            fromfile=f"RUN_A {label}",
            tofile=f"RUN_B {label}",
            lineterm="",
        )
    )
