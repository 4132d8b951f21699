"""``ossrflow stage``: what the user sees, whole, for success and for bad input."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from ossrflow.cli import cli
from ossrflow.cli.common import ProgressLine
from ossrflow.transfer import Progress
from tests.support.httpserver import LoopbackServer
from tests.support.zenodo import ZenodoApp

BODY = b"a,b\n1,2\n"
CSV = "http://edamontology.org/format_3752"
TXT = "http://edamontology.org/format_2330"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def table(*rows: tuple[object, ...]) -> str:
    cells = [[str(c) for c in row] for row in [("name", "size", "sha256", "source"), *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(4)]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n" for r in cells
    )


def run_main(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ossrflow", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def make_cart(tmp_path: Path, server: LoopbackServer) -> Path:
    server.route("/table.csv", body=BODY)
    (tmp_path / "notes.txt").write_bytes(b"hi\n")
    cart = tmp_path / "cart.txt"
    cart.write_text(f"# two items\n{server.url}/table.csv\nnotes.txt\n")
    return cart


def test_stage_prints_a_table_of_staged_items(tmp_path: Path, http_server: LoopbackServer):
    cart = make_cart(tmp_path, http_server)
    result = CliRunner().invoke(cli, ["stage", str(cart), "--store", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert result.stdout == table(
        ("table.csv", len(BODY), sha256(BODY)[:16], f"{http_server.url}/table.csv"),
        ("notes.txt", 3, sha256(b"hi\n")[:16], str(tmp_path / "notes.txt")),
    )
    assert result.stderr == ""
    assert (tmp_path / "s" / "sha256" / sha256(BODY)[:2] / sha256(BODY)).is_file()


def test_stage_writes_cwl_job_inputs(tmp_path: Path, http_server: LoopbackServer):
    cart = make_cart(tmp_path, http_server)
    job = tmp_path / "job.yml"
    result = CliRunner().invoke(cli, ["stage", str(cart), "-o", str(job), "--input-name", "tables"])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote {job}\n"
    store = tmp_path / "cache" / "store" / "sha256"  # the default: <cache dir>/store
    assert job.read_text().startswith(
        "tables:\n"
        "- class: File\n"
        f"  location: {(store / sha256(BODY)[:2] / sha256(BODY)).as_uri()}\n"
        "  basename: table.csv\n"
        f"  checksum: sha1${sha1(BODY)}\n"
        f"  size: {len(BODY)}\n"
        f"  format: {CSV}\n"
        "- class: File\n"
    )
    assert YAML(typ="safe").load(job.read_text()) == {
        "tables": [
            {
                "class": "File",
                "location": (store / sha256(BODY)[:2] / sha256(BODY)).as_uri(),
                "basename": "table.csv",
                "checksum": f"sha1${sha1(BODY)}",
                "size": len(BODY),
                "format": CSV,
            },
            {
                "class": "File",
                "location": (store / sha256(b"hi\n")[:2] / sha256(b"hi\n")).as_uri(),
                "basename": "notes.txt",
                "checksum": f"sha1${sha1(b'hi' + bytes([10]))}",
                "size": 3,
                "format": TXT,
            },
        ]
    }


def test_stage_json(tmp_path: Path, http_server: LoopbackServer):
    cart = make_cart(tmp_path, http_server)
    result = CliRunner().invoke(cli, ["stage", str(cart), "--json"])
    assert result.exit_code == 0, result.output
    first, second = json.loads(result.stdout)
    assert first["name"] == "table.csv" and first["kind"] == "http"
    assert first["origin"] == f"{cart}:line 2"
    assert first["sha256"] == sha256(BODY) and first["cwl"]["class"] == "File"
    assert (second["kind"], second["source"]) == ("file", str(tmp_path / "notes.txt"))


def test_stage_zenodo_item_through_the_registry(tmp_path: Path, zenodo_server: ZenodoApp):
    cart = tmp_path / "cart.yml"
    cart.write_text("- zenodo:310/data.txt\n")
    result = CliRunner().invoke(cli, ["stage", str(cart), "--registry", zenodo_server.api])
    assert result.exit_code == 0, result.output
    assert result.stdout == table(("data.txt", 3, sha256(b"42\n")[:16], "zenodo:310/data.txt"))


def test_hostile_cart_is_one_line_exit_2_and_writes_nothing(tmp_path: Path):
    cart = tmp_path / "cart.yml"
    cart.write_text("items:\n  - location: ../../etc/passwd\n")
    result = run_main("stage", str(cart), "-o", str(tmp_path / "job.yml"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {cart}:2:5: items[0].location: path '../../etc/passwd' climbs out of its folder "
        "with '..' (fix: give a path inside its folder)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cart.yml"]


def test_checksum_failure_exit_2_names_the_item(tmp_path: Path, http_server: LoopbackServer):
    http_server.route("/t.csv", body=b"changed")
    cart = tmp_path / "cart.yml"
    cart.write_text(f"- location: {http_server.url}/t.csv\n  checksum: sha256:{sha256(BODY)}\n")
    result = run_main("stage", str(cart), "--store", str(tmp_path / "s"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {cart}:items[0]: item 't.csv': checksum mismatch:")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert [p for p in (tmp_path / "s").rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (None, "Configuration not found."),
        ("missing.cfg", "Could not load Rucio configuration file."),
    ],
)
def test_rucio_items_without_rucio_configured(tmp_path: Path, config, problem):
    cart = tmp_path / "cart.txt"
    cart.write_text("LOFAR:L1.MS.tar\n")
    env = {k: v for k, v in os.environ.items() if k not in ("RUCIO_CONFIG", "CONDA_PREFIX")}
    env.update(RUCIO_HOME=str(tmp_path), VIRTUAL_ENV=str(tmp_path))
    if config:
        env["RUCIO_CONFIG"] = str(tmp_path / config)
    result = subprocess.run(
        [sys.executable, "-m", "ossrflow", "stage", str(cart)],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: Rucio is not configured ({problem}")
    assert result.stderr.endswith(
        "(fix: install rucio-clients (pip install 'ossrflow[rucio]') and write a rucio.cfg for "
        "your Rucio server, then set RUCIO_CONFIG=/path/to/rucio.cfg or RUCIO_HOME (see "
        "docs/staging.md))\n"
    )
    assert result.stderr.count("\n") == 1


def test_input_name_must_be_a_cwl_id(tmp_path: Path):
    result = run_main("stage", str(tmp_path / "c.txt"), "--input-name", "my data")
    assert result.returncode == 2
    assert "Invalid value for '--input-name': 'my data' is not a CWL input id" in result.stderr


def test_progress_line_for_large_files_only():
    stream = io.StringIO()
    show = ProgressLine(stream, threshold=100)
    show(Progress("small.csv", 10, 10))
    show(Progress("big.fits", 50, 200))
    show(Progress("big.fits", 200, 200))
    assert stream.getvalue() == (
        "\rbig.fits: 50 B / 200 B (25%)\x1b[K\rbig.fits: 200 B / 200 B (100%)\x1b[K\n"
    )
