"""Deterministic staging: a job's inputs appear at the same paths in every run of the same content.

cwltool links each input file of a job into ``<stagedir>/stg<uuid4>/<basename>``, so a tool
that prints its input paths (``sha256sum``, ``fitsinfo``) never reruns identically. ossrflow
changes two things:

- the folders are numbered, ``stg0``, ``stg1``, … in the order of the job's files (fixed by the
  job order), inside a container (``/var/lib/cwl/stg0/…``) as outside (:func:`path_mapper`);
- a native job's stage folder is :func:`stage_dir`: ``/tmp/ossrflow-<uid>/stage/<key>``, where
  the key is derived from the step, the scatter element and the *content* of what the job reads
  (:func:`ossrflow.run.keys.content_key`), not from the run folder. A rerun in another folder,
  of the same step on the same data, sees the same paths.

The stage folder holds symbolic links, and the file literals of the job order (``contents:``).
Two runs that stage the same step element on the same content at the same moment share it:
ossrflow makes the links itself, each by an atomic rename, and replaces one only when it points at
another file (whose content is then the same, by the key), a literal already written with the same text is kept (cwltool leaves it read-only, which
only root could overwrite), and nothing removes the folder while a job
may use it (cwltool's clean-up of it is turned off). The links stay behind (a few bytes each);
``/tmp/ossrflow-<uid>/stage`` can be removed whenever no run is going.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from functools import cache
from pathlib import Path
from typing import Any

from ossrflow.errors import UnsafeValue
from ossrflow.integrity import atomic_symlink

__all__ = ["ensure_stage_root", "native_job_class", "path_mapper", "stage_dir", "stage_root"]


def stage_root() -> Path:
    """``/tmp/ossrflow-<uid>/stage``: the same on every machine a user's jobs run on."""
    return Path(f"/tmp/ossrflow-{os.getuid()}/stage")  # noqa: S108 - checked by ensure_stage_root


def stage_dir(step: str, element: int | None, content: str) -> Path:
    """The stage folder of one job: step key, scatter element and content key decide it."""
    text = f"{step}\n{'' if element is None else element}\n{content}"
    return stage_root() / hashlib.sha256(text.encode()).hexdigest()[:20]


def ensure_stage_root(root: Path | None = None) -> Path:
    """Create the stage root (mode 0700) and refuse one that another user owns or a link."""
    root = root or stage_root()
    for folder in (root.parent, root):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
        info = folder.lstat()
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            raise UnsafeValue(
                "the stage folder is not a plain folder",
                source=str(folder),
                hint="remove it; ossrflow makes it again",
            )
        if info.st_uid != os.getuid():
            raise UnsafeValue(
                "the stage folder belongs to another user",
                source=str(folder),
                hint="remove it (as its owner or root); ossrflow makes it again",
            )
    return root


@cache
def path_mapper() -> type[Any]:
    """cwltool's PathMapper with numbered stage folders (``stg0``, ``stg1``, …)."""
    from cwltool.pathmapper import PathMapper

    class NumberedPathMapper(PathMapper):
        def setup(self, referenced_files: Any, basedir: str) -> None:
            for index, item in enumerate(referenced_files):
                where = f"{self.stagedir}/stg{index}" if self.separateDirs else self.stagedir
                copy = bool(item.get("writable", False) or False)
                self.visit(item, where, basedir, copy=copy, staged=True)

    return NumberedPathMapper


@cache
def native_job_class() -> type[Any]:
    """cwltool's CommandLineJob staging into a shared, deterministic stage folder.

    A link already in place for the same file is kept; one pointing elsewhere is replaced; and
    the stage folder is not removed afterwards (another run may be using it, see above).
    """
    from cwltool.job import CommandLineJob

    class SharedStageJob(CommandLineJob):
        def run(self, runtimeContext: Any, tmpdir_lock: Any = None) -> None:
            _prepare_links(self.pathmapper)
            self.stagedir = None  # cwltool removes the stagedir after a run: not a shared one
            super().run(runtimeContext, tmpdir_lock)

    return SharedStageJob


def _prepare_links(mapper: Any) -> None:
    """Link every input file and folder into the stage folder ourselves, marked unstaged for
    cwltool: a link already pointing at its file is kept, any other link is replaced by an
    atomic rename, so two runs staging the same folder at once both succeed (cwltool's own
    ``os.symlink`` fails for the second). File literals already written with the same text are
    kept (:func:`_prepare_literal`)."""
    for key, entry in list(mapper.items_exclude_children()):
        if not entry.staged:
            continue
        Path(entry.target).parent.mkdir(parents=True, exist_ok=True)
        if entry.type == "CreateFile":
            _prepare_literal(mapper, key, entry)
        if entry.type not in ("File", "Directory"):
            continue
        target, resolved = Path(entry.target), Path(entry.resolved)
        if not resolved.exists() or (os.path.lexists(target) and not target.is_symlink()):
            continue  # cwltool stages it, or says why it cannot
        if not (target.is_symlink() and target.exists() and target.samefile(resolved)):
            atomic_symlink(resolved, target)
        mapper.update(key, entry.resolved, entry.target, entry.type, False)


def _prepare_literal(mapper: Any, key: str, entry: Any) -> None:
    """A file literal (``contents:``) an earlier run wrote here is read-only (cwltool makes it
    so), and only root may open it for writing again: one with the same text is kept (marked
    unstaged, as cwltool marks a literal it wrote), any other made writable for cwltool."""
    target = Path(entry.target)
    if target.is_symlink() or not target.is_file():
        return
    try:
        same = target.read_text(encoding="utf-8") == entry.resolved
    except (OSError, UnicodeDecodeError):
        same = False
    if same:
        mapper.update(key, entry.target, entry.target, entry.type, False)
    else:
        target.chmod(stat.S_IRUSR | stat.S_IWUSR)
