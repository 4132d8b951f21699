"""CWL documents: load (offline, cached), job-order values, inputs, outputs and type algebra.

Takes a CWL file or object; gives cwltool's loaded process, JSON-safe job values and output
objects. Used by compose (types), run (planning and jobs) and provenance (outputs).
"""
