"""The Zenodo REST API as a registry: search a community, get records, resolve concepts, fetch files.

Endpoints used (all relative to the base URL, e.g. ``https://zenodo.org/api``)::

    GET /records?q=…&communities=C&type=software&size≤25&page=1[&all_versions=true]
        then every ``links.next`` the server gives, until there is none
    GET /records/<id>                      one version; 410 when deleted, 404 when unknown
    GET /records/<id>/versions/latest      the latest version of a concept (InvenioRDM, redirects)
    GET /records/<id>/versions?size=&page= every version of the record's concept (InvenioRDM)
    GET <file links.self / links.content>  file bytes, verified against the published md5

Concept ids: legacy Zenodo answered ``/records/<concept id>`` with the latest version (a redirect);
current Zenodo answers 404 there (zenodo/zenodo#2499) and serves ``/versions/latest``, which
accepts a concept (parent) id. Both are handled: a 404 on ``/records/<id>`` is retried once on
``/records/<id>/versions/latest``.

The token travels only in the ``Authorization`` header (:func:`ossrflow.transfer.make_client`),
and only to the registry's own host: links to another host are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from ossrflow.errors import InputError, NotFound, UnsafeValue
from ossrflow.registry.cache import RecordCache, expected_checksum
from ossrflow.registry.model import (
    SearchResults,
    SoftwareRecord,
    parse_record,
    parse_search_page,
)
from ossrflow.registry.refs import Ref, check_origin, zenodo_doi_record_id
from ossrflow.transfer import ProgressCallback, check_response, response_json, send

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGES", "ZenodoRegistry", "build_query"]

DEFAULT_PAGE_SIZE = 25  # Zenodo's limit for anonymous requests
MAX_PAGES = 400  # Zenodo stops paging at 10,000 hits; never loop forever on a faulty server


def build_query(query: str, keywords: Sequence[str]) -> str:
    """Zenodo query text: the free text AND ``keywords:"K"`` for each keyword (legacy syntax,
    which current Zenodo maps to ``metadata.subjects.subject``)."""
    parts = [query.strip()] if query.strip() else []
    for keyword in keywords:
        escaped = keyword.replace("\\", "\\\\").replace('"', '\\"')
        parts.append(f'keywords:"{escaped}"')
    return " AND ".join(parts)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class ZenodoRegistry:
    """A Zenodo (or any Zenodo-shaped) server reached through ``client``."""

    def __init__(
        self,
        base_url: str,
        *,
        community: str = "escape2020",
        client: httpx.Client,
        cache: RecordCache,
        page_size: int = DEFAULT_PAGE_SIZE,
        owns_client: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.community = community
        self.client = client
        self.cache = cache
        self.page_size = page_size
        self.owns_client = owns_client

    @property
    def name(self) -> str:
        return self.base_url

    def __enter__(self) -> ZenodoRegistry:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.owns_client:
            self.client.close()

    # --- HTTP ----------------------------------------------------------------------------

    def _check_link(self, url: str, what: str, source: str) -> str:
        if _origin(url) != _origin(self.base_url):
            raise UnsafeValue(
                f"{what} points to another host: {url}",
                source=source,
                hint=f"ossrflow follows links only on the registry's host ({self.base_url})",
            )
        return url

    def _get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        # Redirects are followed whatever the client's default (concept ids redirect on legacy
        # Zenodo); httpx drops the Authorization header when a redirect leaves the host.
        return send(self.client, "GET", url, params=params, follow_redirects=True)

    def _json(self, response: httpx.Response, what: str) -> Any:
        check_response(response, what=what)
        return response_json(response, what=what)

    # --- search --------------------------------------------------------------------------

    def _search_params(self, query: str, all_versions: bool) -> dict[str, str]:
        params = {"q": query, "size": str(self.page_size), "page": "1", "type": "software"}
        if self.community:
            params["communities"] = self.community
        if all_versions:
            params["all_versions"] = "true"
        return params

    def search_records(
        self, query: str = "", *, keywords: Sequence[str] = (), all_versions: bool = False
    ) -> SearchResults:
        """Every hit of the query in the community, across all pages the server links."""
        url: str | None = f"{self.base_url}/records"
        params: dict[str, str] | None = self._search_params(
            build_query(query, keywords), all_versions
        )
        return self._collect(url, params)

    def _collect(self, url: str | None, params: dict[str, str] | None) -> SearchResults:
        records: list[SoftwareRecord] = []
        refused: list[InputError] = []
        seen: set[str] = set()
        total = None
        while url is not None and len(seen) < MAX_PAGES:
            response = self._get(url, params)
            page_url = str(response.request.url)
            page = parse_search_page(
                self._json(response, "search results"), page_url, registry=self.base_url
            )
            seen.add(page_url)
            records.extend(page.records)
            refused.extend(page.refused)
            total = page.total if total is None else total
            url, params = page.next_url, None
            if url is not None:
                self._check_link(url, "links.next", page_url)
                if url in seen or (not page.records and not page.refused):
                    break
        return SearchResults(records=tuple(records), refused=tuple(refused), total=total)

    def search_versions(self, record: SoftwareRecord) -> SearchResults:
        """Every published version of the record's concept, across all pages, newest first."""
        url = f"{self.base_url}/records/{quote(record.id, safe='')}/versions"
        params = {"size": str(self.page_size), "page": "1"}
        return self._collect(url, params)

    # --- records -------------------------------------------------------------------------

    def _record_from(self, response: httpx.Response, what: str) -> tuple[Any, SoftwareRecord]:
        data = self._json(response, what)
        record = parse_record(data, str(response.request.url), registry=self.base_url)
        self.cache.put_record(data, record)
        return data, record

    def get_record(self, record_id: str) -> SoftwareRecord:
        """The record with this id; a concept id gives the latest version."""
        what = f"record {record_id}"
        url = f"{self.base_url}/records/{quote(record_id, safe='')}"
        response = self._get(url)
        if response.status_code == 404:
            latest = self._get(f"{url}/versions/latest")
            if latest.status_code < 400:
                response = latest
        _, record = self._record_from(response, what)
        if record.id != record_id:
            self.cache.note_aliases([f"concept:{record_id}"], record.id)
        return record

    def resolve_doi(self, doi: str) -> SoftwareRecord:
        """The record a DOI names; a concept DOI gives the latest version."""
        record_id = zenodo_doi_record_id(doi)
        record = self.get_record(record_id) if record_id else self._search_doi(doi)
        if doi.lower() not in {(record.doi or "").lower(), (record.concept_doi or "").lower()}:
            raise NotFound(
                f"DOI {doi} is not a record of this registry (record {record.id} has DOI {record.doi})",
                source=self.base_url,
                hint="give --registry the server that minted the DOI (e.g. https://sandbox.zenodo.org/api)",
            )
        self.cache.note_aliases([f"doi:{doi}"], record.id)
        return record

    def _search_doi(self, doi: str) -> SoftwareRecord:
        for field in ("doi", "conceptdoi"):
            params = {"q": f'{field}:"{doi}"', "size": "1", "page": "1"}
            if field == "doi":
                params["all_versions"] = "true"
            found = self._collect(f"{self.base_url}/records", params).records
            if found:
                return self.get_record(found[0].id)
        raise NotFound(f"no record has DOI {doi}", source=self.base_url, hint="check the DOI")

    def resolve_ref(self, ref: Ref) -> SoftwareRecord:
        """The record a parsed reference names (id, DOI or record URL)."""
        if ref.kind == "path":
            raise InputError(
                f"{ref.text!r} is a local path, not a record of {self.base_url}", source="REF"
            )
        check_origin(ref, self.base_url)
        if ref.kind == "doi":
            return self.resolve_doi(ref.value)
        return self.get_record(ref.value)

    # --- files ---------------------------------------------------------------------------

    def get_file(
        self, record: SoftwareRecord, key: str, *, progress: ProgressCallback | None = None
    ) -> Path:
        """A local, checksum-verified copy of one file of ``record`` (downloaded once, then cached)."""
        item = record.file(key)
        expected = expected_checksum(record, item)
        source = record.url or self.base_url
        self._check_link(item.url, f"the link of file {key!r}", source)
        path, _ = self.cache.store.fetch(
            self.client, item.url, expected, size=item.size, progress=progress, label=key
        )
        return path
