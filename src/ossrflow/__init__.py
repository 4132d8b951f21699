"""ossrflow: from OSSR software entries and shopping-cart data to reproducible CWL runs on Snakemake.

The public API is this module's ``__all__``; submodules are private unless named here. Names are
imported lazily, so ``import ossrflow`` (and ``ossrflow --help``) stays fast.

Verbs have one meaning each, everywhere:

- ``search_*``  text -> list of matches
- ``get_*``     identifier -> one typed object; raises ``NotFound``
- ``resolve_*`` DOI / concept DOI / reference -> a pinned version
- ``load_*``    file -> typed value, errors located as ``file:line:col``
- ``parse_*``   bytes/str/JSON -> typed value; pure, no I/O
- ``render_*``  typed value -> text;  ``write_*``: typed value -> file (atomically)
- ``verify_*``  raises on mismatch, returns nothing
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "ChecksumMismatch": "ossrflow.errors",
    "InputError": "ossrflow.errors",
    "NotFound": "ossrflow.errors",
    "OssrflowError": "ossrflow.errors",
    "ServiceError": "ossrflow.errors",
    "UnsafeValue": "ossrflow.errors",
    "Unsupported": "ossrflow.errors",
    "VerificationFailed": "ossrflow.errors",
    "WorkflowFailed": "ossrflow.errors",
    "EnvVars": "ossrflow.config",
    "Settings": "ossrflow.config",
    "resolve_settings": "ossrflow.config",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:
    from ossrflow.config import EnvVars, Settings, resolve_settings
    from ossrflow.errors import (
        ChecksumMismatch,
        InputError,
        NotFound,
        OssrflowError,
        ServiceError,
        UnsafeValue,
        Unsupported,
        VerificationFailed,
        WorkflowFailed,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ossrflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
