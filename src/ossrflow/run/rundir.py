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
      .ossrflow/              ossrflow's own state: cwltool's cache, shims, up-to-date stamps,
                              the digests of input files (:mod:`.keys`)
      steps/<step>[/<i>]/     one job's folder: cwl.output.json, job.log, exit.code, batches,
                              ossrflow-job.json (the job's facts) and inputs.sha256 (its key)
      results/                the output files (``--outdir``'s default)
      workflow/               a definition composed for ``ossrflow run DEFINITION``
      rerun/                  what a rerun runs (``workflow.cwl``, ``job.json``)
      provenance/             the Workflow Run RO-Crate (:mod:`ossrflow.provenance`)

Job facts (``JOB_FACTS``, read with :func:`ossrflow.run.facts.read_job_facts`): every finished job
that runs a tool (a ``tool`` or ``step`` node of the plan, not the bookkeeping jobs) writes
``steps/<key>/ossrflow-job.json``, and a scattered step one per element,
``steps/<key>/<i>/ossrflow-job.json``, beside that folder's ``cwl.output.json``. For elements
that run in batches of precomputed commands (:mod:`.batches`) it is still one file per element
folder: the batch script records each element's status and times in ``exit.code``, and the
step's ``collect`` job writes the element's facts from it, atomically. Jobs that a later run
reuses keep the facts of the run that ran them; a job that runs again (its input changed, or its
output was lost) gets new ones.

``INPUT_KEY`` holds the content key of what a job read when it was planned (:mod:`.keys`,
:mod:`.freshness`): when it changes, the job's outputs are removed before Snakemake starts.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ossrflow.containers.pins import IMAGES_FILE
from ossrflow.run.profiles import BUILTIN_PROFILES

__all__ = [
    "BATCHES_FILE",
    "CACHE_DIR",
    "COMPOSED_DIR",
    "CRATE_DIR",
    "DIGESTS_FILE",
    "DOCUMENTS_STAMP",
    "EXIT_FILE",
    "IMAGES_FILE",
    "INPUT_KEY",
    "JOB_FACTS",
    "LOCK_FILE",
    "PLAN_FILE",
    "REPORT_FILE",
    "REPORT_LOG",
    "RERUN_DIR",
    "RESULTS_DIR",
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
UP_TO_DATE_STAMP = f"{CACHE_DIR}/up-to-date.json"
DOCUMENTS_STAMP = f"{CACHE_DIR}/documents.json"
DIGESTS_FILE = f"{CACHE_DIR}/digests.json"
JOB_FACTS = "ossrflow-job.json"
INPUT_KEY = "inputs.sha256"
STEPS_DIR = "steps"
BATCHES_FILE = "batches.json"
EXIT_FILE = "exit.code"
RESULTS_DIR = "results"
COMPOSED_DIR = "workflow"
RERUN_DIR = "rerun"
CRATE_DIR = "provenance"


def default_run_dir(target: Path, job: Path | None, profile: str | Path = "local") -> Path:
    """``runs/<name>-<hash>``: the same target, job and profile resume in the same folder.

    ``profile`` is a shipped profile's name or a profile folder (its absolute path counts): the
    same command with another profile starts a run folder of its own, so a finished local run
    is never passed off as one on the cluster.
    """
    where = str(profile) if str(profile) in BUILTIN_PROFILES else str(Path(profile).resolve())
    key = f"{target.resolve()}\n{job.resolve() if job else ''}\n{where}".encode()
    return Path("runs") / f"{target.stem}-{hashlib.sha256(key).hexdigest()[:8]}"
