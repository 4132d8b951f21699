"""Serve: the analysis platform's door to ossrflow over HTTP.

GA4GH WES 1.1 (runs: submit, watch, cancel, fetch outputs and crates), GA4GH TRS 2.0.1 (the OSSR's
entries as runnable CWL tools) and matchmaking (entries for a shopping cart). Like the CLI, a thin
layer over the public API (``ossrflow/__init__.py``): it queues, starts and watches runs; the
compute facility (a profile: local, Slurm, HTCondor) runs them.
"""
