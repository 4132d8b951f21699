"""A Zenodo-shaped API served by the LoopbackServer, built from real record JSON and codemeta files.

Record JSON is shaped after `tests/data/fixtures/zenodo/`: the current serializer (the sandbox record
393433: `files` list with `links.self …/files/<key>/content`, `conceptrecid`, `relations.version`)
or the legacy 2021 one (record 4687123: files under `/api/files/<bucket>/<key>`). File bytes are
the codemeta fixtures of `tests/data/fixtures/codemeta/`, so published md5s are real ones.

It behaves as zenodo.org does today:

- `GET /api/records?q=&communities=&type=&size=&page=&all_versions=` pages with `links.next`
  (`size` is clamped to `max_page_size`); `q` understands free words, `keywords:"K"`,
  `doi:"D"` and `conceptdoi:"D"`, joined by AND;
- `GET /api/records/<id>`: the version; 410 once deleted; 404 for unknown ids *and* for concept
  ids (zenodo/zenodo#2499) — unless `legacy_concepts=True`, where it redirects to the latest
  version as legacy Zenodo did;
- `GET /api/records/<id>/versions/latest`: 302 to the latest version (id may be a concept id);
- `GET /api/records/<id>/versions?size=&page=`: every live version of the record's concept,
  newest first, paged like a search (InvenioRDM; 404 for a concept id, as there);
- file content with `Range` support; `throttle(path, times)` answers 429 + Retry-After first.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from tests.support.httpserver import Answer, LoopbackServer

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "fixtures"
RDM_TEMPLATE = FIXTURES / "zenodo" / "rdm2025_sandbox_record_393433_published_cwl_codemeta.json"
LEGACY_TEMPLATE = FIXTURES / "zenodo" / "legacy2021_record_4687123_agnpy_full.json"
AGGREGATIONS = FIXTURES / "zenodo" / "legacy2021_escape2020_search_aggregations.json"
JSON_HEADERS = {"Content-Type": "application/json"}

TINY_CWL = b"""cwlVersion: v1.2
class: CommandLineTool
baseCommand: [km3io-info]
inputs:
  file: {type: File, inputBinding: {position: 1}}
outputs:
  out: stdout
"""


def codemeta_bytes(name: str, **changes: str) -> bytes:
    """A codemeta fixture's bytes, as published, or re-serialised with some keys changed."""
    raw = (FIXTURES / "codemeta" / f"{name}.json").read_bytes()
    if not changes:
        return raw
    data = json.loads(raw)
    data.update(changes)
    return json.dumps(data, indent=2).encode()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def md5(data: bytes) -> str:
    return "md5:" + hashlib.md5(data, usedforsecurity=False).hexdigest()


@dataclass
class FakeFile:
    key: str
    data: bytes
    published_checksum: str | None = None  # set to publish a wrong checksum

    @property
    def checksum(self) -> str:
        return self.published_checksum or md5(self.data)


@dataclass
class FakeRecord:
    recid: str
    concept: str
    title: str
    version: str
    files: list[FakeFile]
    keywords: list[str] = field(default_factory=list)
    community: str = "escape2020"
    resource_type: str = "software"
    shape: str = "rdm"  # "rdm" (current) or "legacy" (2021)
    deleted: bool = False
    description: str = ""
    publication_date: str = "2024-05-01"


