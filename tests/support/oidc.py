"""A real OpenID Connect issuer on 127.0.0.1, for tests of a service that checks bearer tokens.

It serves, from a `LoopbackServer` thread:

- `GET /.well-known/openid-configuration`: the discovery document (`issuer`, `jwks_uri`, RS256);
- `GET /jwks.json`: the public keys (JWKS), read afresh on every request, so a rotation shows.

and mints RS256 JWTs with an RSA key made at start (`cryptography`, signed with PyJWT):

    with OidcIssuer(audience="ossrflow") as issuer:
        token = issuer.token("alice")                      # valid for 5 minutes
        issuer.token("alice", audience="other")            # wrong audience
        issuer.token("alice", extra_claims={"iss": "x"})   # any claim can be set or overridden
        issuer.expired_token("alice")                      # exp one minute ago
        old = issuer.kid
        issuer.rotate_key()                                # new kid; old key still published
        issuer.token("alice", kid=old)                     # signed with the old key
        issuer.retire_key(old)                             # old key gone from the JWKS
        issuer.untrusted_token("alice")                    # right claims, key never published
        issuer.requests                                    # what the service fetched, in order

The authorization and token endpoints named in the discovery document are not served: tests get
their tokens from `token()`, not through a login flow.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.httpserver import Answer, LoopbackServer, Seen

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks.json"
ALGORITHM = "RS256"
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class SigningKey:
    """One RSA key pair of the issuer, named by its key id (the JWT header's `kid`)."""

    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls, kid: str, key_size: int = 2048) -> SigningKey:
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=key_size))

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK (RFC 7517), with `kid`, `use` and `alg` set."""
        jwk = dict(RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True))
        jwk.update(kid=self.kid, use="sig", alg=ALGORITHM)
        return jwk


class OidcIssuer:
    """An OIDC issuer on a free port of 127.0.0.1; `start()` (or `with`) serves it."""

    def __init__(self, *, audience: str = "ossrflow", key_size: int = 2048) -> None:
        self.audience = audience
        self._key_size = key_size
        self._lock = threading.Lock()
        self._serial = 0
        self._keys: dict[str, SigningKey] = {}  # every key made, published or not
        self._published: list[str] = []  # kids in the JWKS, newest last
        self._current = self._new_key()
        self._published.append(self._current.kid)
        self._server = LoopbackServer()
        self.url = self._server.url
        self.issuer = self.url  # the `iss` claim; discovery lives at issuer + DISCOVERY_PATH
        self.discovery_url = self.url + DISCOVERY_PATH
        self.jwks_uri = self.url + JWKS_PATH
        self._server.route(DISCOVERY_PATH, json_body=self.discovery_document())
        self._server.route(JWKS_PATH, handler=self._answer_jwks)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> OidcIssuer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> OidcIssuer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what is served ---------------------------------------------------------------------

    def discovery_document(self) -> dict[str, Any]:
        """The OpenID Provider metadata (OpenID Connect Discovery 1.0, section 3)."""
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "authorization_endpoint": self.url + "/authorize",
            "token_endpoint": self.url + "/token",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "jti"],
        }

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set now published: `{"keys": [...]}`, newest key last."""
        with self._lock:
            return {"keys": [self._keys[kid].public_jwk() for kid in self._published]}

    @property
    def requests(self) -> list[Seen]:
        """Every request the issuer answered (method, path, headers), in order."""
        return list(self._server.requests)

    def jwks_fetches(self) -> int:
        """How often the JWKS was fetched: a service that caches keys fetches it rarely."""
        return sum(1 for seen in self._server.requests if seen.path.split("?")[0] == JWKS_PATH)

    # -- keys -------------------------------------------------------------------------------

    @property
    def kid(self) -> str:
        """The key id that new tokens are signed with."""
        return self._current.kid

    @property
    def published_kids(self) -> list[str]:
        with self._lock:
            return list(self._published)

    def rotate_key(self, *, keep_old: bool = True) -> str:
        """Make a new signing key and publish it; return its kid.

        With `keep_old` (the usual grace period) the previous keys stay in the JWKS, so tokens
        they signed still verify; without it only the new key is published.
        """
        key = self._new_key()
        with self._lock:
            if not keep_old:
                self._published.clear()
            self._published.append(key.kid)
            self._current = key
        return key.kid

    def retire_key(self, kid: str) -> None:
        """Take a key out of the JWKS; it can still sign (`token(kid=...)`), for negative tests."""
        with self._lock:
            if kid not in self._keys:
                raise KeyError(f"unknown key id {kid!r}; known: {sorted(self._keys)}")
            if kid in self._published:
                self._published.remove(kid)

    # -- tokens -----------------------------------------------------------------------------

    def token(
        self,
        subject: str,
        audience: str | list[str] | None = None,
        expires_in: int = 300,
        extra_claims: dict[str, Any] | None = None,
        *,
        kid: str | None = None,
        issued_at: int | None = None,
    ) -> str:
        """An RS256 JWT for `subject`.

        Claims: `iss` (this issuer), `sub`, `aud` (default: the issuer's audience), `iat` and
        `nbf` (`issued_at`, default now), `exp` (`iat + expires_in`; negative gives an expired
        token) and a fresh `jti`; `extra_claims` are added last and may override any of them
        (`{"iss": "https://elsewhere"}`, `{"exp": None}` removes a claim). `kid` signs with an
        older or retired key instead of the current one.
        """
        claims = self.claims(subject, audience, expires_in, extra_claims, issued_at=issued_at)
        return self._sign(claims, self._key(kid))

    def claims(
        self,
        subject: str,
        audience: str | list[str] | None = None,
        expires_in: int = 300,
        extra_claims: dict[str, Any] | None = None,
        *,
        issued_at: int | None = None,
    ) -> dict[str, Any]:
        """The claims `token()` signs, for tests that compare what the service saw."""
        now = int(time.time()) if issued_at is None else issued_at
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.audience if audience is None else audience,
            "iat": now,
            "nbf": now,
            "exp": now + expires_in,
            "jti": uuid.uuid4().hex,
        }
        for name, value in (extra_claims or {}).items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def expired_token(
        self,
        subject: str,
        audience: str | list[str] | None = None,
        extra_claims: dict[str, Any] | None = None,
        *,
        expired_for: int = 60,
    ) -> str:
        """A token that expired `expired_for` seconds ago (issued five minutes before that)."""
        issued = int(time.time()) - expired_for - 300
        return self.token(subject, audience, 300, extra_claims, issued_at=issued)

    def untrusted_token(
        self,
        subject: str,
        audience: str | list[str] | None = None,
        extra_claims: dict[str, Any] | None = None,
        *,
        kid: str | None = None,
    ) -> str:
        """Right issuer and claims, signed by a key that was never published.

        By default it carries the current kid, so only the signature check can refuse it.
        """
        stranger = SigningKey.generate(kid or self.kid, self._key_size)
        return self._sign(self.claims(subject, audience, 300, extra_claims), stranger)

    def decode(self, token: str, audience: str | None = None) -> dict[str, Any]:
        """Verify a token against the published keys, as a correct service would."""
        header = jwt.get_unverified_header(token)
        with self._lock:
            if header.get("kid") not in self._published:
                raise jwt.InvalidKeyError(f"kid {header.get('kid')!r} is not published")
            key = self._keys[header["kid"]].private_key.public_key()
        return jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=self.audience if audience is None else audience,
            issuer=self.issuer,
        )

    # -- internals --------------------------------------------------------------------------

    def _new_key(self) -> SigningKey:
        with self._lock:
            self._serial += 1
            kid = f"test-key-{self._serial}"
        key = SigningKey.generate(kid, self._key_size)
        with self._lock:
            self._keys[kid] = key
        return key

    def _key(self, kid: str | None) -> SigningKey:
        with self._lock:
            if kid is None:
                return self._current
            if kid not in self._keys:
                raise KeyError(f"unknown key id {kid!r}; known: {sorted(self._keys)}")
            return self._keys[kid]

    @staticmethod
    def _sign(claims: dict[str, Any], key: SigningKey) -> str:
        return jwt.encode(
            claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "JWT"}
        )

    def _answer_jwks(self, path: str, headers: dict[str, str]) -> Answer:
        return 200, JSON_HEADERS, json.dumps(self.jwks()).encode()
