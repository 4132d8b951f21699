"""Run: every CWL tool or workflow runs through Snakemake with a profile (local, Slurm, HTCondor).

Takes a CWL document, a job order and a :class:`~ossrflow.run.profiles.Profile`; plans it
(:mod:`.plan`, :mod:`.batches`), writes the run folder (:mod:`.snakegen`, :mod:`.rundir`), runs
Snakemake (:mod:`.snakemake`, :mod:`.execute`) whose jobs are :mod:`.job`; gives the CWL output
object and the run folder that provenance records.
"""
