"""What a submission runs: its ``workflow_type`` and the document its ``workflow_url`` names.

``workflow_type`` is ``CWL`` (``v1.0``, ``v1.1``, ``v1.2``) or ``OSSRFLOW`` (a definition file,
version ``1``). ``workflow_url`` is, in this order:

- an attachment, by its relative name (a definition must be one);
- an http(s) URL: a registry record URL is that entry (below), any other URL a CWL document the
  worker fetches;
- a registry reference (record id, DOI, concept DOI, record URL; with a folder registry also an
  entry name): the entry's generated tool, as ``ossrflow cwl REF`` writes it. The reference is
  resolved at submission in the service's ``--registry`` (a concept to its latest version), and
  the run is pinned to the record found then; one the registry does not have is a 400.

Never a path on the service's machine (``/etc/passwd``, ``file:``, ``dir:``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

import ossrflow

__all__ = ["CWL_VERSIONS", "resolve_entry", "workflow_target", "workflow_type"]

CWL_VERSIONS = ("v1.0", "v1.1", "v1.2")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DOCUMENT = (".cwl", ".yml", ".yaml", ".json")


def _bad(message: str, hint: str | None = None) -> ossrflow.InputError:
    return ossrflow.InputError(message, source="POST /runs", location="workflow_url", hint=hint)


def workflow_type(kind_text: str, version_text: str) -> tuple[str, str]:
    """(``CWL`` | ``OSSRFLOW``, the normalized version), or a 400 naming the field."""
    kind, version = kind_text.strip().upper(), version_text.strip()
    if kind == "CWL":
        normal = version if version.startswith("v") else f"v{version}"
        if normal not in CWL_VERSIONS:
            raise ossrflow.InputError(
                f"CWL version {version!r} is not supported",
                source="POST /runs",
                location="workflow_type_version",
                hint=f"give one of {', '.join(CWL_VERSIONS)}",
            )
        return kind, normal
    if kind == "OSSRFLOW":
        if version not in ("1", "1.0"):
            raise ossrflow.InputError(
                f"OSSRFLOW definition version {version!r} is not supported",
                source="POST /runs",
                location="workflow_type_version",
                hint="give 1",
            )
        return kind, "1"
    raise ossrflow.InputError(
        f"workflow_type {kind_text!r} is not offered",
        source="POST /runs",
        location="workflow_type",
        hint="give CWL (v1.0, v1.1, v1.2) or OSSRFLOW (a definition file, version 1)",
    )


def workflow_target(url: str, names: Sequence[str], kind: str) -> dict[str, str]:
    """What ``workflow_url`` names (module docstring): ``{"kind": "attachment"|"url"|"entry"…}``.

    An entry's reference is only parsed here; :func:`resolve_entry` looks it up.
    """
    if not url or _CONTROL.search(url):
        raise _bad("workflow_url is missing or holds a control character")
    if url in names:
        return {"kind": "attachment", "name": url}
    parts = urlsplit(url)
    if kind != "CWL":
        raise _bad(
            f"workflow_url {url!r} names no attachment; a definition must be one",
            f"attachments: {', '.join(names) or 'none'}",
        )
    if parts.scheme.lower() in ("http", "https"):
        try:
            ref = ossrflow.parse_ref(url)
        except ossrflow.InputError:
            return {"kind": "url", "url": url}
        return {"kind": "entry", "ref": ref.text}
    if parts.scheme or url.startswith("/"):
        raise _bad(
            f"workflow_url {url!r} is no attachment, no http(s) URL and no registry reference",
            "name an attachment by its relative name, an http(s) URL, or a record id / DOI",
        )
    if url.lower().endswith(_DOCUMENT):
        raise _bad(
            f"workflow_url {url!r} names no attachment",
            f"attachments: {', '.join(names) or 'none'}",
        )
    try:
        ref = ossrflow.parse_ref(url)
    except ossrflow.InputError as exc:
        raise _bad(f"workflow_url {url!r}: {exc.problem}", exc.hint) from None
    if ref.is_local:
        raise _bad(
            f"workflow_url {url!r} is a path on the service",
            "attach the workflow, or give an http(s) URL or a record id / DOI",
        )
    return {"kind": "entry", "ref": ref.text}


def resolve_entry(ref: str, settings: ossrflow.Settings) -> str:
    """The record id that ``ref`` names in the service's registry now; a 400 when none.

    A registry that cannot be reached is a :class:`ossrflow.ServiceError` (502).
    """
    try:
        entry = ossrflow.get_entry(ref, settings)
    except ossrflow.InputError as exc:
        raise _bad(
            f"workflow_url {ref!r} names no entry of this service's registry: {exc.problem}",
            exc.hint or "give a record id, DOI or concept DOI of the registry",
        ) from None
    return entry.record.id
