"""Every name inside a run folder, in one place.

::

    RUN_DIR/
      Snakefile               the generated workflow (:mod:`.snakegen`)
      plan.json               the plan every job reads (:mod:`.plan`, :mod:`.job`)
      images.json             container images pinned by digest (:mod:`ossrflow.containers.pins`)
      snakemake.log           Snakemake's log (:mod:`.execute`, :mod:`ossrflow.provenance.scan`)
      snakemake-report.log    the log of ``--report``'s second Snakemake call
      report.html             Snakemake's HTML report (``--report``)
      .ossrflow.lock          keeps two ossrflow processes out of one run folder
      .ossrflow/              ossrflow's own state: cwltool's cache, shims, up-to-date stamps
      steps/<step>[/<i>]/     one job's folder: cwl.output.json, job.log, exit.code, batches
      results/                the output files (``--outdir``'s default)
      workflow/               a definition composed for ``ossrflow run DEFINITION``
      rerun/                  what a rerun runs (``workflow.cwl``, ``job.json``)
      provenance/             the Workflow Run RO-Crate (:mod:`ossrflow.provenance`)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ossrflow.containers.pins import IMAGES_FILE

__all__ = [
    "BATCHES_FILE",
    "CACHE_DIR",
    "COMPOSED_DIR",
    "CRATE_DIR",
    "DOCUMENTS_STAMP",
    "EXIT_FILE",
    "IMAGES_FILE",
    "LOCK_FILE",
    "PLAN_FILE",
    "REPORT_FILE",
    "REPORT_LOG",
    "RERUN_DIR",
    "RESULTS_DIR",
    "SHIM_DIR",
    "SNAKEFILE",
    "SNAKEMAKE_LOG",
    "STEPS_DIR",
    "UP_TO_DATE_STAMP",
    "default_run_dir",
]

SNAKEFILE = "Snakefile"
PLAN_FILE = "plan.json"
SNAKEMAKE_LOG = "snakemake.log"
REPORT_LOG = "snakemake-report.log"
REPORT_FILE = "report.html"
LOCK_FILE = ".ossrflow.lock"
CACHE_DIR = ".ossrflow"
SHIM_DIR = f"{CACHE_DIR}/bin"
UP_TO_DATE_STAMP = f"{CACHE_DIR}/up-to-date.json"
DOCUMENTS_STAMP = f"{CACHE_DIR}/documents.json"
STEPS_DIR = "steps"
BATCHES_FILE = "batches.json"
EXIT_FILE = "exit.code"
RESULTS_DIR = "results"
COMPOSED_DIR = "workflow"
RERUN_DIR = "rerun"
CRATE_DIR = "provenance"


def default_run_dir(target: Path, job: Path | None) -> Path:
    """``runs/<name>-<hash>``: the same target and job resume in the same folder."""
    key = f"{target.resolve()}\n{job.resolve() if job else ''}".encode()
    return Path("runs") / f"{target.stem}-{hashlib.sha256(key).hexdigest()[:8]}"
