"""Zenodo's deposition API on 127.0.0.1, beside the records API of :mod:`tests.support.zenodo`.

Shaped after developers.zenodo.org (deposit actions, deposition files, the files/bucket API):

- ``POST /api/deposit/depositions/<id>/actions/newversion``: 201 with the *original* deposition,
  ``links.latest_draft`` naming the new draft; the draft starts with a snapshot of the files; a
  second call while a draft is open answers the same draft; ``<id>`` must be the latest version
  (else 400), owned by the token's user (else 403);
- ``GET``/``PUT``/``DELETE /api/deposit/depositions/<id>``: a deposition; ``PUT`` takes
  ``{"metadata": …}`` and refuses (400 with ``errors``) a metadata without title, creators,
  description or upload_type;
- ``PUT /api/files/<bucket>/<key>``: upload or replace a file of a draft; 201 with its md5;
- ``POST /api/deposit/depositions/<id>/actions/publish``: 202; the draft becomes a record of the
  records API (same concept, next id), or the answer scripted in ``publish_failure``.

Tokens travel in ``Authorization: Bearer``; an unknown or expired one gets 401 with Zenodo's
message, a token in the query string is refused (400) so tests can tell. Every request is kept
in ``requests`` (method, path, headers).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from tests.support.httpserver import Answer, LoopbackServer, Seen
from tests.support.zenodo import JSON_HEADERS, FakeFile, FakeRecord, ZenodoApp, add_default_records

UNAUTHORIZED = (
    "The server could not verify that you are authorized to access the URL requested. You "
    "either supplied the wrong credentials (e.g. a bad password), or your browser doesn't "
    "understand how to supply the credentials required."
)
REQUIRED_METADATA = ("title", "upload_type", "description", "creators")


@dataclass
class Draft:
    """An unpublished new version: its files by key, metadata, and where it came from."""

    id: str
    parent: FakeRecord
    files: dict[str, bytes]
    metadata: dict[str, Any]
    owner: str
    published: str | None = None


@dataclass
class DepositState:
    tokens: dict[str, str] = field(default_factory=dict)  # token -> user
    expired: set[str] = field(default_factory=set)
    owners: dict[str, str] = field(default_factory=dict)  # record id -> user
    drafts: dict[str, Draft] = field(default_factory=dict)
    publish_failure: tuple[int, dict[str, Any]] | None = None
    next_id: int = 900000


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class DepositServer(LoopbackServer):
    """A LoopbackServer that also answers POST, PUT and DELETE (the deposition API)."""

    def __init__(self) -> None:
        super().__init__()
        self.httpd.server_close()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _serve(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append(Seen(self.command, self.path, headers))
                length = int(headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.command == "GET":
                    status, extra, data = server.answer(self.path, headers)
                else:
                    status, extra, data = server.deposit.handle(
                        self.command, self.path, headers, body
                    )
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.records = ZenodoApp(self)
        self.deposit = DepositApp(self.records)
        self.fallback = self._get

    def _get(self, raw_path: str, headers: dict[str, str]) -> Answer:
        if urlsplit(raw_path).path.startswith("/api/deposit/"):
            return self.deposit.handle("GET", raw_path, headers, b"")
        return self.records.handle(raw_path, headers)


class DepositApp:
    """The deposition routes, over the records of ``records``."""

    def __init__(self, records: ZenodoApp) -> None:
        self.records = records
        self.api = records.api
        self.state = DepositState()

    # --- set-up ---------------------------------------------------------------------------

    def token(self, token: str, user: str, *, expired: bool = False) -> None:
        self.state.tokens[token] = user
        if expired:
            self.state.expired.add(token)

    def own(self, user: str, *record_ids: str) -> None:
        for record_id in record_ids:
            self.state.owners[record_id] = user

    # --- JSON -----------------------------------------------------------------------------

    @staticmethod
    def error(status: int, message: str, errors: list[dict[str, str]] | None = None) -> Answer:
        body: dict[str, Any] = {"status": status, "message": message}
        if errors:
            body["errors"] = errors
        return status, JSON_HEADERS, json.dumps(body).encode()

    @staticmethod
    def answer(status: int, data: object) -> Answer:
        return status, JSON_HEADERS, json.dumps(data).encode()

    def _metadata(self, record: FakeRecord) -> dict[str, Any]:
        return {
            "title": record.title,
            "upload_type": "software",
            "description": record.description or record.title,
            "creators": [{"name": "Nigro, Cosimo", "affiliation": "IFAE"}],
            "version": record.version,
            "publication_date": record.publication_date,
            "keywords": list(record.keywords),
            "doi": self.records.doi(record.recid),
        }

    def _deposition(
        self, dep_id: str, files: dict[str, bytes], metadata: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        base = f"{self.api}/deposit/depositions/{dep_id}"
        return {
            "id": int(dep_id),
            "metadata": metadata,
            "files": [
                {
                    "id": f"file-{dep_id}-{i}",
                    "filename": key,
                    "filesize": len(data),
                    "checksum": _md5(data),
                    "links": {"self": f"{base}/files/file-{dep_id}-{i}"},
                }
                for i, (key, data) in enumerate(sorted(files.items()))
            ],
            "links": {
                "self": base,
                "bucket": f"{self.api}/files/bucket-draft-{dep_id}",
                "publish": f"{base}/actions/publish",
                "html": f"{self.records.url}/deposit/{dep_id}",
            },
            **extra,
        }

    # --- routes ---------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(raw_path)
        if "access_token" in parse_qs(parts.query):
            return self.error(400, "ossrflow must not send the token in the URL")
        user = self._user(headers)
        if isinstance(user, tuple):
            return user
        path = unquote(parts.path)
        routes: list[tuple[str, str, Callable[..., Answer]]] = [
            ("POST", r"/api/deposit/depositions/([^/]+)/actions/newversion", self.new_version),
            ("POST", r"/api/deposit/depositions/([^/]+)/actions/publish", self.publish),
            ("GET", r"/api/deposit/depositions/([^/]+)", self.get),
            ("PUT", r"/api/deposit/depositions/([^/]+)", self.put_metadata),
            ("DELETE", r"/api/deposit/depositions/([^/]+)", self.delete),
            ("PUT", r"/api/files/bucket-draft-([^/]+)/(.+)", self.upload),
        ]
        for verb, pattern, handler in routes:
            if verb == method and (match := re.fullmatch(pattern, path)):
                return handler(user, body, *match.groups())
        return self.error(405 if path.startswith("/api/deposit/") else 404, "not here")

    def _user(self, headers: dict[str, str]) -> str | Answer:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.state.tokens:
            return self.error(401, UNAUTHORIZED)
        if token in self.state.expired:
            return self.error(401, UNAUTHORIZED)
        return self.state.tokens[token]

    def _draft(self, user: str, dep_id: str) -> Draft | Answer:
        draft = self.state.drafts.get(dep_id)
        if draft is None or draft.published is not None:
            return self.error(404, "Deposition not found")
        if draft.owner != user:
            return self.error(403, "You don't have the permission to access this deposition.")
        return draft

    def new_version(self, user: str, body: bytes, record_id: str) -> Answer:
        record = self.records.records.get(record_id)
        if record is None or record.deleted:
            return self.error(404, "Deposition not found")
        if self.state.owners.get(record_id) != user:
            return self.error(403, "You don't have the permission to edit this deposition.")
        if self.records.latest(record.concept) is not record:
            return self.error(400, "The id used to create a new version must be the latest one.")
        open_draft = next(
            (
                d
                for d in self.state.drafts.values()
                if d.parent.concept == record.concept and d.published is None
            ),
            None,
        )
        if open_draft is None:
            self.state.next_id += 1
            dep_id = str(self.state.next_id)
            files = {f.key: f.data for f in record.files}
            metadata = self._metadata(record)
            metadata.pop("doi")
            metadata["prereserve_doi"] = {"doi": self.records.doi(dep_id), "recid": int(dep_id)}
            open_draft = Draft(dep_id, record, files, metadata, user)
            self.state.drafts[dep_id] = open_draft
        original = self._deposition(
            record_id,
            {f.key: f.data for f in record.files},
            self._metadata(record),
            state="done",
            submitted=True,
        )
        original["links"]["latest_draft"] = f"{self.api}/deposit/depositions/{open_draft.id}"
        return self.answer(201, original)

    def get(self, user: str, body: bytes, dep_id: str) -> Answer:
        draft = self._draft(user, dep_id)
        if not isinstance(draft, Draft):
            return draft
        return self.answer(
            200,
            self._deposition(
                dep_id, draft.files, draft.metadata, state="unsubmitted", submitted=False
            ),
        )

    def put_metadata(self, user: str, body: bytes, dep_id: str) -> Answer:
        draft = self._draft(user, dep_id)
        if not isinstance(draft, Draft):
            return draft
        try:
            metadata = json.loads(body)["metadata"]
        except (ValueError, KeyError, TypeError):
            return self.error(
                400, "Validation error", [{"field": "metadata", "message": "missing"}]
            )
        missing = [k for k in REQUIRED_METADATA if not metadata.get(k)]
        if missing:
            errors = [{"field": f"metadata.{k}", "message": "Field is required."} for k in missing]
            return self.error(400, "Validation error.", errors)
        draft.metadata = metadata
        return self.answer(
            200, self._deposition(dep_id, draft.files, metadata, state="unsubmitted")
        )

    def delete(self, user: str, body: bytes, dep_id: str) -> Answer:
        draft = self._draft(user, dep_id)
        if not isinstance(draft, Draft):
            return draft
        del self.state.drafts[dep_id]
        return 204, {}, b""

    def upload(self, user: str, body: bytes, dep_id: str, key: str) -> Answer:
        draft = self._draft(user, dep_id)
        if not isinstance(draft, Draft):
            return draft
        draft.files[key] = body
        link = f"{self.api}/files/bucket-draft-{dep_id}/{quote(key)}"
        return self.answer(
            201,
            {
                "key": key,
                "size": len(body),
                "checksum": f"md5:{_md5(body)}",
                "links": {"self": link},
            },
        )

    def publish(self, user: str, body: bytes, dep_id: str) -> Answer:
        draft = self._draft(user, dep_id)
        if not isinstance(draft, Draft):
            return draft
        if self.state.publish_failure is not None:
            status, answer = self.state.publish_failure
            return self.answer(status, answer)
        metadata = draft.metadata
        record = FakeRecord(
            dep_id,
            draft.parent.concept,
            str(metadata["title"]),
            str(metadata.get("version") or draft.parent.version),
            [FakeFile(key, data) for key, data in sorted(draft.files.items())],
            keywords=list(metadata.get("keywords") or []),
            community=draft.parent.community,
            publication_date=str(metadata.get("publication_date")),
        )
        self.records.add(record)
        self.state.owners[dep_id] = user
        draft.published = dep_id
        done = self._deposition(
            dep_id,
            draft.files,
            metadata,
            state="done",
            submitted=True,
            record_id=int(dep_id),
            doi=self.records.doi(dep_id),
        )
        done["links"]["record_html"] = f"{self.records.url}/records/{dep_id}"
        return self.answer(202, done)


OWNER_TOKEN = "token-of-cosimo"
EXPIRED_TOKEN = "token-expired"
STRANGER_TOKEN = "token-of-someone-else"


@contextmanager
def deposit_server() -> Iterator[DepositServer]:
    """The default records (tests/support/zenodo.py); agnpy (concept 4055175, latest 4687123) and
    km3io (100) belong to ``cosimo``, whose token is :data:`OWNER_TOKEN`."""
    server = DepositServer()
    server.start()
    try:
        add_default_records(server.records)
        server.deposit.own("cosimo", "4055176", "4687123", "100")
        server.deposit.token(OWNER_TOKEN, "cosimo")
        server.deposit.token(EXPIRED_TOKEN, "cosimo", expired=True)
        server.deposit.token(STRANGER_TOKEN, "someone")
        yield server
    finally:
        server.stop()
