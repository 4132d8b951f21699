"""Staging from a real Rucio server, through rucio.cfg as users write it.

The server is ``scripts/services/rucio.sh`` (Rucio's own server and database on 127.0.0.1, one
disk RSE served by nginx, 108 files registered with Rucio's upload client: see
``scripts/services/README.md``). Where it cannot start these tests skip with the reason, or fail
when ``CI=true``. Every ``ossrflow`` here runs as a user runs it: a process of its own, with
``RUCIO_CONFIG`` pointing at a rucio.cfg this module writes, and a ``TMPDIR`` of its own (where
rucio-clients caches its token).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from ossrflow.staging import ORIGIN_KEY as RUCIO_KEY
from tests.conftest import REPO
from tests.hostile.servers import SilentServer
from tests.support.services import service_env

SCRIPT = REPO / "scripts" / "services" / "rucio.sh"
FITS = "https://www.iana.org/assignments/media-types/application/fits"


@dataclass(frozen=True)
class Rucio:
    env: dict[str, str]
    manifest: dict[str, Any]

    def did(self, did: str) -> dict[str, Any]:
        return dict(self.manifest["dids"][did])

    @property
    def logs(self) -> Path:
        return Path(self.env["RUCIO_CONFIG"]).parent.parent / "log"


@pytest.fixture(scope="session")
def rucio() -> Rucio:
    env = service_env(SCRIPT, "Rucio test server")
    manifest = json.loads(Path(env["OSSRFLOW_RUCIO_MANIFEST"]).read_text())
    return Rucio(env, manifest)


def user_cfg(
    folder: Path, rucio: Rucio, *, password: str | None = None, host: str | None = None
) -> Path:
    """A rucio.cfg as a user of the Data Lake writes it: server, account, userpass, CA."""
    env = rucio.env
    path = folder / "rucio.cfg"
    path.write_text(
        "[client]\n"
        f"rucio_host = {host or env['RUCIO_HOST']}\n"
        f"auth_host = {host or env['RUCIO_AUTH_HOST']}\n"
        "auth_type = userpass\n"
        f"account = {env['OSSRFLOW_RUCIO_USER_ACCOUNT']}\n"
        f"username = {env['OSSRFLOW_RUCIO_USER_USERNAME']}\n"
        f"password = {password or env['OSSRFLOW_RUCIO_USER_PASSWORD']}\n"
        f"ca_cert = {env['RUCIO_CA_CERT']}\n"
    )
    return path


@dataclass
class User:
    """One user's folder: rucio.cfg, TMPDIR (Rucio's token cache) and ossrflow's cache."""

    home: Path
    cfg: Path

    def ossrflow(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        (self.home / "tmp").mkdir(exist_ok=True)
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("RUCIO_", "X509_"))}
        clean.update(
            RUCIO_CONFIG=str(self.cfg),
            TMPDIR=str(self.home / "tmp"),
            OSSRFLOW_CACHE_DIR=str(self.home / "cache"),
            **env,
        )
        return subprocess.run(
            [sys.executable, "-m", "ossrflow", *args],
            cwd=self.home,
            env=clean,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def cart(self, *rows: dict[str, Any]) -> str:
        """An ESAP shopping cart as the platform stores it: item_data is JSON inside JSON."""
        path = self.home / "cart.json"
        items = [{"item_data": json.dumps({"archive": "rucio", "record": r})} for r in rows]
        path.write_text(json.dumps(items))
        return path.name

    @property
    def store(self) -> Path:
        return self.home / "cache" / "store"


@pytest.fixture
def user(tmp_path: Path, rucio: Rucio) -> User:
    return User(tmp_path, user_cfg(tmp_path, rucio))


@contextlib.contextmanager
def _rse_lock(path: Path, mode: int) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, mode)
        yield


@pytest.fixture
def rse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Downloading from the RSE: alongside other such tests (of any xdist worker), not while
    one counts requests in the server's logs (:func:`rse_alone`)."""
    with _rse_lock(tmp_path_factory.getbasetemp().parent / "ossrflow-rucio.lock", fcntl.LOCK_SH):
        yield


@pytest.fixture
def rse_alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Counting requests in the server's logs: no other test downloads meanwhile."""
    with _rse_lock(tmp_path_factory.getbasetemp().parent / "ossrflow-rucio.lock", fcntl.LOCK_EX):
        yield


