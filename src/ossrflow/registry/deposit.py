"""Zenodo's deposition API: a new version of a record, with files added, published.

The calls, in order (all relative to the API base URL, e.g. ``https://zenodo.org/api``; the token
travels only in the ``Authorization`` header, and only to the API's own host)::

    POST /deposit/depositions/<id>/actions/newversion   201: the record; links.latest_draft
    GET  <links.latest_draft>                           the draft: files (a snapshot), bucket
    PUT  <links.bucket>/<key>                           upload (or replace) one file
    PUT  /deposit/depositions/<draft>                   {"metadata": …}: version, date
    POST /deposit/depositions/<draft>/actions/publish   202: the new record (record_id, doi)

``<id>`` must be the concept's latest version (Zenodo refuses others); the draft starts with every
file of that version, so only the new files are uploaded and every other file is kept. When a
step after ``newversion`` fails, the draft is deleted (``DELETE /deposit/depositions/<draft>``),
so no half-made version is left behind, and the error names the step and the server's reason.
Zenodo answers errors as ``{"status", "message", "errors": [{"field", "message"}]}``.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from ossrflow.config import Settings
from ossrflow.errors import (
    ChecksumMismatch,
    InputError,
    NotFound,
    OssrflowError,
    ServiceError,
    UnsafeValue,
)
from ossrflow.registry import open_registry
from ossrflow.registry.model import SoftwareRecord, check_key, find_codemeta_key
from ossrflow.transfer import make_client, response_json, send

__all__ = [
    "INTERFACE_KEY",
    "SANDBOX_API",
    "TOKEN_ENV",
    "NewFile",
    "Published",
    "VersionPlan",
    "latest_version",
    "plan_new_version",
    "publish_new_version",
]

INTERFACE_KEY = "ossrflow-interface.yml"
SANDBOX_API = "https://sandbox.zenodo.org/api"
TOKEN_ENV = "OSSRFLOW_ZENODO_TOKEN"  # noqa: S105 - the variable's name, not a secret
_TOKEN_HINT = (
    f"create a token with the deposit:write and deposit:actions scopes and set {TOKEN_ENV}"
)


@dataclass(frozen=True)
class NewFile:
    """A file the new version gets: its key in the record and its bytes."""

    key: str
    content: bytes

    @property
    def md5(self) -> str:
        return hashlib.md5(self.content, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class VersionPlan:
    """What a new version will hold: the record it starts from, files kept, added and replaced."""

    record: SoftwareRecord  # the concept's latest version
    keep: tuple[str, ...]
    add: tuple[NewFile, ...]
    replace: tuple[NewFile, ...]
    version: str | None  # the new version's "version" metadata; None keeps the record's
    notes: tuple[str, ...] = ()

    @property
    def uploads(self) -> tuple[NewFile, ...]:
        return (*self.add, *self.replace)

    def rows(self) -> list[tuple[str, str]]:
        """``(key, keep|add|replace)`` for every file of the new version, by key."""
        rows = [(k, "keep") for k in self.keep]
        rows += [(f.key, "add") for f in self.add] + [(f.key, "replace") for f in self.replace]
        return sorted(rows)


@dataclass(frozen=True)
class Published:
    """The new version, as Zenodo published it."""

    record_id: str
    doi: str | None
    url: str | None
    files: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "record_id": self.record_id,
            "doi": self.doi,
            "url": self.url,
            "files": list(self.files),
        }


def latest_version(record: SoftwareRecord, settings: Settings) -> SoftwareRecord:
    """The newest published version of ``record``'s concept (Zenodo makes versions from it)."""
    if record.registry.startswith("dir:"):
        raise InputError(
            f"{record.registry} is a folder registry: there is nothing to publish to",
            source="REF",
            hint="name a Zenodo record (and --registry, or --sandbox)",
        )
    with open_registry(replace(settings, registry=record.registry)) as registry:
        versions = registry.search_versions(record).records
    return versions[0] if versions else record


def plan_new_version(
    record: SoftwareRecord, files: Mapping[str, bytes], *, version: str | None = None
) -> VersionPlan:
    """Put ``files`` (name -> bytes) next to the record's ``codemeta.json``; keep the others."""
    codemeta = find_codemeta_key(record)
    if codemeta is None:
        raise InputError(
            f"record {record.id} has no codemeta.json",
            source=record.url or record.registry,
            hint="the OSSR asks for codemeta.json in every record; publish one first",
        )
    folder = PurePosixPath(codemeta).parent
    new = [
        NewFile(check_key(str(folder / name), source="publish", location=name), data)
        for name, data in files.items()
    ]
    existing = {f.key for f in record.files}
    added = tuple(f for f in new if f.key not in existing)
    replaced = tuple(f for f in new if f.key in existing)
    keys = {f.key for f in new}
    kept = tuple(sorted(existing - keys))
    notes = tuple(
        f"the record also ships {key}: `ossrflow cwl` will ask which tool (--tool)"
        for key in kept
        if key.endswith(".cwl")
    )
    return VersionPlan(record, kept, added, replaced, version, notes)


