"""How an ossrflow process ends: at once, once its exit handlers ran and its output is flushed.

A process that loaded cwltool's schemas, or Snakemake with its scheduler's timer threads, takes
a quarter of a second to a second to tear down every object or to wait on idle threads after its
work is done. The ``ossrflow`` program and the Snakemake host (:mod:`ossrflow.run.snakehost`)
end through :func:`exit_now` instead.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
from typing import NoReturn

__all__ = ["exit_now"]


def exit_now(code: object = 0) -> NoReturn:
    """End like ``sys.exit(code)`` (text: printed, status 1) without tearing objects down."""
    status = code if isinstance(code, int) else (0 if code is None else 1)
    if not isinstance(code, int) and code is not None:
        sys.stderr.write(f"{code}\n")
    atexit._run_exitfuncs()
    logging.shutdown()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(status)
