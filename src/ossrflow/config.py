"""Settings, resolved once at the CLI edge: flag > environment variable > config file > default.

Library functions never read the environment; they take explicit parameters. The CLI calls
:func:`resolve_settings` once per command and hands the frozen :class:`Settings` down.

The config file is TOML (``$OSSRFLOW_CONFIG``, else ``config.toml`` in the user config folder,
e.g. ``~/.config/ossrflow/config.toml``), with keys named like the fields below::

    registry = "https://zenodo.org/api"
    community = "escape2020"
    cache_dir = "/scratch/me/ossrflow-cache"
    timeout = 30
    max_download_size = "64G"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from ossrflow.errors import InputError

__all__ = [
    "DEFAULT_REGISTRY",
    "EnvVars",
    "Settings",
    "default_config_path",
    "parse_size",
    "resolve_settings",
]

DEFAULT_REGISTRY = "https://zenodo.org/api"
DEFAULT_MAX_DOWNLOAD = 64 << 30
_SIZE = re.compile(r"(?P<number>[0-9]+)\s*(?P<unit>[KMGT]?)(?:i?B)?", re.IGNORECASE)


class EnvVars:
    """Every environment variable ossrflow reads (listed in docs/environment.md)."""

    REGISTRY = "OSSRFLOW_REGISTRY"
    COMMUNITY = "OSSRFLOW_COMMUNITY"
    TOKEN = "OSSRFLOW_TOKEN"  # noqa: S105 - the variable's name, not a secret
    CACHE_DIR = "OSSRFLOW_CACHE_DIR"
    OFFLINE = "OSSRFLOW_OFFLINE"
    TIMEOUT = "OSSRFLOW_TIMEOUT"
    RETRIES = "OSSRFLOW_RETRIES"
    MAX_DOWNLOAD_SIZE = "OSSRFLOW_MAX_DOWNLOAD_SIZE"
    PARALLEL_DOWNLOADS = "OSSRFLOW_PARALLEL_DOWNLOADS"
    PROFILE = "OSSRFLOW_PROFILE"
    CONFIG = "OSSRFLOW_CONFIG"
    DEBUG = "OSSRFLOW_DEBUG"


def _meta(env: str, help_text: str, kind: str | None = None) -> dict[str, str]:
    return {"env": env, "help": help_text} | ({"kind": kind} if kind else {})


def parse_size(text: str) -> int:
    """Bytes from ``1000``, ``512K``, ``64G``, ``2TiB`` (units are powers of 1024)."""
    found = _SIZE.fullmatch(str(text).strip())
    if found is None:
        raise ValueError(text)
    return int(found["number"]) << (10 * " KMGT".index(found["unit"].upper() or " "))


@dataclass(frozen=True)
class Settings:
    """Everything configurable, after precedence has been applied. Field metadata names the env var."""

    registry: str = field(
        default=DEFAULT_REGISTRY,
        metadata=_meta(EnvVars.REGISTRY, "Zenodo API base URL, or dir:PATH for a folder registry"),
    )
    community: str = field(
        default="escape2020",
        metadata=_meta(EnvVars.COMMUNITY, "Zenodo community searched (empty string: all)"),
    )
    token: str | None = field(
        default=None,
        repr=False,
        metadata=_meta(EnvVars.TOKEN, "Zenodo access token, sent in the Authorization header"),
    )
    cache_dir: Path = field(
        default_factory=lambda: Path(platformdirs.user_cache_dir("ossrflow")),
        metadata=_meta(EnvVars.CACHE_DIR, "cache of records, files and staged data"),
    )
    offline: bool = field(
        default=False, metadata=_meta(EnvVars.OFFLINE, "serve pinned records from the cache only")
    )
    timeout: float = field(
        default=30.0, metadata=_meta(EnvVars.TIMEOUT, "seconds before an HTTP request gives up")
    )
    retries: int = field(
        default=4, metadata=_meta(EnvVars.RETRIES, "retries on HTTP 429/5xx, with backoff")
    )
    max_download_size: int = field(
        default=DEFAULT_MAX_DOWNLOAD,
        metadata=_meta(
            EnvVars.MAX_DOWNLOAD_SIZE,
            "largest download of a cart item that declares no size (bytes, or 512M, 64G, …)",
            kind="size",
        ),
    )
    parallel_downloads: int = field(
        default=8,
        metadata=_meta(
            EnvVars.PARALLEL_DOWNLOADS,
            "files of a Rucio dataset downloaded at a time (HTTP connections)",
        ),
    )
    profile: str | None = field(
        default=None,
        metadata=_meta(
            EnvVars.PROFILE,
            "execution profile: local, slurm, htcondor or a path "
            "(none chosen: run uses local, rerun the recorded one)",
        ),
    )

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise InputError(
                f"timeout {self.timeout} is not positive",
                location="timeout",
                hint="give seconds > 0",
            )
        if self.retries < 0:
            raise InputError(
                f"retries {self.retries} is negative", location="retries", hint="give 0 or more"
            )
        if self.max_download_size < 1:
            raise InputError(
                f"max_download_size {self.max_download_size} is not positive",
                location="max_download_size",
                hint="give bytes > 0, e.g. 64G",
            )
        if not 1 <= self.parallel_downloads <= 64:
            raise InputError(
                f"parallel_downloads {self.parallel_downloads} is not between 1 and 64",
                location="parallel_downloads",
                hint="give a number of downloads at a time, e.g. 8",
            )


def default_config_path(env: Mapping[str, str]) -> Path:
    """Where the config file is looked for."""
    if env.get(EnvVars.CONFIG):
        return Path(env[EnvVars.CONFIG])
    return Path(platformdirs.user_config_dir("ossrflow")) / "config.toml"


def _convert(name: str, kind: Any, raw: object, source: str) -> object:
    """Convert a raw env/config value to the field's type; located error on failure."""
    text = str(raw)
    try:
        if kind == "size":
            return raw if isinstance(raw, int) and not isinstance(raw, bool) else parse_size(text)
        if kind in (bool, "bool"):
            if isinstance(raw, bool):
                return raw
            lowered = text.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(text)
        if kind in (float, "float"):
            return float(text)
        if kind in (int, "int"):
            return int(text)
        if kind in (Path, "Path"):
            return Path(text).expanduser()
    except ValueError:
        raise InputError(
            f"{name}: {text!r} is not a valid {getattr(kind, '__name__', kind)}",
            source=source,
            hint="correct the value",
        ) from None
    return text