# --- the API ---------------------------------------------------------------------------------


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class _Deposit:
    """One publishing session: the client (token in its header) and the API base URL."""

    def __init__(self, base_url: str, client: httpx.Client) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def link(self, value: object, what: str) -> str:
        """A link from an answer; refused when it leaves the API's host (the token would follow)."""
        if not isinstance(value, str) or _origin(value) != _origin(self.base_url):
            raise UnsafeValue(
                f"the {what} link {value!r} is not on the registry's host",
                source=self.base_url,
                hint="ossrflow sends the token to the registry's host only",
            )
        return value

    def call(self, method: str, url: str, step: str, *, ok: int, **kwargs: Any) -> Any:
        response = send(self.client, method, url, **kwargs)
        if response.status_code != ok:
            raise _refusal(response, step)
        if response.status_code == 204 or not response.content:
            return {}
        return response_json(response, what=step)


def _reason(response: httpx.Response) -> str:
    """What a refusal says: Zenodo's message and field errors, else the start of its text."""
    try:
        body = response_json(response, what="its refusal")  # within limits: no RecursionError
    except ServiceError:
        return response.text.strip()[:200] or response.reason_phrase
    if not isinstance(body, Mapping):
        return str(body)[:200]
    message = str(body.get("message") or response.reason_phrase)
    errors = body.get("errors")
    details = [
        f"{e.get('field')}: {e.get('message')}" if e.get("field") else str(e.get("message"))
        for e in (errors if isinstance(errors, list) else [])
        if isinstance(e, Mapping)
    ]
    return "; ".join([message, *details])


def _refusal(response: httpx.Response, step: str) -> OssrflowError:
    status, url = response.status_code, str(response.request.url)
    reason = f"{step}: HTTP {status}: {_reason(response)}"
    if status == 401:
        return InputError(
            f"{reason} (the token is expired, revoked or not for this server)",
            source=url,
            hint=_TOKEN_HINT,
        )
    if status == 403:
        return InputError(
            f"{reason} (the token's owner may not edit this record)",
            source=url,
            hint="publish records you own, or ask their owner to add the interface",
        )
    if status == 404:
        return NotFound(reason, source=url, hint="check the record id, and that you own it")
    if status < 500 and status != 429:
        return InputError(reason, source=url, hint="fix what the server names and run again")
    return ServiceError(reason, source=url, hint="retry later")


def _draft_files(draft: Mapping[str, Any]) -> set[str]:
    files = draft.get("files")
    entries = [f for f in files if isinstance(f, Mapping)] if isinstance(files, list) else []
    return {
        str(f.get("filename") or f.get("key")) for f in entries if f.get("filename") or f.get("key")
    }


def _metadata(draft: Mapping[str, Any], plan: VersionPlan, today: str) -> dict[str, Any]:
    metadata = dict(draft.get("metadata") or {})
    if metadata.get("doi") and metadata.get("doi") == plan.record.doi:
        del metadata["doi"]  # the old version's DOI: the new one gets its own
    metadata["publication_date"] = today
    if plan.version is not None:
        metadata["version"] = plan.version
    return metadata


def _upload(session: _Deposit, bucket: str, item: NewFile) -> None:
    answer = session.call(
        "PUT",
        f"{bucket}/{quote(item.key)}",
        f"upload {item.key}",
        ok=201,
        content=item.content,
        headers={"Content-Type": "application/octet-stream"},
    )
    published = str(answer.get("checksum") or "").removeprefix("md5:")
    if published and published != item.md5:
        raise ChecksumMismatch(
            f"the server stored {item.key} with md5 {published}, not {item.md5}",
            source=bucket,
            hint="run again; the draft was deleted",
        )


def _fill_and_publish(session: _Deposit, draft_url: str, plan: VersionPlan, today: str) -> Any:
    draft = session.call("GET", draft_url, "read the new draft", ok=200)
    bucket = session.link((draft.get("links") or {}).get("bucket"), "bucket")
    missing = set(plan.keep) - _draft_files(draft)
    if missing:
        raise InputError(
            f"the new draft lacks files of record {plan.record.id}: {', '.join(sorted(missing))}",
            source=draft_url,
            hint="the record changed meanwhile; run again",
        )
    for item in plan.uploads:
        _upload(session, bucket, item)
    metadata = _metadata(draft, plan, today)
    session.call("PUT", draft_url, "set the metadata", ok=200, json={"metadata": metadata})
    draft_id = quote(str(draft.get("id")), safe="")
    publish = session.url(f"/deposit/depositions/{draft_id}/actions/publish")
    return session.call("POST", publish, "publish", ok=202)


def publish_new_version(
    plan: VersionPlan, *, settings: Settings, token: str, today: str
) -> Published:
    """Make, fill and publish a new version of ``plan.record``; ``today`` is its date (ISO)."""
    if not token:
        raise InputError("publishing needs a Zenodo token", source=TOKEN_ENV, hint=_TOKEN_HINT)
    base_url = plan.record.registry
    record_id = quote(plan.record.id, safe="")
    with make_client(timeout=settings.timeout, retries=settings.retries, token=token) as client:
        session = _Deposit(base_url, client)
        original = session.call(
            "POST",
            session.url(f"/deposit/depositions/{record_id}/actions/newversion"),
            f"make a new version of record {plan.record.id}",
            ok=201,
        )
        draft_url = session.link((original.get("links") or {}).get("latest_draft"), "latest_draft")
        try:
            done = _fill_and_publish(session, draft_url, plan, today)
        except OssrflowError:
            with contextlib.suppress(OssrflowError):  # best effort: no half-made version stays
                send(client, "DELETE", draft_url)
            raise
    links = done.get("links") or {}
    return Published(
        record_id=str(done.get("record_id") or done.get("id")),
        doi=done.get("doi"),
        url=links.get("record_html") or links.get("html"),
        files=tuple(key for key, _ in plan.rows()),
    )
