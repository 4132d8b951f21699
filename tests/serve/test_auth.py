"""Who may ask: static API tokens (stored hashed, file reread on change) and OIDC JWTs checked
against a real loopback issuer's JWKS (tests/support/oidc.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

import ossrflow
from ossrflow.serve.auth import TokenFile, new_token, parse_tokens, token_line
from tests.support.cli import run
from tests.support.oidc import OidcIssuer
from tests.support.wes import WesService


def test_token_command_prints_the_token_and_its_hashed_line():
    result = run("serve", "token", "alice")
    assert result.code == 0
    token = result.stdout.strip()
    assert len(token) >= 43 and "\n" not in token
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert result.stderr == f"alice sha256:{digest}\n"
    again = run("serve", "token", "alice")
    assert again.stdout != result.stdout


def test_token_command_refuses_a_user_name_that_is_not_plain():
    result = run("serve", "token", "al ice")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == (
        "error: USER: user name 'al ice' is not plain (fix: use letters, digits and . _ @ + - "
        "(at most 128, starting with a letter or digit))\n"
    )


def test_a_bad_tokens_line_is_located():
    with pytest.raises(ossrflow.InputError) as caught:
        parse_tokens("# users\nalice sha256:" + "0" * 64 + "\nbob secret\n", source="tokens.txt")
    assert str(caught.value) == (
        "tokens.txt:line 3: not a `USER sha256:HEX` line (fix: make lines with `ossrflow serve "
        "token USER` (the token itself is never stored))"
    )


def test_the_tokens_file_is_read_again_when_it_changes(tmp_path: Path):
    path = tmp_path / "tokens.txt"
    alice, bob = new_token(), new_token()
    path.write_text(token_line("alice", alice) + "\n", encoding="utf-8")
    tokens = TokenFile(path)
    assert (tokens.user_for(alice), tokens.user_for(bob)) == ("alice", None)
    path.write_text(token_line("bob", bob) + "  # added later\n", encoding="utf-8")
    assert (tokens.user_for(alice), tokens.user_for(bob)) == (None, "bob")
    path.write_text("broken line\n", encoding="utf-8")
    assert tokens.user_for(bob) == "bob"  # a broken edit keeps the tokens read before
    assert alice not in path.read_text() and bob not in path.read_text()


def test_serve_needs_a_way_to_authenticate(tmp_path: Path):
    result = run("serve", "--runs-dir", str(tmp_path / "runs"), "--port", "0")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == (
        "error: ossrflow serve: no way to authenticate users (fix: give --tokens FILE (lines "
        "from `ossrflow serve token USER`) or --oidc-issuer URL)\n"
    )
    missing = run("serve", "--tokens", str(tmp_path / "none.txt"), "--port", "0",
                  "--runs-dir", str(tmp_path / "runs"))  # fmt: skip
    assert missing.code == 2
    assert missing.stderr == (
        f"error: {tmp_path / 'none.txt'}: tokens file does not exist (fix: create it with lines "
        "from `ossrflow serve token USER`)\n"
    )


@pytest.fixture(scope="module")
def issuer() -> Iterator[OidcIssuer]:
    with OidcIssuer(audience="ossrflow") as started:
        yield started


@pytest.fixture(scope="module")
def wes(issuer: OidcIssuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WesService]:
    with WesService(
        tmp_path_factory.mktemp("auth"), oidc_issuer=issuer.issuer, oidc_audience="ossrflow"
    ) as service:
        yield service


def status_with(wes: WesService, token: str) -> tuple[int, object]:
    answer = httpx.get(f"{wes.wes}/runs", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code, answer.json()


INVALID = {
    "msg": "the bearer token is not valid (unknown, expired or not for us)",
    "status_code": 401,
}


def test_an_issuers_token_is_a_user_and_bad_ones_are_401(wes, issuer):
    assert status_with(wes, issuer.token("carol")) == (200, {"runs": [], "next_page_token": ""})
    assert status_with(wes, issuer.expired_token("carol")) == (401, INVALID)
    assert status_with(wes, issuer.token("carol", audience="another-service")) == (401, INVALID)
    assert status_with(wes, issuer.untrusted_token("carol")) == (401, INVALID)
    assert status_with(wes, issuer.token("carol", extra_claims={"iss": "https://evil"})) == (
        401,
        INVALID,
    )
    assert status_with(wes, issuer.token("carol", extra_claims={"sub": None})) == (401, INVALID)
    assert status_with(wes, issuer.token("carol", extra_claims={"exp": None})) == (401, INVALID)
    # the static tokens still work beside the issuer
    assert status_with(wes, wes.tokens["alice"])[0] == 200


def test_keys_are_cached_and_a_rotation_is_followed(wes, issuer):
    for _ in range(5):
        assert status_with(wes, issuer.token("carol"))[0] == 200
    fetched = issuer.jwks_fetches()
    for _ in range(5):
        assert status_with(wes, issuer.token("carol"))[0] == 200
    assert issuer.jwks_fetches() == fetched  # cached, not fetched per request
    old = issuer.kid
    issuer.rotate_key()
    time.sleep(1.1)  # the service reads the JWKS at most once a second
    assert status_with(wes, issuer.token("carol"))[0] == 200  # new kid: the JWKS is read again
    assert status_with(wes, issuer.token("carol", kid=old))[0] == 200
    issuer.retire_key(old)
    issuer.rotate_key(keep_old=False)
    time.sleep(1.1)
    assert status_with(wes, issuer.token("carol"))[0] == 200
    assert status_with(wes, issuer.token("carol", kid=old)) == (401, INVALID)
    made_up = [issuer.untrusted_token("carol", kid=f"made-up-{i}") for i in range(20)]
    before = issuer.jwks_fetches()
    assert all(status_with(wes, token) == (401, INVALID) for token in made_up)
    assert issuer.jwks_fetches() - before <= 2  # made-up key ids do not flood the issuer


def test_a_forged_token_header_is_refused(wes, issuer):
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": issuer.kid}).encode())
    claims = base64.urlsafe_b64encode(json.dumps(issuer.claims("carol")).encode())
    forged = f"{header.decode().rstrip('=')}.{claims.decode().rstrip('=')}."
    assert status_with(wes, forged) == (401, INVALID)
    hs256 = jwt.encode(issuer.claims("carol"), "a-shared-secret-of-at-least-32-bytes!",
                       algorithm="HS256", headers={"kid": issuer.kid})  # fmt: skip
    assert status_with(wes, hs256) == (401, INVALID)