def _load_config(path: Path) -> dict[str, object]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"invalid TOML: {exc}", source=str(path), hint="fix the syntax or remove the file"
        ) from None
    known = {f.name for f in fields(Settings)}
    for key in data:
        if key not in known:
            raise InputError(
                f"unknown setting {key!r}",
                source=str(path),
                location=key,
                hint=f"known settings: {', '.join(sorted(known))}",
            )
    return data


def _kind(spec: Any) -> Any:
    return spec.metadata.get("kind") or spec.type


def resolve_settings(
    flags: Mapping[str, object | None],
    env: Mapping[str, str],
    config_path: Path | None = None,
) -> Settings:
    """Apply precedence flag > environment > config file > default, once, and freeze the result.

    ``flags`` maps field names to values given on the command line (``None`` = not given).
    """
    path = config_path or default_config_path(env)
    config = _load_config(path)
    values: dict[str, Any] = {}
    for spec in fields(Settings):
        env_name = spec.metadata["env"]
        if flags.get(spec.name) is not None:
            values[spec.name] = flags[spec.name]
        elif env.get(env_name) not in (None, ""):
            values[spec.name] = _convert(spec.name, _kind(spec), env[env_name], f"${env_name}")
        elif spec.name in config:
            values[spec.name] = _convert(spec.name, _kind(spec), config[spec.name], str(path))
    if values.get("cache_dir") is not None:
        values["cache_dir"] = Path(str(values["cache_dir"])).expanduser()
    return replace(Settings(), **values)
