"""How the service is set up: :class:`ServeConfig`, made once by ``ossrflow serve`` (or a test).

Every field is fixed for the life of the process. The facilities on offer are Snakemake profiles
(``--profile NAME=PATH``, a builtin name alone for ``local``, ``slurm``, ``htcondor``); the first
one is the default of a run that names none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import ossrflow
from ossrflow.errors import InputError

__all__ = [
    "DB_NAME",
    "DEFAULT_CONTAINER_USER",
    "DEFAULT_MAX_UPLOAD",
    "Limits",
    "ServeConfig",
    "default_db_url",
    "parse_profiles",
]

DB_NAME = "ossrflow-serve.db"
DEFAULT_MAX_UPLOAD = 512 << 20  # bytes of one POST /runs request
DEFAULT_CONTAINER_USER = "65534:65534"  # nobody:nogroup on Debian


@dataclass(frozen=True)
class Limits:
    """What one submission may hold (every refusal is a 4xx ErrorResponse)."""

    max_request_bytes: int = DEFAULT_MAX_UPLOAD
    max_attachments: int = 1000
    max_field_bytes: int = 1 << 20  # workflow_params, tags, engine parameters: JSON text
    max_name_length: int = 255  # one attachment name, all folders included
    max_tags: int = 100
    max_download_bytes: int = 64 << 20  # a workflow_url fetched over http(s)
    max_document_bytes: int = 64 << 20  # one attached YAML/JSON document (the CLI's limit)
    max_output_bytes: int = 16 << 20  # a run's CWL output object, as JSON


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``ossrflow serve`` is started with (see ``ossrflow serve --help``)."""

    host: str
    port: int
    runs_dir: Path
    db_url: str
    tokens_file: Path | None
    oidc_issuer: str | None
    oidc_audience: str | None
    data_roots: tuple[Path, ...]
    profiles: Mapping[str, Path]
    max_runs: int
    allow_native: bool
    settings: ossrflow.Settings
    limits: Limits = field(default_factory=Limits)
    container_user: str = DEFAULT_CONTAINER_USER  # who steps run as in containers (if root)
    poll_seconds: float = 0.5  # how often the run manager looks at its workers
    max_attempts: int = 3  # worker starts of one run (a resume after a crash counts)

    def __post_init__(self) -> None:
        if self.max_runs < 1:
            raise InputError(
                f"--max-runs {self.max_runs} is not positive", hint="give 1 or more runs at once"
            )
        if not self.profiles:
            raise InputError("no facility (profile) to run on", hint="give --profile NAME=PATH")
        object.__setattr__(self, "profiles", MappingProxyType(dict(self.profiles)))
        object.__setattr__(self, "runs_dir", self.runs_dir.absolute())
        object.__setattr__(self, "data_roots", tuple(p.resolve() for p in self.data_roots))

    @property
    def default_profile(self) -> str:
        """The facility of a run that names none: the first one given."""
        return next(iter(self.profiles))

    @property
    def auth_configured(self) -> bool:
        return self.tokens_file is not None or self.oidc_issuer is not None


def default_db_url(runs_dir: Path) -> str:
    """SQLite in the runs folder."""
    return f"sqlite:///{runs_dir.absolute() / DB_NAME}"


def parse_profiles(values: Sequence[str]) -> dict[str, Path]:
    """``NAME=PATH`` (or a builtin name alone) -> {name: profile folder}, checked to load.

    No value gives the builtin ``local`` profile only.
    """
    profiles: dict[str, Path] = {}
    for value in values or ["local"]:
        name, sep, where = value.partition("=")
        name = name.strip()
        if not sep:
            where = name
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise InputError(
                f"facility name {name!r} is not a plain name",
                location="--profile",
                hint="write NAME=PATH, e.g. slurm=profiles/slurm (letters, digits, - and _)",
            )
        if name in profiles:
            raise InputError(
                f"facility {name!r} given twice", location="--profile", hint="name each once"
            )
        profiles[name] = ossrflow.load_profile(where).path
    return profiles
