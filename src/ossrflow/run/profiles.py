"""Snakemake profiles (local, slurm, htcondor or a folder of your own) and job resources.

A profile is a plain Snakemake profile: a folder with ``config.yaml``. The three shipped ones live
in ``profiles/`` at the top of the source tree; ``load_profile`` finds them by name, or takes any
folder path. Keys that ossrflow sets itself (the Snakefile, the run directory, dry-run ...) are
refused in a profile, so a profile cannot silently change what runs. ossrflow's own settings of a
profile (``container:``, the engines its steps may run in; ``max-jobs-per-step``) live in
``ossrflow.yaml`` beside ``config.yaml``, which Snakemake reads alone.

``snakemake_resources`` maps CWL's ResourceRequirement and ToolTimeLimit to the standard
Snakemake resources that the slurm and htcondor executor plugins read: ``threads`` (coresMin),
``mem_mb`` (ramMin, MiB), ``disk_mb`` (tmpdirMin + outdirMin, MiB) and ``runtime`` (minutes).
``step_overrides`` turns a definition file's per-step ``partition``/``account``/``queue``/
``extra`` into the plugins' own resource names.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ossrflow.documents import load_yaml_document, location_of
from ossrflow.errors import InputError, NotFound

__all__ = [
    "BUILTIN_PROFILES",
    "OSSRFLOW_FILE",
    "OSSRFLOW_KEYS",
    "OWNED_KEYS",
    "Profile",
    "load_profile",
    "profiles_root",
    "snakemake_resources",
    "step_overrides",
]

BUILTIN_PROFILES = ("local", "slurm", "htcondor")

# Snakemake options ossrflow sets on every call; a profile that sets them is refused.
OWNED_KEYS = frozenset(
    {
        "snakefile",
        "directory",
        "dry-run",
        "dryrun",
        "configfile",
        "config",
        "profile",
        "workflow-profile",
        "report",
        "reporter",
        "report-after-run",
        "unlock",
        "cleanup-metadata",
        "delete-all-output",
        "delete-temp-output",
        "touch",
        "forceall",
        "forcerun",
        "until",
        "omit-from",
        "target-jobs",
        "allowed-rules",
    }
)

# Per-step override names in a definition file -> resource name per executor.
_OVERRIDES = {
    "partition": {"slurm": "slurm_partition"},
    "account": {"slurm": "slurm_account", "htcondor": "accounting_group"},
    "queue": {"slurm": "slurm_partition", "htcondor": "universe"},
    "extra": {"slurm": "slurm_extra", "htcondor": "requirements"},
}


# ossrflow's own profile settings live in ``ossrflow.yaml`` beside ``config.yaml`` (Snakemake
# refuses keys it does not know): name -> what it means, for error messages and docs.
OSSRFLOW_FILE = "ossrflow.yaml"
OSSRFLOW_KEYS = {
    "max-jobs-per-step": "split a scattered step into at most this many jobs (a positive integer)",
    "min-elements-per-job": "run at least this many scatter elements in one job, yet never fewer "
    "jobs than run at once (a positive integer)",
    "container": "the container engine steps run in: docker, podman, apptainer or none, "
    "or a list of them, tried in order until one can run here",
}


@dataclass(frozen=True)
class Profile:
    """A Snakemake profile folder, its parsed ``config.yaml`` and ossrflow's ``ossrflow.yaml``."""

    name: str
    path: Path
    settings: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def max_jobs_per_step(self) -> int | None:
        """At most this many jobs per scattered step (None: one job per scatter element)."""
        value = self.options.get("max-jobs-per-step")
        return None if value is None else int(value)

    @property
    def min_elements_per_job(self) -> int:
        """A batch job runs at least this many scatter elements (1: no minimum)."""
        return int(self.options.get("min-elements-per-job", 1))

    @property
    def parallel_jobs(self) -> int:
        """How many jobs run at once: a local profile's ``cores`` (``all``: this machine's),
        else its ``jobs``; 1 when it says neither."""
        value = self.settings.get("cores" if self.executor == "local" else "jobs")
        if value == "all":
            return len(os.sched_getaffinity(0))
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1

    @property
    def container(self) -> tuple[str, ...] | None:
        """Container engines to try, in order (``container:`` in ossrflow.yaml); None: unset."""
        value = self.options.get("container")
        if value is None:
            return None
        return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)

    @property
    def executor(self) -> str:
        """The Snakemake executor plugin the profile selects (``local`` when none)."""
        return str(self.settings.get("executor", "local"))

    @property
    def ident(self) -> str:
        """How records name the profile: a shipped one's name, else its folder's path."""
        if self.name in BUILTIN_PROFILES and self.path == (profiles_root() / self.name).resolve():
            return self.name
        return str(self.path)


