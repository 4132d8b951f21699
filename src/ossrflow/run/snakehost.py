"""Run Snakemake so that it stops, with its jobs, when the ossrflow process that started it dies.

``python -m ossrflow.run.snakehost PARENT_PID ARGS...`` is ``python -m snakemake ARGS...`` plus one
guard: when the
parent ossrflow process ends for any reason (even SIGKILL), Snakemake and its local jobs are
interrupted as if by Ctrl-C in a terminal (SIGINT to the process group): the jobs stop, Snakemake
cancels what it submitted (``scancel`` on Slurm) and marks it incomplete; 30 s later whatever is
left of the process group is killed. Without this guard an
orphaned Snakemake would finish a job while a resumed run starts the same job again.
``execute`` starts this module in a new session, so the process group holds Snakemake and its
local jobs only.

Five savings, two to three seconds of every run. When ``OSSRFLOW_SNAKEMAKE_HOLD`` is set, the
host imports Snakemake and parses its command line at once, then waits for ``go`` on stdin:
ossrflow starts it before it plans the run, so that work overlaps the planning. When
``OSSRFLOW_EXECUTOR`` names the profile's executor, Snakemake discovers only that executor plugin
(it imports every installed one at start, and the slurm plugin alone imports pandas). Unless the
command line asks for a report, Snakemake's report package is left out (its parser registers the
built-in html reporter, which imports docutils, jinja2, yte and numpy: a fifth of a second). The
profile's YAML reader, yte, is imported without numpy (a tenth of a second). And once Snakemake
has returned, the process runs the exit handlers, flushes and ends at once instead of waiting on
the re-evaluation timers Snakemake's scheduler leaves behind (a second of idle
``threading._shutdown``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pkgutil
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from types import FrameType

from ossrflow.processes import exit_now

__all__ = [
    "EXECUTOR_ENV",
    "GO",
    "HOLD_ENV",
    "main",
    "only_executor_plugin",
    "set_process_name",
    "signal_on_parent_death",
    "without_reports",
    "yte_without_numpy",
]

EXECUTOR_ENV = "OSSRFLOW_EXECUTOR"
HOLD_ENV = "OSSRFLOW_SNAKEMAKE_HOLD"
GO = "go\n"
_PLUGIN_PREFIX = "snakemake_executor_plugin_"

GRACE_SECONDS = 30.0
_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15


def _kill_group() -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(0), signal.SIGKILL)


def _parent_died(signum: int, frame: FrameType | None) -> None:
    """Do what Ctrl-C in a terminal does: interrupt Snakemake and its local jobs together."""
    timer = threading.Timer(GRACE_SECONDS, _kill_group)
    timer.daemon = True
    timer.start()
    # Nobody reads our output pipe any more. Snakemake's log handler re-raises BrokenPipeError,
    # which would end it before it cancels its scheduler jobs: write to /dev/null instead.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(0), signal.SIGINT)


def _prctl(option: int, value: int | bytes) -> None:
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(option, value)


def signal_on_parent_death(signum: int) -> None:
    """Ask Linux to send ``signum`` to this process when its parent dies (no-op elsewhere)."""
    _prctl(_PR_SET_PDEATHSIG, int(signum))


def set_process_name(name: str) -> None:
    """Name this process in ``ps -o comm`` and ``/proc/PID/comm`` (Linux: 15 bytes at most)."""
    _prctl(_PR_SET_NAME, name.encode()[:15])


def _watch_parent(parent: int) -> None:
    """Ask Linux for SIGUSR2 when the parent dies (no-op elsewhere)."""
    signal.signal(signal.SIGUSR2, _parent_died)
    signal_on_parent_death(signal.SIGUSR2)
    if os.getppid() != parent:  # the parent died before the request took effect
        raise SystemExit(130)


def only_executor_plugin(executor: str) -> None:
    """Make Snakemake's plugin discovery see no executor plugin but ``executor``'s own.

    Each of Snakemake's plugin registries (executor, storage, report, logger, scheduler) lists
    every module on ``sys.path`` (``pkgutil.iter_modules()``, a quarter of a second in all with
    a few hundred installed packages); that listing is made once here and reused while
    ``sys.path`` stays the same.
    """
    wanted = _PLUGIN_PREFIX + executor.replace("-", "_")
    everything = pkgutil.iter_modules
    listed: dict[tuple[str, ...], list[pkgutil.ModuleInfo]] = {}

    def modules(*args: object, **kwargs: object) -> Iterator[pkgutil.ModuleInfo]:
        if args or kwargs:  # a given path or prefix: not what the registries ask
            found: Iterable[pkgutil.ModuleInfo] = everything(*args, **kwargs)  # type: ignore[arg-type]
        else:
            found = listed.get(key := tuple(sys.path)) or listed.setdefault(key, [*everything()])
        for module in found:
            if not module.name.startswith(_PLUGIN_PREFIX) or module.name == wanted:
                yield module

    pkgutil.iter_modules = modules


def without_reports(args: list[str]) -> None:
    """Keep Snakemake's report package out of a run whose command line has no ``--report``.

    Snakemake's argument parser imports it only to register the html reporter, which such a
    run never uses (a profile may not set ``reporter`` or ``report-after-run``:
    :data:`ossrflow.run.profiles.OWNED_KEYS`). Without the package the report registry is
    empty, as when Snakemake is absent.
    """
    if not any(arg == "--report" or arg.startswith("--report=") for arg in args):
        sys.modules.setdefault("snakemake.report", None)  # type: ignore[arg-type]


def yte_without_numpy() -> None:
    """Import yte, Snakemake's reader of profile files, without numpy (a tenth of a second).

    yte imports numpy, when it can, only to turn numpy values that a profile's embedded Python
    code returns into plain ones; ossrflow's profiles are plain YAML. numpy stays importable
    for anything else that asks for it; if yte ever needs numpy, Snakemake imports yte itself.
    """
    if "numpy" in sys.modules or "yte" in sys.modules:
        return
    sys.modules["numpy"] = None  # type: ignore[assignment]
    try:
        with contextlib.suppress(ImportError):  # a failed import leaves no "yte" module behind
            importlib.import_module("yte")
    finally:
        del sys.modules["numpy"]


def _wait_for_go() -> None:
    """Wait until ossrflow has written the Snakefile (``go`` on stdin; EOF: not needed)."""
    if sys.stdin.readline() != GO:
        exit_now(0)


def _import_for_the_snakefile() -> None:
    """Import what Snakemake imports only once it opens the Snakefile (``smart_open``, for
    its source cache: 0.15 s with ``requests``), while ossrflow still plans."""
    with contextlib.suppress(ImportError):
        importlib.import_module("smart_open")


def _run(args: list[str], *, held: bool) -> None:
    """Snakemake's own ``main`` with ``args``, waiting for ``go`` between its two halves when held.

    Parsing the command line (the profile, every plugin's options: a third of a second) needs
    no Snakefile, so a held host does it, and the imports the Snakefile will need, while
    ossrflow plans; only the run waits for ``go``.
    """
    from snakemake.cli import args_to_api, parse_args
    from snakemake.exceptions import print_exception

    try:
        parser, parsed = parse_args(args)
        if held:
            _import_for_the_snakefile()
            _wait_for_go()
        success = args_to_api(parsed, parser)
    except Exception as exc:  # noqa: BLE001 - snakemake.cli.main reports any error so
        print_exception(exc)
        exit_now(1)
    exit_now(0 if success else 1)


def main(argv: list[str] | None = None) -> None:
    """Run Snakemake with ``argv`` (``PARENT_PID ARGS...``) under the guard described above."""
    parent, *args = sys.argv[1:] if argv is None else argv
    # A background start may leave SIGINT ignored; Snakemake cancels its jobs on KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _watch_parent(int(parent))
    if executor := os.environ.get(EXECUTOR_ENV):
        only_executor_plugin(executor)
    without_reports(args)
    yte_without_numpy()
    held = bool(os.environ.pop(HOLD_ENV, None))
    sys.argv = ["snakemake", *args]
    try:
        _run(args, held=held)
    except SystemExit as exc:
        exit_now(exc.code)


if __name__ == "__main__":
    main()
