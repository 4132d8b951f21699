"""Who is asking: static API tokens (stored hashed) and OIDC bearer tokens (JWTs) of one issuer.

Requests carry ``Authorization: Bearer TOKEN``. A token is first looked up in the tokens file
(``--tokens FILE``: one ``USER sha256:HEX`` line per token, ``#`` comments; ``ossrflow serve
token USER`` makes one), by the sha256 of the token, compared in constant time; the file is
read again when it changes. Otherwise, with ``--oidc-issuer URL``, it must be a JWT signed by a
key the issuer publishes (discovery document, then its ``jwks_uri``; keys cached; a token naming an
unknown key reads the JWKS again, at most once per ``JWKS_MIN_REFRESH`` seconds for the same key
id and once per ``JWKS_MIN_GAP`` second overall, so made-up key ids cannot flood the issuer), with ``iss`` the
issuer, ``exp`` in the future, ``sub`` set and, with ``--oidc-audience``, ``aud`` containing it.
The user is the ``sub`` claim; static users and OIDC subjects share one namespace.

FastAPI dependencies: :func:`current_user` (401 when missing or invalid) and
:func:`optional_user` (None without a header; an invalid token is still a 401).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from fastapi import HTTPException, Request

import ossrflow

__all__ = [
    "Authenticator",
    "OidcVerifier",
    "TokenFile",
    "User",
    "current_user",
    "hash_token",
    "new_token",
    "optional_user",
    "parse_tokens",
    "token_line",
]

_LOG = logging.getLogger("ossrflow.serve")
JWKS_MIN_REFRESH = 30.0  # seconds before the same unknown key id reads the JWKS again
JWKS_MIN_GAP = 1.0  # seconds between any two reads of the JWKS
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ossrflow"'}


@dataclass(frozen=True)
class User:
    """An authenticated caller; runs belong to ``name``."""

    name: str
    via: str = "token"  # token | oidc


def new_token() -> str:
    """A fresh random API token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """``sha256:HEX`` of a token: what the tokens file keeps."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def token_line(user: str, token: str) -> str:
    """The tokens-file line for ``user`` and ``token``."""
    if not _USER.match(user):
        raise ossrflow.InputError(
            f"user name {user!r} is not plain",
            location="USER",
            hint="use letters, digits and . _ @ + - (at most 128, starting with a letter or digit)",
        )
    return f"{user} {hash_token(token)}"


def parse_tokens(text: str, *, source: str) -> list[tuple[str, str]]:
    """``[(user, "sha256:HEX")]`` from a tokens file; a bad line is a located InputError."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or not _USER.match(parts[0]) or not _HASH.match(parts[1]):
            raise ossrflow.InputError(
                "not a `USER sha256:HEX` line",
                source=source,
                location=f"line {number}",
                hint="make lines with `ossrflow serve token USER` (the token itself is never "
                "stored)",
            )
        entries.append((parts[0], parts[1]))
    return entries


