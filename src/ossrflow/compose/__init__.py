"""Compose: a workflow definition file wires entries and cart data into a CWL ``Workflow``.

Takes a definition (:mod:`.definition`, read by :mod:`.definition_reader`), resolves its entries
(:mod:`.entries`) and stages its inputs; gives ``workflow.cwl``, ``job.yml`` and
``ossrflow.lock.json`` (:mod:`.composition`, :mod:`.workflowgen`, :mod:`.lock`) after checking the
wiring (:mod:`.wiring`), held to an earlier lock (:mod:`.pinning`). :mod:`.match` ranks entries
for a cart.
"""
