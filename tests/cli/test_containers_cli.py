"""`ossrflow containerize`: whole outputs and exit codes, through main() (the error boundary).

pip runs for real, against local wheels only (PIP_NO_INDEX + PIP_FIND_LINKS): no network.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run
from tests.support.wheels import CODEMETA, make_entry, wheelhouse


@pytest.fixture
def local_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    house = wheelhouse(tmp_path)[-1]
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", house)


def test_no_build_writes_the_recipe_and_wheels(tmp_path: Path, local_pip: None) -> None:
    make_entry(tmp_path)
    out = tmp_path / "containers"
    result = run(
        "containerize", f"dir:{tmp_path}/registry/hello", "--no-build", "--outdir", str(out)
    )
    folder = out / "ossrflow-hello"
    assert (result.code, result.stderr) == (
        0,
        f"making wheels for ossrflow-hello==1.0.0 in {folder}/wheels\n",
    )
    assert result.stdout == (
        f"wrote {folder}/Dockerfile\n"
        f"wrote {folder}/apptainer.def\n"
        f"wrote {folder}/requirements.txt\n"
        "not installed (not pip-style): A C++17 compiler\n"
    )
    assert (folder / "wheels" / "ossrflow_hello-1.0.0-py3-none-any.whl").is_file()
    assert not (folder / "image.json").exists()


def test_json_output(tmp_path: Path, local_pip: None) -> None:
    make_entry(tmp_path)
    out = tmp_path / "c"
    result = run(
        "containerize",
        f"dir:{tmp_path}/registry/hello",
        "--no-build",
        "--outdir",
        str(out),
        "--json",
    )
    assert result.code == 0
    assert json.loads(result.stdout) == {
        "folder": str(out / "ossrflow-hello"),
        "image": "ossrflow/ossrflow-hello:1.0.0",
        "record": None,
    }


def test_bad_version_is_one_located_line_exit_2(tmp_path: Path, local_pip: None) -> None:
    make_entry(tmp_path, {**CODEMETA, "softwareVersion": "master"})
    result = run(
        "containerize", f"dir:{tmp_path}/registry/hello", "--no-build", "--outdir", str(tmp_path)
    )
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: {tmp_path}/registry/hello/codemeta.json:softwareVersion: softwareVersion 'master'"
        " is not a plain version (fix: give a version such as 1.2.3 in codemeta.json)\n"
    )
    assert not (tmp_path / "ossrflow-hello").exists()


def test_unknown_engine_is_a_usage_error(tmp_path: Path) -> None:
    result = run("containerize", "dir:x", "--container", "rkt")
    assert result.code == 2
    assert result.stderr == (
        "error: ossrflow containerize: Invalid value for '--container': 'rkt' is not one of "
        "'docker', 'podman' (fix: see `ossrflow containerize --help`)\n"
    )