class TokenFile:
    """The static tokens of ``--tokens FILE``, read again whenever the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._entries: list[tuple[str, str]] = []
        self._reload(strict=True)

    def _reload(self, *, strict: bool) -> None:
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp == self._stamp:
                return
            entries = parse_tokens(self.path.read_text(encoding="utf-8"), source=str(self.path))
        except FileNotFoundError:
            if strict:
                raise ossrflow.NotFound(
                    "tokens file does not exist",
                    source=str(self.path),
                    hint="create it with lines from `ossrflow serve token USER`",
                ) from None
            _LOG.warning("tokens file %s is gone; keeping the tokens read before", self.path)
            return
        except (ossrflow.InputError, OSError, UnicodeDecodeError) as exc:
            if strict:
                raise
            _LOG.warning("tokens file %s not reloaded: %s", self.path, exc)
            return
        self._entries, self._stamp = entries, stamp

    def user_for(self, token: str) -> str | None:
        with self._lock:
            self._reload(strict=False)
            entries = list(self._entries)
        digest = hash_token(token)
        found = None
        for user, stored in entries:
            if hmac.compare_digest(digest, stored):
                found = user
        return found


class OidcVerifier:
    """Checks JWTs against one issuer's published keys (see the module docstring)."""

    def __init__(self, issuer: str, audience: str | None, *, timeout: float = 10.0) -> None:
        self.issuer = issuer  # compared exactly with each token's `iss`
        self.audience = audience
        self.timeout = timeout
        self._lock = threading.Lock()
        self._jwks_uri: str | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched = 0.0
        self._tried: dict[str, float] = {}  # unknown kids -> when the JWKS was read for them

    def _get_json(self, url: str) -> Any:
        try:
            response = httpx.get(url, timeout=self.timeout, follow_redirects=False)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ossrflow.ServiceError(
                f"cannot read the OIDC issuer's {url}: {exc}",
                source=self.issuer,
                hint="check --oidc-issuer and that the issuer answers",
            ) from None

    def _refresh(self) -> None:
        if self._jwks_uri is None:
            document = self._get_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
            uri = document.get("jwks_uri") if isinstance(document, dict) else None
            if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
                raise ossrflow.ServiceError(
                    "the issuer's discovery document has no jwks_uri",
                    source=self.issuer,
                    hint="check --oidc-issuer",
                )
            self._jwks_uri = uri
        data = self._get_json(self._jwks_uri)
        keys: dict[str, jwt.PyJWK] = {}
        for item in data.get("keys", []) if isinstance(data, dict) else []:
            if isinstance(item, dict) and isinstance(item.get("kid"), str):
                try:
                    keys[item["kid"]] = jwt.PyJWK(item)
                except (jwt.PyJWKError, jwt.InvalidKeyError):
                    continue
        self._keys, self._fetched = keys, time.monotonic()

    def _key(self, kid: str) -> jwt.PyJWK | None:
        """The published key ``kid``; an unknown kid reads the JWKS again (see the limits)."""
        with self._lock:
            now = time.monotonic()
            if kid not in self._keys:
                tried = self._tried.get(kid)
                fresh_kid = tried is None or now - tried >= JWKS_MIN_REFRESH
                if not self._fetched or (fresh_kid and now - self._fetched >= JWKS_MIN_GAP):
                    if len(self._tried) > 1000:
                        self._tried.clear()
                    self._tried[kid] = now
                    self._refresh()
            return self._keys.get(kid)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; ``jwt.InvalidTokenError`` when it does not verify."""
        header = jwt.get_unverified_header(token)
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS or not isinstance(kid, str):
            raise jwt.InvalidTokenError(f"algorithm {algorithm!r} or key id {kid!r} not accepted")
        key = self._key(kid)
        if key is None:
            raise jwt.InvalidTokenError(f"key {kid!r} is not published by the issuer")
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[algorithm],
            audience=self.audience,
            issuer=self.issuer,
            leeway=30,
            options={"require": ["exp", "iss", "sub"], "verify_aud": self.audience is not None},
        )
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise jwt.InvalidTokenError("the token has no subject")
        return claims


class Authenticator:
    """Static tokens first, then the OIDC issuer (either may be absent)."""

    def __init__(self, tokens: TokenFile | None, oidc: OidcVerifier | None) -> None:
        self.tokens = tokens
        self.oidc = oidc

    def authenticate(self, token: str) -> User | None:
        if self.tokens is not None and (name := self.tokens.user_for(token)) is not None:
            return User(name, "token")
        if self.oidc is not None and token.count(".") == 2:
            try:
                claims = self.oidc.verify(token)
            except jwt.InvalidTokenError as exc:
                _LOG.info("OIDC token refused: %s", exc)
                return None
            return User(str(claims["sub"]), "oidc")
        return None


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers=_CHALLENGE)


def optional_user(request: Request) -> User | None:
    """The caller, None without an Authorization header; 401 for a token that does not verify."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("the Authorization header must be `Bearer TOKEN`")
    authenticator: Authenticator = request.app.state.authenticator
    user = authenticator.authenticate(token)
    if user is None:
        raise _unauthorized("the bearer token is not valid (unknown, expired or not for us)")
    return user


def current_user(request: Request) -> User:
    """The caller; 401 when there is no valid bearer token."""
    user = optional_user(request)
    if user is None:
        raise _unauthorized("this needs `Authorization: Bearer TOKEN` (see GET /service-info)")
    return user