def profiles_root() -> Path:
    """The folder holding the shipped profiles.

    ``ossrflow/_profiles`` in an installed wheel (``force-include`` in pyproject.toml), else the
    checkout's ``profiles/`` next to ``src/`` (an editable install).
    """
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_profiles", package.parents[1] / "profiles"):
        if (candidate / "local" / "config.yaml").is_file():
            return candidate
    return package.parents[1] / "profiles"


def load_profile(name_or_path: str) -> Profile:
    """The profile called ``local``/``slurm``/``htcondor``, or the profile folder at a path."""
    if name_or_path in BUILTIN_PROFILES:
        path = profiles_root() / name_or_path
    else:
        path = Path(name_or_path).expanduser()
    config = path / "config.yaml"
    if not config.is_file():
        raise NotFound(
            "profile has no config.yaml",
            source=str(path),
            hint=f"name one of {', '.join(BUILTIN_PROFILES)} or a folder holding config.yaml",
        )
    data = load_yaml_document(config)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise InputError(
            "profile is not a mapping", source=str(config), hint="write key: value lines"
        )
    for key in data:
        if str(key) in OWNED_KEYS:
            raise InputError(
                f"profile sets {key!r}, which ossrflow sets itself",
                source=str(config),
                location=location_of(data, key),
                hint="remove the key; use the matching `ossrflow run` option instead",
            )
    name = name_or_path if name_or_path in BUILTIN_PROFILES else path.name
    settings = {str(k): v for k, v in data.items()}
    return Profile(name, path.resolve(), settings, _load_options(path / OSSRFLOW_FILE))


def _load_options(path: Path) -> dict[str, Any]:
    """The checked settings of a profile's ``ossrflow.yaml`` (none when the file is absent)."""
    if not path.is_file():
        return {}
    data = load_yaml_document(path) or {}
    if not isinstance(data, Mapping):
        raise InputError("settings are not a mapping", source=str(path), hint="write key: value")
    for key, value in data.items():
        if str(key) not in OSSRFLOW_KEYS:
            raise InputError(
                f"unknown setting {key!r}",
                source=str(path),
                location=location_of(data, key),
                hint=f"use one of {', '.join(sorted(OSSRFLOW_KEYS))}",
            )
        if key in ("max-jobs-per-step", "min-elements-per-job") and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise InputError(
                f"{key} is {value!r}",
                source=str(path),
                location=location_of(data, key),
                hint=OSSRFLOW_KEYS[str(key)],
            )
        if key == "container":
            _check_container(value, str(path), location_of(data, key))
    return {str(k): v for k, v in data.items()}


def _check_container(value: object, source: str, location: str | None) -> None:
    """``container:`` is an engine name or ``none``, or a non-empty list of them."""
    from ossrflow.containers.engines import check_engine_choices

    choices = [value] if isinstance(value, str) else value
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise InputError(
            f"container is {value!r}",
            source=source,
            location=location,
            hint=OSSRFLOW_KEYS["container"],
        )
    check_engine_choices(choices, source=source, location=location or "container")


def snakemake_resources(raw: Mapping[str, int], executor: str = "local") -> dict[str, int]:
    """Snakemake resources for a job from the planner's CWL values (see the module docstring).

    The htcondor plugin ignores ``mem_mb`` and ``disk_mb``; for it, the same values also go
    into the names it reads, ``htcondor_request_mem_mb`` and ``htcondor_request_disk_mb``.
    """
    resources: dict[str, int] = {}
    if raw.get("cores"):
        resources["threads"] = max(1, int(raw["cores"]))
    if raw.get("ram"):
        resources["mem_mb"] = max(1, int(raw["ram"]))
    disk = int(raw.get("tmpdir", 0)) + int(raw.get("outdir", 0))
    if disk:
        resources["disk_mb"] = disk
    if raw.get("timelimit"):
        resources["runtime"] = max(1, math.ceil(int(raw["timelimit"]) / 60))
    if executor == "htcondor":
        for generic, condor in (
            ("mem_mb", "htcondor_request_mem_mb"),
            ("disk_mb", "htcondor_request_disk_mb"),
        ):
            if generic in resources:
                resources[condor] = resources[generic]
    return resources


def step_overrides(
    overrides: Mapping[str, Any], executor: str, *, source: str, location: str | None = None
) -> dict[str, str]:
    """A definition file's per-step ``partition``/``account``/``queue``/``extra`` as resources.

    Settings that do not apply to ``executor`` (e.g. ``partition`` under htcondor) are dropped.
    """
    resources: dict[str, str] = {}
    for key, value in overrides.items():
        names = _OVERRIDES.get(str(key))
        if names is None:
            raise InputError(
                f"unknown step setting {key!r}",
                source=source,
                location=location,
                hint=f"use one of {', '.join(sorted(_OVERRIDES))}",
            )
        if not isinstance(value, str | int) or isinstance(value, bool) or "\n" in str(value):
            raise InputError(
                f"step setting {key!r} must be one line of text",
                source=source,
                location=location,
                hint="write a single value such as a partition name",
            )
        if executor in names:
            resources[names[executor]] = str(value)
    return resources
