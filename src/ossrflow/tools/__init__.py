"""Tools: an entry (codemeta + the command line it ships or a user declares) becomes a CWL tool.

Takes a registry :class:`~ossrflow.registry.entry.Entry`; gives a CWL v1.2 ``CommandLineTool``
carrying its codemeta as schema.org annotations (:mod:`.cwlgen`), the interface files it is built
from (:mod:`.interface`, :mod:`.interface_draft`) and container recipes (:mod:`.containerize`).
"""