class ZenodoApp:
    """The routes of a Zenodo API under `/api`, answering from `records`."""

    def __init__(
        self, server: LoopbackServer, *, max_page_size: int = 25, legacy_concepts: bool = False
    ) -> None:
        self.server = server
        self.url = server.url
        self.api = f"{server.url}/api"
        self.max_page_size = max_page_size
        self.legacy_concepts = legacy_concepts
        self.records: dict[str, FakeRecord] = {}
        self.throttled: dict[str, tuple[int, str]] = {}
        server.fallback = self.handle

    # --- data -----------------------------------------------------------------------------

    def add(self, record: FakeRecord) -> FakeRecord:
        self.records[record.recid] = record
        return record

    def versions(self, concept: str) -> list[FakeRecord]:
        return [r for r in self.records.values() if r.concept == concept]

    def latest(self, concept: str) -> FakeRecord | None:
        alive = [r for r in self.versions(concept) if not r.deleted]
        return alive[-1] if alive else None

    def throttle(self, path: str, times: int = 1, retry_after: str = "0") -> None:
        """Answer the next `times` requests for `path` with 429 and this Retry-After."""
        self.throttled[path] = (times, retry_after)

    def doi(self, recid: str) -> str:
        return f"10.5281/zenodo.{recid}"

    def file_url(self, record: FakeRecord, key: str) -> str:
        if record.shape == "legacy":
            return f"{self.api}/files/bucket-{record.recid}/{quote(key)}"
        return f"{self.api}/records/{record.recid}/files/{quote(key)}/content"

    # --- JSON -----------------------------------------------------------------------------

    def _relations(self, record: FakeRecord) -> dict[str, Any]:
        versions = self.versions(record.concept)
        latest = self.latest(record.concept)
        return {
            "count": len(versions),
            "index": versions.index(record),
            "is_last": latest is record,
            "last_child": {"pid_type": "recid", "pid_value": latest.recid if latest else None},
            "parent": {"pid_type": "recid", "pid_value": record.concept},
        }

    def _metadata(self, record: FakeRecord, data: dict[str, Any]) -> dict[str, Any]:
        metadata: dict[str, Any] = data["metadata"]
        metadata.update(
            title=record.title,
            doi=self.doi(record.recid),
            version=record.version,
            publication_date=record.publication_date,
            description=record.description or record.title,
            keywords=list(record.keywords),
            resource_type={"title": record.resource_type.title(), "type": record.resource_type},
            relations={"version": [self._relations(record)]},
        )
        metadata["communities"] = [{"id": record.community}]
        return metadata

    def record_json(self, record: FakeRecord) -> dict[str, Any]:
        if record.shape == "legacy":
            return self._legacy_json(record)
        data: dict[str, Any] = copy.deepcopy(json.loads(RDM_TEMPLATE.read_text()))
        rid = record.recid
        data.update(
            id=int(rid),
            recid=rid,
            conceptrecid=record.concept,
            doi=self.doi(rid),
            conceptdoi=self.doi(record.concept),
            doi_url=f"https://doi.org/{self.doi(rid)}",
            title=record.title,
        )
        self._metadata(record, data)
        data["links"] = {
            "self": f"{self.api}/records/{rid}",
            "self_html": f"{self.url}/records/{rid}",
            "parent": f"{self.api}/records/{record.concept}",
            "latest": f"{self.api}/records/{rid}/versions/latest",
            "versions": f"{self.api}/records/{rid}/versions",
            "files": f"{self.api}/records/{rid}/files",
        }
        data["files"] = [
            {
                "id": f"file-{rid}-{i}",
                "key": f.key,
                "size": len(f.data),
                "checksum": f.checksum,
                "links": {"self": self.file_url(record, f.key)},
            }
            for i, f in enumerate(record.files)
        ]
        return data

    def _legacy_json(self, record: FakeRecord) -> dict[str, Any]:
        data: dict[str, Any] = copy.deepcopy(json.loads(LEGACY_TEMPLATE.read_text()))
        rid = record.recid
        data.update(
            id=int(rid),
            conceptrecid=record.concept,
            doi=self.doi(rid),
            conceptdoi=self.doi(record.concept),
        )
        self._metadata(record, data)
        bucket = f"{self.api}/files/bucket-{rid}"
        data["links"] = {
            "self": f"{self.api}/records/{rid}",
            "html": f"{self.url}/record/{rid}",
            "latest": f"{self.api}/records/{rid}",
            "bucket": bucket,
        }
        data["files"] = [
            {
                "bucket": f"bucket-{rid}",
                "checksum": f.checksum,
                "key": f.key,
                "links": {"self": self.file_url(record, f.key)},
                "size": len(f.data),
                "type": f.key.rsplit(".", 1)[-1],
            }
            for f in record.files
        ]
        return data

    # --- routes ---------------------------------------------------------------------------

    def handle(self, raw_path: str, headers: dict[str, str]) -> Answer:
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        if path in self.throttled and self.throttled[path][0] > 0:
            times, retry_after = self.throttled[path]
            self.throttled[path] = (times - 1, retry_after)
            return 429, {"Retry-After": retry_after, **JSON_HEADERS}, b'{"status": 429}'
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if path in ("/api/records", "/api/records/"):
            return self.search(query)
        if match := re.fullmatch(r"/api/records/([^/]+)", path):
            return self.get(match.group(1))
        if match := re.fullmatch(r"/api/records/([^/]+)/versions/latest", path):
            return self.latest_redirect(match.group(1))
        if match := re.fullmatch(r"/api/records/([^/]+)/versions/?", path):
            return self.all_versions(match.group(1), query)
        if match := re.fullmatch(r"/api/records/([^/]+)/files/(.+)/content", path):
            return self.content(match.group(1), match.group(2), headers)
        if match := re.fullmatch(r"/api/files/bucket-([^/]+)/(.+)", path):
            return self.content(match.group(1), match.group(2), headers)
        return self.error(404, "not found")

    @staticmethod
    def error(status: int, message: str) -> Answer:
        return status, JSON_HEADERS, json.dumps({"status": status, "message": message}).encode()

    @staticmethod
    def as_json(data: object) -> Answer:
        return 200, JSON_HEADERS, json.dumps(data).encode()

    def get(self, recid: str) -> Answer:
        record = self.records.get(recid)
        if record is not None:
            if record.deleted:
                return self.error(410, "The record has been deleted.")
            return self.as_json(self.record_json(record))
        latest = self.latest(recid)
        if latest is not None and self.legacy_concepts:
            return 302, {"Location": f"{self.api}/records/{latest.recid}"}, b""
        return self.error(404, "The persistent identifier does not exist.")

    def latest_redirect(self, recid: str) -> Answer:
        concept = self.records[recid].concept if recid in self.records else recid
        latest = self.latest(concept)
        if latest is None:
            return self.error(404, "The persistent identifier does not exist.")
        return 302, {"Location": f"{self.api}/records/{latest.recid}"}, b""

    def all_versions(self, recid: str, query: dict[str, str]) -> Answer:
        record = self.records.get(recid)
        if record is None:
            return self.error(404, "The persistent identifier does not exist.")
        found = [r for r in reversed(self.versions(record.concept)) if not r.deleted]
        size = min(int(query.get("size", "10")), self.max_page_size)
        page = int(query.get("page", "1"))
        base = f"{self.api}/records/{recid}/versions"
        links = {"self": f"{base}?{urlencode({'size': size, 'page': page})}"}
        if page * size < len(found):
            links["next"] = f"{base}?{urlencode({'size': size, 'page': page + 1})}"
        chosen = found[(page - 1) * size : page * size]
        hits = {"hits": [self.record_json(r) for r in chosen], "total": len(found)}
        return self.as_json({"hits": hits, "links": links})

    def content(self, recid: str, key: str, headers: dict[str, str]) -> Answer:
        record = self.records.get(recid)
        found = [f for f in record.files if f.key == key] if record and not record.deleted else []
        if not found:
            return self.error(404, "file not found")
        data = found[0].data
        start = int(headers.get("range", "bytes=0-")[6:].split("-")[0] or 0)
        if start:
            if start >= len(data):
                return 416, {}, b""
            return (
                206,
                {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"},
                data[start:],
            )
        return 200, {"Content-Type": "application/octet-stream"}, data

    # --- search ---------------------------------------------------------------------------

    def _matches(self, record: FakeRecord, q: str) -> bool:
        for field_name, value in re.findall(r'(keywords|doi|conceptdoi):"((?:[^"\\]|\\.)*)"', q):
            value = value.replace('\\"', '"')
            if field_name == "keywords" and value not in record.keywords:
                return False
            if field_name == "doi" and value.lower() != self.doi(record.recid):
                return False
            if field_name == "conceptdoi" and value.lower() != self.doi(record.concept):
                return False
        free = re.sub(r'(keywords|doi|conceptdoi):"(?:[^"\\]|\\.)*"', " ", q).replace(" AND ", " ")
        text = " ".join([record.title, record.description, *record.keywords]).lower()
        return all(word.lower() in text for word in free.split())

    def hits(self, query: dict[str, str]) -> list[FakeRecord]:
        all_versions = query.get("all_versions", "").lower() in ("1", "true")
        found = []
        for record in self.records.values():
            if record.deleted or not self._matches(record, query.get("q", "")):
                continue
            if "communities" in query and record.community != query["communities"]:
                continue
            if "type" in query and record.resource_type != query["type"]:
                continue
            if not all_versions and self.latest(record.concept) is not record:
                continue
            found.append(record)
        return found

    def search(self, query: dict[str, str]) -> Answer:
        size = min(int(query.get("size", "10")), self.max_page_size)
        page = int(query.get("page", "1"))
        found = self.hits(query)
        chosen = found[(page - 1) * size : page * size]
        links = {"self": f"{self.api}/records?{urlencode({**query, 'page': page})}"}
        if page * size < len(found):
            links["next"] = (
                f"{self.api}/records?{urlencode({**query, 'page': page + 1, 'size': size})}"
            )
        body = {
            "hits": {"hits": [self.record_json(r) for r in chosen], "total": len(found)},
            "links": links,
            "aggregations": json.loads(AGGREGATIONS.read_text()),
        }
        return self.as_json(body)


def add_default_records(app: ZenodoApp) -> None:
    """The records every registry test can count on (ids are stable)."""
    agnpy = codemeta_bytes("cosimoNigro__agnpy")
    app.add(
        FakeRecord(
            "4055176", "4055175", "agnpy", "0.4.0",
            [FakeFile("codemeta.json", codemeta_bytes("cosimoNigro__agnpy", softwareVersion="0.4.0", version="0.4.0"))],
            keywords=["CTA", "blazars"], publication_date="2020-09-28",
        )
    )  # fmt: skip
    app.add(
        FakeRecord(
            "4687123", "4055175", "agnpy", "0.5.0",
            [FakeFile("codemeta.json", agnpy), FakeFile("cosimoNigro/agnpy-v0.0.10.zip", zip_bytes({"x/README.md": b"agnpy"}))],
            keywords=["CTA", "blazars"], shape="legacy", publication_date="2021-04-14",
        )
    )  # fmt: skip
    app.add(
        FakeRecord(
            "100", "99", "km3io", "1.0.0",
            [
                FakeFile("codemeta.json", codemeta_bytes("KM3NeT__km3io")),
                FakeFile("km3io-info.cwl", TINY_CWL),
                FakeFile("ossrflow-interface.yml", b"command: km3io-info\n"),
            ],
            keywords=["km3net", "i/o"],
        )
    )  # fmt: skip
    for recid, name, title, version, keywords in [
        ("110", "cta-observatory__lstmcpipe", "lstmcpipe", "0.11.3", ["CTA", "pipeline"]),
        ("120", "cta-observatory__ctaplot", "ctaplot", "0.6.5", ["astronomy"]),
        ("130", "escape2020__codemeta2zenodo", "codemeta2zenodo", "1.3.0", ["codemeta"]),
        ("140", "gammapy__gammapy", "Gammapy", "v2.0", ["Gamma-rays"]),
    ]:
        app.add(
            FakeRecord(
                recid,
                str(int(recid) - 1),
                title,
                version,
                [FakeFile("codemeta.json", codemeta_bytes(name))],
                keywords,
            )
        )
    app.add(
        FakeRecord(
            "150",
            "149",
            "PlasmaPy",
            "0.8.1",
            [FakeFile("codemeta.json", codemeta_bytes("PlasmaPy__PlasmaPy"))],
            community="plasma",
        )
    )
    app.add(
        FakeRecord(
            "160",
            "159",
            "KM3-230213A data",
            "1.0",
            [FakeFile("codemeta.json", codemeta_bytes("KM3NeT__KM3-230213A-data"))],
            resource_type="dataset",
        )
    )
    app.add(
        FakeRecord(
            "300", "299", "withdrawn tool", "1.0", [FakeFile("codemeta.json", b"{}")], deleted=True
        )
    )
    app.add(
        FakeRecord("310", "309", "data without codemeta", "1.0", [FakeFile("data.txt", b"42\n")])
    )
    wrong = FakeFile(
        "codemeta.json",
        codemeta_bytes("cta-observatory__ctaplot"),
        published_checksum="md5:" + "0" * 32,
    )
    app.add(FakeRecord("320", "319", "tampered tool", "1.0", [wrong]))
    app.add(
        FakeRecord(
            "330", "329", "evil tool", "1.0", [FakeFile("../evil", b"x")], community="elsewhere"
        )
    )
    archive = zip_bytes(
        {
            "escape2020-demo-1a2b3c/README.md": b"demo",
            "escape2020-demo-1a2b3c/codemeta.json": codemeta_bytes("escape2020__codemeta2zenodo"),
        }
    )
    app.add(FakeRecord("340", "339", "zipped tool", "1.3.0", [FakeFile("escape2020/demo-v1.3.0.zip", archive)]))  # fmt: skip
