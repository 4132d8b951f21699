"""The bash script of one batch of precomputed scatter elements (:mod:`.batches` plans them).

Each element block runs the command cwltool computed for it, with exactly that environment,
after linking its inputs into its stage folder (:mod:`ossrflow.cwl.staging`: a link already in
place for the same file is kept). An element whose exit status counts as success writes
``exit.code`` last, one line::

    STATUS STARTED ENDED HOST SCHEDULER_JOB_ID      (e.g. "0 2026-12-02T10:00:01Z … node3 4711")

(``-`` for a missing host or job id): the step's ``collect`` job turns it into the element's
facts (:mod:`.facts`). A failed element prints ``element I (INPUTS) failed with exit status N
(log: FILE)`` on the batch's log; :func:`ossrflow.run.snakemake.failure_of` reads it. Only bash
builtins run per element besides the tool and ``ln`` (a link not yet in place): forks cost time,
so the folders of all the batch's elements are made first, a few hundred per ``mkdir``, and when
the step's outputs are named when planning, an input link nothing names is not made at all.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ossrflow.run.rundir import EXIT_FILE, INPUT_KEY, JOB_FACTS

if TYPE_CHECKING:
    from cwltool.job import CommandLineJob

__all__ = ["NotExpressible", "render_element", "render_script"]


class NotExpressible(Exception):
    """The step (or one element) needs something only cwltool's job.run does."""


def _links(
    job: CommandLineJob, seen: Sequence[str] | None
) -> tuple[list[str], list[tuple[str, str]]]:
    """Folders to make and (source, link) pairs: cwltool's stage_files with symlinks.

    With ``seen`` (the texts the element's process is given: its arguments, environment values
    and redirections), a link in a stage folder none of them names is left out: nothing can
    reach it (the caller passes ``seen`` only when no output is collected through a staged path).
    """
    folders: list[str] = []
    links: list[tuple[str, str]] = []
    private = tuple(str(Path(p)) + "/" for p in (job.outdir, job.tmpdir) if p)
    for _, entry in job.pathmapper.items_exclude_children():
        if not entry.staged:
            continue
        folder = str(Path(entry.target).parent)
        if entry.type in ("File", "Directory") and Path(entry.resolved).exists():
            hidden = seen is not None and not entry.target.startswith(private)
            if hidden and not any(folder in text for text in seen or ()):
                continue
            links.append((entry.resolved, entry.target))
        elif entry.type == "Directory" and entry.resolved.startswith("_:"):
            folders.append(entry.target)
        else:
            raise NotExpressible(f"staging {entry.type}")
        folders.append(folder)
    return folders, links


def _given_texts(job: CommandLineJob) -> list[str]:
    """What the element's process is told: arguments, environment values, redirected files."""
    texts = [str(arg) for arg in job.command_line] + [str(v) for v in job.environment.values()]
    stdin = job.pathmapper.reversemap(job.stdin) if job.stdin else None
    texts += [str(stdin[1])] if stdin else []
    texts += [str(Path(job.outdir, name)) for name in (job.stdout, job.stderr) if name]
    return texts


def _success_codes(job: CommandLineJob) -> list[int]:
    """Exit statuses cwltool counts as success (0 unless listed as a failure)."""
    codes = set(job.successCodes)
    if 0 not in job.temporaryFailCodes and 0 not in job.permanentFailCodes:
        codes.add(0)
    return sorted(codes)


def _command(job: CommandLineJob) -> str:
    argv = [str(arg) for arg in job.command_line]
    if not argv or "=" in argv[0]:
        raise NotExpressible("empty command or '=' in the program name")
    env = [f"{name}={value}" for name, value in sorted(job.environment.items())]
    if any(not name.isidentifier() for name in job.environment):
        raise NotExpressible("environment variable name")
    words = ["env", "-i", "--", *env, *argv]
    if job.timelimit:
        words = ["timeout", "-s", "KILL", str(job.timelimit), *words]
    return shlex.join(words)


def _redirects(job: CommandLineJob, log: Path) -> tuple[str, str]:
    """The element's redirections, and the file its stderr goes to (for failure messages)."""
    q = shlex.quote
    stdin = job.pathmapper.reversemap(job.stdin) if job.stdin else None
    if job.stdin and stdin is None:
        raise NotExpressible("stdin outside the path mapper")
    parts = [f"< {q(stdin[1])}" if stdin else "< /dev/null"]
    out = str(Path(job.outdir, job.stdout)) if job.stdout else None
    err = str(Path(job.outdir, job.stderr)) if job.stderr else None
    parts.append(f"> {q(out)}" if out else f"> {q(str(log))}")
    parts.append(f"2> {q(err)}" if err else ("2>&1" if not out else f"2> {q(str(log))}"))
    return " ".join(parts), err or str(log)


