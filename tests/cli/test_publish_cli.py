"""`ossrflow publish`: the dry run, a publication, and every refusal as one line and an exit code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.support.cli import run
from tests.support.zenodo_deposit import (
    EXPIRED_TOKEN,
    OWNER_TOKEN,
    STRANGER_TOKEN,
    DepositServer,
    deposit_server,
)

INTERFACE = """\
baseCommand: [wc, -l]
inputs:
  table:
    type: File
    format: http://edamontology.org/format_3752
    inputBinding: {position: 1}
stdout: lines.txt
outputs:
  lines: {type: stdout}
"""


@pytest.fixture
def zenodo() -> Iterator[DepositServer]:
    with deposit_server() as server:
        yield server


@pytest.fixture
def interface(tmp_path: Path) -> Path:
    path = tmp_path / "agnpy-interface.yml"
    path.write_text(INTERFACE)
    return path


def test_dry_run_shows_the_new_file_list_and_needs_no_token(
    zenodo: DepositServer, interface: Path
) -> None:
    result = run(
        "publish",
        "4055176",
        "--interface",
        str(interface),
        "--registry",
        zenodo.records.api,
        "--dry-run",
    )
    assert (result.code, result.stderr) == (
        0,
        "4055176 is version 0.4.0; the latest is record 4687123\n",
    )
    assert result.stdout == (
        f"new version of record 4687123 (agnpy, version 0.5.0) on {zenodo.records.api}\n"
        "file                           action\n"
        "agnpy.cwl                      add\n"
        "codemeta.json                  keep\n"
        "cosimoNigro/agnpy-v0.0.10.zip  keep\n"
        "ossrflow-interface.yml         add\n"
        "dry run: nothing was published\n"
    )
    assert not [r for r in zenodo.requests if "deposit" in r.path]


def test_dry_run_as_json(zenodo: DepositServer, interface: Path) -> None:
    result = run(
        "publish", "100", "--interface", str(interface), "--registry", zenodo.records.api,
        "--dry-run", "--json", "--version", "1.0.1",
    )  # fmt: skip
    assert result.code == 0
    assert json.loads(result.stdout) == {
        "record": "100",
        "registry": zenodo.records.api,
        "version": "1.0.1",
        "files": [
            {"key": "codemeta.json", "action": "keep"},
            {"key": "km3io-info.cwl", "action": "keep"},
            {"key": "km3io.cwl", "action": "add"},
            {"key": "ossrflow-interface.yml", "action": "replace"},
        ],
        "notes": [
            "the record also ships km3io-info.cwl: `ossrflow cwl` will ask which tool (--tool)"
        ],
    }


def test_publish_prints_the_new_record(
    zenodo: DepositServer, interface: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSSRFLOW_ZENODO_TOKEN", OWNER_TOKEN)
    result = run(
        "publish", "4687123", "--interface", str(interface), "--registry", zenodo.records.api
    )
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == (
        f"published record 900001 (DOI 10.5281/zenodo.900001): {zenodo.url}/records/900001\n"
        "file                           action\n"
        "agnpy.cwl                      add\n"
        "codemeta.json                  keep\n"
        "cosimoNigro/agnpy-v0.0.10.zip  keep\n"
        "ossrflow-interface.yml         add\n"
    )


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (None, "error: OSSRFLOW_ZENODO_TOKEN: publishing needs a Zenodo token (fix: create a "
               "token with the deposit:write and deposit:actions scopes and set OSSRFLOW_ZENODO_TOKEN)\n"),
        (EXPIRED_TOKEN, "HTTP 401: The server could not verify that you are authorized"),
        (STRANGER_TOKEN, "HTTP 403: You don't have the permission to edit this deposition. "
                         "(the token's owner may not edit this record)"),
    ],
)  # fmt: skip
def test_refusals_are_one_line_exit_2(
    zenodo: DepositServer,
    interface: Path,
    monkeypatch: pytest.MonkeyPatch,
    token: str | None,
    expected: str,
) -> None:
    if token is not None:
        monkeypatch.setenv("OSSRFLOW_ZENODO_TOKEN", token)
    result = run(
        "publish", "4687123", "--interface", str(interface), "--registry", zenodo.records.api
    )
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_a_refused_publication_is_exit_2_and_leaves_no_draft(
    zenodo: DepositServer, interface: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSSRFLOW_ZENODO_TOKEN", OWNER_TOKEN)
    zenodo.deposit.state.publish_failure = (
        403,
        {"status": 403, "message": "Community review required."},
    )
    result = run(
        "publish", "4687123", "--interface", str(interface), "--registry", zenodo.records.api
    )
    assert result.code == 2
    assert result.stderr == (
        f"error: {zenodo.records.api}/deposit/depositions/900001/actions/publish: publish: HTTP 403: "
        "Community review required. (the token's owner may not edit this record) (fix: publish "
        "records you own, or ask their owner to add the interface)\n"
    )
    assert zenodo.deposit.state.drafts == {}


def test_a_broken_interface_is_located_before_anything_is_sent(
    zenodo: DepositServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSSRFLOW_ZENODO_TOKEN", OWNER_TOKEN)
    broken = tmp_path / "broken.yml"
    broken.write_text("baseCommand: [wc]\ninputs:\n  x: {type: Fiel}\noutputs: []\n")
    result = run("publish", "4687123", "--interface", str(broken), "--registry", zenodo.records.api)
    assert result.code == 2
    assert result.stderr.startswith(f"error: {broken}:")
    assert not [r for r in zenodo.requests if "deposit" in r.path]


def test_folder_registries_and_two_registries_are_refused(interface: Path) -> None:
    folder = run(
        "publish",
        f"dir:{REPO / 'workflows' / 'registry' / 'astropy-fitscheck'}",
        "--interface",
        str(interface),
        "--dry-run",
    )
    assert folder.code == 2
    assert "is a folder registry: there is nothing to publish to" in folder.stderr
    both = run(
        "publish",
        "1",
        "--interface",
        str(interface),
        "--sandbox",
        "--registry",
        "https://zenodo.org/api",
    )
    assert both.code == 2
    assert "--sandbox and --registry name two registries; give one" in both.stderr