def row(did: str, did_type: str = "FILE") -> dict[str, Any]:
    scope, _, name = did.partition(":")
    return {"scope": scope, "name": name, "type": did_type}


def adler32(path: Path) -> str:
    return f"{zlib.adler32(path.read_bytes()):08x}"


def staged_files(store: Path) -> list[Path]:
    return sorted(p for p in (store / "sha256").rglob("*") if p.is_file())


def log_mark(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def log_since(path: Path, mark: int) -> list[str]:
    with path.open("rb") as handle:
        handle.seek(mark)
        return handle.read().decode(errors="replace").splitlines()


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


# --- files, datasets, containers ------------------------------------------------------------


def test_a_file_a_dataset_and_a_container_are_staged_and_verified(
    user: User, rucio: Rucio, rse_alone: None
):
    cart = user.cart(
        row("ossrflow:m67.night1.readme.txt"),
        row("ossrflow:m67.calib", "DATASET"),
        row("ossrflow:m67", "CONTAINER"),
    )
    mark = log_mark(rucio.logs / "nginx-access.log")
    done = user.ossrflow("stage", cart, "--json", "-o", "job.yml")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "wrote job.yml\n"
    readme, calib, m67 = json.loads(done.stdout)
    assert [(s["name"], s["source"], s["size"]) for s in (readme, calib, m67)] == [
        (
            "m67.night1.readme.txt",
            "ossrflow:m67.night1.readme.txt",
            rucio.did("ossrflow:m67.night1.readme.txt")["bytes"],
        ),
        ("m67.calib", "ossrflow:m67.calib", rucio.did("ossrflow:m67.calib")["bytes"]),
        ("m67", "ossrflow:m67", rucio.did("ossrflow:m67")["bytes"]),
    ]
    # Every file is the bytes Rucio registered: its adler32 and md5, from its replica on the RSE.
    expected = rucio.did("ossrflow:m67.night1.readme.txt")
    assert readme["cwl"][RUCIO_KEY] == {
        "did": "ossrflow:m67.night1.readme.txt",
        "rse": "LOCAL_SCRATCHDISK",
        "bytes": expected["bytes"],
        "adler32": expected["adler32"],
        "md5": expected["md5"],
    }
    assert adler32(Path(readme["path"])) == expected["adler32"]
    listing = m67["cwl"]["listing"]
    assert [f["basename"] for f in listing] == sorted(
        did.partition(":")[2] for did in rucio.did("ossrflow:m67")["files"]
    )
    for member in listing:
        did = member[RUCIO_KEY]["did"]
        published = rucio.did(did)
        path = Path(m67["path"]) / member["basename"]
        assert (adler32(path), path.stat().st_size) == (published["adler32"], published["bytes"])
        assert member[RUCIO_KEY] == {
            "did": did,
            "rse": "LOCAL_SCRATCHDISK",
            "bytes": published["bytes"],
            "adler32": published["adler32"],
            "md5": published["md5"],
        }
    assert m67["cwl"][RUCIO_KEY] == {"did": "ossrflow:m67", "type": "CONTAINER"}
    assert calib["cwl"][RUCIO_KEY] == {"did": "ossrflow:m67.calib", "type": "DATASET"}
    # Downloaded from the replicas (https, Rucio's first choice), each file once.
    gets = [
        line
        for line in log_since(rucio.logs / "nginx-access.log", mark)
        if "GET /LOCAL_SCRATCHDISK/ossrflow/" in line
    ]
    # The readme and calib's files are in m67 too: 7 distinct files, 7 downloads.
    assert len(gets) == 7 and all('" 200 ' in line for line in gets)
    job = YAML(typ="safe").load((user.home / "job.yml").read_text())
    assert [d["basename"] for d in job["data"]] == ["m67.night1.readme.txt", "m67.calib", "m67"]
    # Staged again: nothing is downloaded (found in the store by Rucio's checksums).
    mark = log_mark(rucio.logs / "nginx-access.log")
    again = user.ossrflow("stage", cart, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == [readme, calib, m67]
    assert not [
        x
        for x in log_since(rucio.logs / "nginx-access.log", mark)
        if "GET /LOCAL_SCRATCHDISK/ossrflow/" in x
    ]


def test_a_100_file_dataset_downloads_concurrently_over_few_connections(
    user: User, rucio: Rucio, rse_alone: None
):
    cart = user.cart(row("ossrflow:bulk.100files", "DATASET"))
    mark = log_mark(rucio.logs / "nginx-access.log")
    done = user.ossrflow("stage", cart, "--json", OSSRFLOW_PARALLEL_DOWNLOADS="4")
    assert done.returncode == 0, done.stderr
    [bulk] = json.loads(done.stdout)
    assert len(bulk["cwl"]["listing"]) == 100
    for member in bulk["cwl"]["listing"]:
        published = rucio.did(member[RUCIO_KEY]["did"])
        assert adler32(Path(bulk["path"]) / member["basename"]) == published["adler32"]
    gets = [
        line
        for line in log_since(rucio.logs / "nginx-access.log", mark)
        if "/bulk.part-" in line and '" 200 ' in line
    ]
    assert len(gets) == 100
    connections = {re.search(r"conn=(\d+)", line)[1] for line in gets}  # type: ignore[index]
    assert 2 <= len(connections) <= 4  # concurrent, and never more connections than allowed


# --- failures: one line, the right exit code, nothing kept --------------------------------------


def test_a_did_that_does_not_exist_is_exit_2(user: User, rucio: Rucio):
    done = user.ossrflow("stage", user.cart(row("ossrflow:no.such.file")))
    assert done.returncode == 2
    assert one_error_line(done) == (
        "error: cart.json:items[0]: item 'no.such.file': Rucio has no data identifier "
        f"ossrflow:no.such.file [{rucio.env['RUCIO_HOST']}] (fix: check the scope and name with "
        "`rucio list-dids SCOPE:*`)"
    )


def test_a_wrong_password_is_exit_2(tmp_path: Path, rucio: Rucio):
    user = User(tmp_path, user_cfg(tmp_path, rucio, password="not-the-password"))
    done = user.ossrflow("stage", user.cart(row("ossrflow:m67.calib", "DATASET")))
    assert done.returncode == 2
    assert one_error_line(done) == (
        f"error: {rucio.env['RUCIO_HOST']}: Rucio refused the credentials: Cannot authenticate. "
        "CannotAuthenticate: Cannot authenticate to account jdoe with given credentials (fix: "
        "check account, auth_type, username and password in rucio.cfg (RUCIO_CONFIG); "
        "`rucio whoami` tells whether they work)"
    )
    assert not user.store.exists()


def test_a_server_that_is_down_or_silent_is_exit_3(tmp_path: Path, rucio: Rucio):
    with SilentServer() as silent:
        port = silent.url.rpartition(":")[2]
        for host, problem in (
            ("https://127.0.0.1:9", "cannot reach the Rucio server (ServerConnectionException)"),
            (f"https://127.0.0.1:{port}", "the Rucio server did not answer in time"),
        ):
            home = tmp_path / host.rpartition(":")[2]
            home.mkdir()
            user = User(home, user_cfg(home, rucio, host=host))
            done = user.ossrflow(
                "stage", user.cart(row("ossrflow:m67.calib", "DATASET")), OSSRFLOW_TIMEOUT="1"
            )
            assert done.returncode == 3, done.stderr
            assert one_error_line(done) == (
                f"error: {host}: {problem} (fix: check that the server rucio.cfg names "
                "(rucio_host) is up and reachable, or retry later)"
            )


def test_an_expired_token_is_renewed_transparently(user: User, rucio: Rucio, rse_alone: None):
    cart = user.cart(row("ossrflow:m67.night1.log.csv"))
    first = user.ossrflow("stage", cart)
    assert first.returncode == 0, first.stderr
    tokens = list((user.home / "tmp").rglob("auth_token_for_account_*"))
    assert len(tokens) == 1  # rucio-clients keeps its token in TMPDIR
    expire = subprocess.run(
        ["bash", str(SCRIPT), "expire-tokens", rucio.env["OSSRFLOW_RUCIO_USER_ACCOUNT"]],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert expire.returncode == 0, expire.stderr
    mark = log_mark(rucio.logs / "server-access.log")
    second = user.ossrflow("stage", user.cart(row("ossrflow:m67.calib.flat.fits")))
    assert second.returncode == 0, second.stderr
    assert second.stderr == ""
    requests = log_since(rucio.logs / "server-access.log", mark)
    assert [line for line in requests if '"GET /auth/userpass' in line]  # a new token was fetched
    assert [line for line in requests if " 401 " in line]  # after the old one was refused


def test_a_replica_changed_on_disk_is_refused_and_nothing_is_kept(
    user: User, rucio: Rucio, rse: None
):
    did = "ossrflow:standalone.bin"
    corrupt = subprocess.run(
        ["bash", str(SCRIPT), "corrupt", did],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert corrupt.returncode == 0, corrupt.stderr
    try:
        done = user.ossrflow("stage", user.cart(row(did)))
    finally:
        restore = subprocess.run(
            ["bash", str(SCRIPT), "restore", did],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert restore.returncode == 0, restore.stderr
    published = rucio.did(did)
    changed = bytes([0x00 ^ 0xFF]) + bytes(range(1, 256)) + bytes(range(256)) * 3
    assert done.returncode == 2
    assert one_error_line(done) == (
        "error: cart.json:items[0]: item 'standalone.bin': checksum mismatch: the source "
        f"publishes adler32:{published['adler32']}, the bytes have adler32:"
        f"{zlib.adler32(changed):08x} [{published['pfn']}] (fix: the file changed or was "
        "corrupted on the way; nothing was kept)"
    )
    assert staged_files(user.store) == []
    assert [p for p in (user.store / "tmp").iterdir()] == []
    # Restored, the same cart stages (the refusal left nothing in the way).
    again = user.ossrflow("stage", user.cart(row(did)), "--json")
    assert again.returncode == 0, again.stderr
    assert (
        json.loads(again.stdout)[0]["sha256"] == hashlib.sha256(bytes(range(256)) * 4).hexdigest()
    )


# --- a run on Slurm of a workflow whose input is a Rucio dataset ------------------------------

CHECKSUMS = """\
cwlVersion: v1.2
class: Workflow
label: checksums of a Rucio dataset
inputs:
  calib: Directory[]
outputs:
  sums: {type: File, outputSource: checksum/sums}
steps:
  checksum:
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, 'for d in "$@"; do (cd "$d" && sha256sum *); done', sh]
      inputs:
        folders: {type: 'Directory[]', inputBinding: {position: 1}}
      outputs:
        sums: stdout
      stdout: sums.txt
    in: {folders: calib}
    out: [sums]
"""

DEFINITION = """\
ossrflow: 1
label: M67 calibration frames from the Data Lake
entries:
  fitsheader: astropy-fitsheader
inputs:
  calib: {location: [ossrflow:m67.calib], format: application/fits}
steps:
  tabulate:
    run: fitsheader
    in:
      images: calib
      keywords: {value: [OBJECT, IMAGETYP, EXPTIME]}
outputs:
  log: tabulate/table
"""


@pytest.fixture(scope="module")
def slurm() -> None:
    from tests.support.services import start_cluster

    start_cluster(REPO / "scripts" / "cluster" / "slurm.sh", "Slurm test cluster", 600)


def crate_of(run_dir: Path) -> dict[str, dict[str, Any]]:
    graph = json.loads((run_dir / "provenance" / "ro-crate-metadata.json").read_text())["@graph"]
    return {entity["@id"]: entity for entity in graph}


CALIB = ("ossrflow:m67.calib.bias.fits", "ossrflow:m67.calib.flat.fits")


@pytest.mark.slurm
def test_a_rucio_dataset_runs_on_slurm_and_the_crate_holds_its_files(
    user: User, rucio: Rucio, slurm: None, rse: None
):
    (user.home / "workflow.cwl").write_text(CHECKSUMS)
    staged = user.ossrflow(
        "stage", user.cart(row("ossrflow:m67.calib", "DATASET")), "-o", "job.yml",
        "--input-name", "calib",
    )  # fmt: skip
    assert staged.returncode == 0, staged.stderr
    run = user.ossrflow(
        "run", "workflow.cwl", "job.yml", "--profile", "slurm", "--run-dir", "run",
        "--container", "none",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    sums = (user.home / "run" / "results" / "sums.txt").read_text().splitlines()
    stored = {did: Path(rucio.did(did)["path"]).read_bytes() for did in CALIB}
    assert sums == [
        f"{hashlib.sha256(data).hexdigest()}  {did.partition(':')[2]}"
        for did, data in stored.items()
    ]
    crate = crate_of(user.home / "run")
    inputs = {
        e["name"]: e for e in crate.values() if e.get("exampleOfWork") == {"@id": "#param-in-calib"}
    }
    assert {name: (e["contentSize"], e["sha256"]) for name, e in inputs.items()} == {
        did.partition(":")[2]: (len(data), hashlib.sha256(data).hexdigest())
        for did, data in stored.items()
    }
    assert "slurm" in crate[next(k for k in crate if k.startswith("#run-"))]["description"]
    # The job order the run saw, kept in the crate, names the dataset's DID.
    job = json.loads((user.home / "run" / "provenance" / "workflow" / "job.json").read_text())
    assert job["calib"][0][RUCIO_KEY] == {"did": "ossrflow:m67.calib", "type": "DATASET"}


def rucio_facts(crate: dict[str, dict[str, Any]], entity: dict[str, Any]) -> dict[str, str]:
    """What the crate says of a file staged from Rucio: DID, RSE, Rucio's checksums."""
    did = crate[entity["identifier"]["@id"]]
    rse = crate[entity["contentLocation"]["@id"]]
    assert (did["@type"], did["propertyID"]) == ("PropertyValue", "https://w3id.org/ossrflow#rucio")
    assert rse["@type"] == "Place"
    return {
        "did": did["value"],
        "rse": rse["name"],
        "adler32": entity["adler32"],
        "md5": entity["md5"],
    }


def check_rucio_terms(run_dir: Path) -> None:
    """adler32 and md5 are ossrflow terms: in the crate's @context, each an rdf:Property."""
    metadata = json.loads((run_dir / "provenance" / "ro-crate-metadata.json").read_text())
    assert metadata["@context"][-1] == {
        "adler32": "https://w3id.org/ossrflow#adler32",
        "md5": "https://w3id.org/ossrflow#md5",
    }
    crate = crate_of(run_dir)
    for term in ("adler32", "md5"):
        assert crate[f"https://w3id.org/ossrflow#{term}"]["@type"] == "rdf:Property"


@pytest.mark.slurm
def test_the_crate_names_each_file_by_its_did_rse_and_rucio_checksums(
    user: User, rucio: Rucio, slurm: None, rse: None
):
    (user.home / "workflow.cwl").write_text(CHECKSUMS)
    cart = user.cart(row("ossrflow:m67.calib", "DATASET"))
    assert user.ossrflow("stage", cart, "-o", "job.yml", "--input-name", "calib").returncode == 0
    run = user.ossrflow(
        "run", "workflow.cwl", "job.yml", "--profile", "slurm", "--run-dir", "run",
        "--container", "none",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    crate = crate_of(user.home / "run")
    for did in CALIB:
        published = rucio.did(did)
        [entity] = [e for e in crate.values() if e.get("name") == did.partition(":")[2]]
        assert rucio_facts(crate, entity) == {
            "did": did,
            "rse": "LOCAL_SCRATCHDISK",
            "adler32": published["adler32"],
            "md5": published["md5"],
        }
    check_rucio_terms(user.home / "run")
    # The job order kept in the crate has the dataset's listing, each file with its facts.
    job = json.loads((user.home / "run" / "provenance" / "workflow" / "job.json").read_text())
    [calib] = job["calib"]
    assert calib[RUCIO_KEY] == {"did": "ossrflow:m67.calib", "type": "DATASET"}
    assert [f[RUCIO_KEY]["did"] for f in calib["listing"]] == list(CALIB)


@pytest.mark.slurm
def test_compose_and_run_on_slurm_of_a_definition_whose_input_is_a_rucio_dataset(
    user: User, rucio: Rucio, slurm: None, rse: None
):
    (user.home / "analysis.yml").write_text(DEFINITION)
    tools = f"{Path(sys.executable).parent}:{os.environ['PATH']}"  # astropy's fitsheader
    run = user.ossrflow(
        "run", "analysis.yml", "--registry", f"dir:{REPO / 'workflows' / 'registry'}",
        "--profile", "slurm", "--run-dir", "run", "--container", "none", PATH=tools,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    log = (user.home / "run" / "results" / "headers.csv").read_text()
    assert "m67.calib.bias.fits" in log and "m67.calib.flat.fits" in log
    # The lock pins the dataset's files: each by its DID, Rucio's adler32 and its sha256.
    lock = json.loads((user.home / "run" / "workflow" / "ossrflow.lock.json").read_text())
    files = lock["inputs"]["calib"]["files"]
    assert [f["location"] for f in files] == list(CALIB)
    assert files == [
        {
            "name": did.partition(":")[2],
            "location": did,
            "member_of": "ossrflow:m67.calib",
            "size": rucio.did(did)["bytes"],
            "sha256": hashlib.sha256(Path(rucio.did(did)["path"]).read_bytes()).hexdigest(),
            "checksum": f"adler32:{rucio.did(did)['adler32']}",
        }
        for did in CALIB
    ]
    # The composed job lists the dataset's files (File[]), and the crate names each by its DID.
    crate = crate_of(user.home / "run")
    inputs = [e for e in crate.values() if e.get("exampleOfWork") == {"@id": "#param-in-calib"}]
    assert sorted(rucio_facts(crate, e)["did"] for e in inputs) == list(CALIB)
    check_rucio_terms(user.home / "run")


def test_a_dataset_in_a_single_location_is_refused(user: User, rucio: Rucio, rse: None):
    (user.home / "analysis.yml").write_text(
        "ossrflow: 1\n"
        "entries: {fitscheck: astropy-fitscheck}\n"
        "inputs:\n"
        "  frame: {location: ossrflow:m67.calib, format: application/fits}\n"
        "steps: {check: {run: fitscheck, in: {image: frame}}}\n"
        "outputs: {checked: check/checked}\n"
    )
    done = user.ossrflow(
        "compose", "analysis.yml", "--outdir", "out",
        "--registry", f"dir:{REPO / 'workflows' / 'registry'}",
    )  # fmt: skip
    assert done.returncode == 2
    assert one_error_line(done) == (
        "error: analysis.yml:4:3: inputs.frame: ossrflow:m67.calib is a Rucio dataset of 2 files, "
        "but a single location gives one File (fix: write the location as a list, location: "
        "[ossrflow:m67.calib], to give its files as File[])"
    )
    assert not (user.home / "out").exists()


def test_a_locked_dataset_that_changed_is_noticed(user: User, rucio: Rucio, rse: None):
    """The lock pins the dataset's files: a file more or less, or other bytes, is refused."""
    (user.home / "analysis.yml").write_text(DEFINITION)
    registry = ("--registry", f"dir:{REPO / 'workflows' / 'registry'}")
    locked = user.ossrflow("lock", "analysis.yml", *registry)
    assert locked.returncode == 0, locked.stderr
    path = user.home / "analysis.lock.json"
    pins = json.loads(path.read_text())
    bias, flat = pins["inputs"]["calib"]["files"]
    # As if the dataset had held only the bias frame when it was locked.
    pins["inputs"]["calib"]["files"] = [bias]
    path.write_text(json.dumps(pins))
    composed = user.ossrflow("compose", "analysis.yml", "--outdir", "out", *registry)
    assert composed.returncode == 2
    assert one_error_line(composed) == (
        "error: analysis.yml:6:3: inputs.calib: holds 2 files, the lock pins 1 (fix: run "
        f"`ossrflow lock analysis.yml --registry dir:{REPO / 'workflows' / 'registry'}` to pin "
        "the new state, if the change is expected)"
    )
    # As if the flat frame had had other bytes.
    pins["inputs"]["calib"]["files"] = [bias, flat | {"sha256": "0" * 64}]
    path.write_text(json.dumps(pins))
    composed = user.ossrflow("compose", "analysis.yml", "--outdir", "out", *registry)
    assert composed.returncode == 2
    assert "file 1 is 'm67.calib.flat.fits' sha256:" in one_error_line(composed)
    # Locking again pins the dataset as it is, and says what changed.
    relocked = user.ossrflow("lock", "analysis.yml", *registry)
    assert relocked.returncode == 0, relocked.stderr
    assert (
        f"inputs.calib: m67.calib.flat.fits (in ossrflow:m67.calib) sha256:{'0' * 16}… -> "
        f"sha256:{flat['sha256'][:16]}…\n"
    ) in relocked.stdout
    assert json.loads(path.read_text())["inputs"]["calib"]["files"] == [bias, flat]