def render_element(
    element: int,
    job: CommandLineJob,
    where: Path,
    description: str,
    *,
    only_named_links: bool = False,
    key: str | None = None,
) -> tuple[str, str]:
    """One element's two parts: reset it if an earlier attempt left folders and name the
    folders it needs (all elements' are made at once); then link its inputs, run, record.

    ``only_named_links``: the element's outputs are plain files named when planning
    (:mod:`.planned`), so only the stage links its command can name are made (one ``ln``
    fork less per element when a tool reads its input on stdin, for example). ``key``: the
    element's input key (:mod:`.freshness`), written in its folder before it runs.
    """
    q = shlex.quote
    folders, links = _links(job, _given_texts(job) if only_named_links else None)
    for stream in (job.stdout, job.stderr):
        if stream:
            folders.append(str(Path(job.outdir, stream).parent))
    folders = sorted({job.outdir, job.tmpdir, *folders} - {""})
    here = q(str(where))
    pending = f"if [ ! -s {q(str(where / EXIT_FILE))} ]; then"
    heading = f"# element {element}: {description}".replace("\n", " ")
    prepare = [
        heading,
        pending,
        f"  [ -e {here}/out ] && rm -rf "
        + " ".join(f"{here}/{name}" for name in ("out", "tmp", "work", JOB_FACTS)),
        "  folders+=(" + " ".join(q(f) for f in folders) + ")",
        "fi",
    ]
    redirects, errors = _redirects(job, where / "job.log")
    lines = [heading, pending]
    lines += [f"  [ {q(dst)} -ef {q(src)} ] || ln -sfn {q(src)} {q(dst)}" for src, dst in links]
    run = f"(cd {q(job.outdir)} && exec {_command(job)}) {redirects}"
    codes = "|".join(str(c) for c in _success_codes(job))
    what = q(f"{element} ({description})" if description else str(element))
    if key is not None:
        lines.append(f"  printf '%s\\n' {q(key)} > {q(str(where / INPUT_KEY))}")
    lines += [
        "  printf -v started '%(%Y-%m-%dT%H:%M:%SZ)T' -1",
        f"  {run}",
        f"  finish {here} $? '{codes}' \"$started\" {what} {q(errors)}",
        "fi",
    ]
    return "\n".join(prepare) + "\n", "\n".join(lines) + "\n"


_SCRIPT_HEAD = """\
#!/usr/bin/env bash
# Generated by ossrflow: {label}, scatter elements {first} to {last} of {count} (batch {batch}
# of {batches}). Each element runs the command cwltool computed for it at plan time, with exactly
# that environment, and records its exit status, times, host and scheduler job id in exit.code
# only when the status counts as success (one write; an element with a non-empty exit.code is
# skipped when the batch runs again). Outputs and job facts are collected once per step
# afterwards. Builtins where possible: forks cost time.
set -u
export TZ=UTC
failed=0
scratch=()
folders=()
host=${{HOSTNAME:--}}
job_id=${{SLURM_JOB_ID:-}}
if [ -z "$job_id" ] && [ -r "${{_CONDOR_JOB_AD:-}}" ]; then
  cluster='' proc=0
  while IFS=' =' read -r name value; do
    case $name in ClusterId) cluster=$value ;; ProcId) proc=$value ;; esac
  done < "$_CONDOR_JOB_AD"
  [ -n "$cluster" ] && job_id=$cluster.$proc
fi
job_id=${{job_id:--}}
{stage}
finish() {{  # finish ELEMENT_DIR STATUS SUCCESS_CODES(a|b|c) STARTED WHAT STDERR_FILE
  case "|$3|" in
    *"|$2|"*)
      printf -v ended '%(%Y-%m-%dT%H:%M:%SZ)T' -1
      printf '%s %s %s %s %s\\n' "$2" "$4" "$ended" "$host" "$job_id" > "$1/exit.code"
      scratch+=("$1/tmp") ;;
    *)
      echo "element $5 failed with exit status $2 (log: $6)" >&2
      failed=$((failed + 1)) ;;
  esac
}}

"""

# The stage root must be the user's own folder, not a link another user planted in /tmp.
_STAGE_CHECK = """\
stage_root={root}
if ! {{ [ -d "$stage_root" ] && [ ! -L "$stage_root" ] && [ -O "$stage_root" ]; }}; then
  (umask 077 && mkdir -p "$stage_root")
  for d in "${{stage_root%/*}}" "$stage_root"; do
    if [ -L "$d" ] || [ ! -d "$d" ] || [ ! -O "$d" ]; then
      echo "error: $d: the stage folder is not a folder of this user (fix: remove it)" >&2
      exit 1
    fi
  done
fi
"""

# The folders of every element still to run, a few hundred per mkdir: one fork, not one each.
_MAKE_FOLDERS = """
for ((i = 0; i < ${#folders[@]}; i += 256)); do
  mkdir -p "${folders[@]:i:256}"
done

"""

_SCRIPT_TAIL = """
[ "${{#scratch[@]}}" -eq 0 ] || rm -rf "${{scratch[@]}}"
if [ "$failed" -ne 0 ]; then
  echo "$failed element(s) of this batch failed" >&2
  exit 1
fi
: > {marker}
"""


def render_script(
    *,
    label: str,
    index: int,
    ranges: tuple[tuple[int, int], ...],
    count: int,
    blocks: list[tuple[str, str]],
    marker: str,
    stage_root: Path | None,
) -> str:
    """The whole script of batch ``index`` (``stage_root``: None when nothing is staged)."""
    first, last = ranges[index][0], ranges[index][1] - 1
    stage = _STAGE_CHECK.format(root=shlex.quote(str(stage_root))) if stage_root else ""
    head = _SCRIPT_HEAD.format(
        label=label.replace("\n", " "),
        first=first,
        last=last,
        count=count,
        batch=index,
        batches=len(ranges),
        stage=stage,
    )
    prepare = "\n".join(block[0] for block in blocks)
    run = "\n".join(block[1] for block in blocks)
    return head + prepare + _MAKE_FOLDERS + run + _SCRIPT_TAIL.format(marker=shlex.quote(marker))
