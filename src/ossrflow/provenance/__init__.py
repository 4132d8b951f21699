"""Provenance: every run leaves a Workflow Run RO-Crate; rerun repeats it and verifies every output.

Takes a finished (or failed) run folder; gives ``RUN_DIR/provenance/`` (:mod:`.record`,
:mod:`.crate`), the typed record read back (:mod:`.model`), comparisons of two records
(:mod:`.compare`), and :mod:`.rerun`, which checks this machine first (:mod:`.environment`:
the recorded commands, the run's own venv, container digests). :func:`.runs.run_and_record` is the one path that runs a
workflow and records it, for ``ossrflow run`` and for rerun.
"""
