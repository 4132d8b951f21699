"""How to run: :class:`RunOptions`, made once from the settings by every caller."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ossrflow.run.profiles import Profile

if TYPE_CHECKING:
    from ossrflow.config import Settings

__all__ = ["RunOptions"]


@dataclass(frozen=True)
class RunOptions:
    """How to run: profile, parallelism, retries, dry run, report, container engine, caches."""

    profile: Profile
    jobs: int | None = None
    retries: int = 0
    dry_run: bool = False
    report: bool = False  # also write Snakemake's HTML report, RUN_DIR/report.html
    overrides: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    cache_dir: Path | None = None
    container: str | None = None  # docker | podman | apptainer | none; None: profile, else auto
    image_cache: Path | None = None  # where Apptainer's SIF files are kept (RUN_DIR/.ossrflow)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        profile: Profile,
        *,
        jobs: int | None = None,
        retries: int = 0,
        dry_run: bool = False,
        report: bool = False,
        container: str | None = None,
    ) -> RunOptions:
        """The options of a run with these settings: caches under the settings' cache folder."""
        return cls(
            profile,
            jobs=jobs,
            retries=retries,
            dry_run=dry_run,
            report=report,
            cache_dir=settings.cache_dir / "cwl",
            container=container,
            image_cache=settings.cache_dir / "images",
        )
