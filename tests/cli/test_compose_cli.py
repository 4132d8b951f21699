"""`ossrflow compose` and `ossrflow lock`: whole outputs, the hostile corpus, pins that hold.

Commands run through `main()` (the error boundary) inside CliRunner's isolation, so stdout,
stderr and the exit code are exactly what a user sees. Entries come from the demo registry
(workflows/registry); definitions and their data from tests/data/definitions.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import DATA, REPO
from tests.support.cli import Run, run

DEFINITIONS = DATA / "definitions"
REGISTRY = REPO / "workflows" / "registry"
DEMO = REPO / "workflows" / "demo"
HOSTILE = sorted(DEFINITIONS.glob("hostile_*.yml"))


def compose(definition: Path | str, out: Path, *extra: str) -> Run:
    return run(
        "compose", str(definition), "--registry", f"dir:{REGISTRY}", "--outdir", str(out), *extra
    )


def expected_error(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# error: "), f"{path.name} must start with '# error: <message>'"
    text = first.removeprefix("# error: ")
    return text.replace("{folder}", str(DEFINITIONS)).replace("{registry}", str(REGISTRY))


@pytest.mark.parametrize("path", HOSTILE, ids=[p.stem for p in HOSTILE])
def test_hostile_definition_is_refused_with_its_located_line(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One line, exit 2, no traceback, and nothing written: no output folder, no leftovers."""
    monkeypatch.chdir(DEFINITIONS)
    out = tmp_path / "out"
    result = compose(path.name, out)
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == f"error: {expected_error(path)}\n"
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["cache"])


def test_hostile_corpus_covers_every_refusal_the_issue_names() -> None:
    names = {p.stem.removeprefix("hostile_") for p in HOSTILE}
    assert {
        "parent_path",
        "absolute_path",
        "file_url",
        "dir_ref_escape",
        "unknown_key",
        "cycle",
        "type_mismatch_scatter",
        "type_mismatch_array",
        "alias_shell",
        "source_shell",
        "partition_shell",
        "unknown_entry",
        "unknown_output",
    } <= names


def test_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "def"
    folder.mkdir()
    (folder / "leak.fits").symlink_to(DEFINITIONS / "data" / "a.fits")
    (folder / "flow.yml").write_text(
        "entries: {fitscheck: astropy-fitscheck}\n"
        "inputs:\n"
        "  image: leak.fits\n"
        "steps:\n"
        "  check: {run: fitscheck, in: {image: image}}\n"
        "outputs: {out: check/checked}\n"
    )
    result = compose(folder / "flow.yml", tmp_path / "out")
    assert result.code == 2
    assert result.stderr == (
        f"error: {folder / 'flow.yml'}:3:3: inputs.image.location: path 'leak.fits' leads outside "
        f"{folder} through a symbolic link (fix: replace the link by the file itself)\n"
    )
    assert not (tmp_path / "out").exists()


def test_absolute_paths_are_accepted_only_when_allowed(tmp_path: Path) -> None:
    definition = tmp_path / "flow.yml"
    definition.write_text(
        "entries: {fitscheck: astropy-fitscheck}\n"
        "inputs:\n"
        f"  image: {DEFINITIONS / 'data' / 'a.fits'}\n"
        "steps:\n"
        "  check: {run: fitscheck, in: {image: image}}\n"
        "outputs: {out: check/checked}\n"
    )
    refused = compose(definition, tmp_path / "out")
    assert refused.code == 2
    assert "inputs.image.location: absolute path" in refused.stderr
    allowed = compose(definition, tmp_path / "out", "--allow-absolute-paths")
    assert allowed.code == 0, allowed.stderr
    job = YAML(typ="safe").load((tmp_path / "out" / "job.yml").read_text())
    assert job["image"]["basename"] == "a.fits"


# --- the demo definition ---------------------------------------------------------------------


def test_compose_demo_prints_pins_and_writes_the_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = compose(DEMO / "analysis.yml", out, "--no-lock")
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == (
        "entry       ref                 record              version  doi\n"
        "fitscheck   astropy-fitscheck   astropy-fitscheck   8.0.1    10.5281/zenodo.4670728\n"
        "fitsheader  astropy-fitsheader  astropy-fitsheader  8.0.1    10.5281/zenodo.4670728\n"
        "showtable   astropy-showtable   astropy-showtable   8.0.1    10.5281/zenodo.4670728\n"
        "\n"
        "input      kind  files  bytes\n"
        "exposures  cart  4      46080\n"
        "\n"
        f"wrote {out / 'workflow.cwl'}\n"
        f"wrote {out / 'job.yml'}\n"
        f"wrote {out / 'ossrflow.lock.json'}\n"
    )
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "job.yml",
        "ossrflow.lock.json",
        "tools",
        "tools/fitscheck.cwl",
        "tools/fitsheader.cwl",
        "tools/showtable.cwl",
        "workflow.cwl",
    ]


def test_compose_is_repeatable_for_the_workflow_and_job(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert compose(DEMO / "analysis.yml", first).code == 0
    assert compose(DEMO / "analysis.yml", second).code == 0
    for name in ("workflow.cwl", "job.yml"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_compose_is_repeatable_byte_for_byte(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert compose(DEMO / "analysis.yml", first).code == 0
    assert compose(DEMO / "analysis.yml", second).code == 0
    for path in sorted(first.rglob("*.*")):
        relative = path.relative_to(first)
        assert path.read_bytes() == (second / relative).read_bytes(), relative


def test_compose_again_into_the_same_folder_drops_tools_no_longer_used(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert compose(DEMO / "analysis.yml", out).code == 0
    smaller = tmp_path / "small"
    shutil.copytree(DEFINITIONS / "data", smaller / "data")
    (smaller / "flow.yml").write_text(
        "entries: {fitscheck: astropy-fitscheck}\n"
        "inputs: {image: data/a.fits}\n"
        "steps: {check: {run: fitscheck, in: {image: image}}}\n"
        "outputs: {out: check/checked}\n"
    )
    assert compose(smaller / "flow.yml", out).code == 0
    assert sorted(p.name for p in (out / "tools").iterdir()) == ["fitscheck.cwl"]


def test_output_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("keep me")
    result = compose(DEMO / "analysis.yml", target)
    assert result.code == 2
    assert result.stderr == (
        f"error: ossrflow compose: Invalid value for '--outdir': Directory '{target}' is a file "
        "(fix: see `ossrflow compose --help`)\n"
    )
    assert target.read_text() == "keep me"


# --- ossrflow lock ---------------------------------------------------------------------------


def _copy_demo(tmp_path: Path) -> Path:
    folder = tmp_path / "demo"
    shutil.copytree(DEMO, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return folder


def test_lock_writes_pins_beside_the_definition_and_compose_holds_to_them(tmp_path: Path) -> None:
    folder = _copy_demo(tmp_path)
    locked = run("lock", str(folder / "analysis.yml"), "--registry", f"dir:{REGISTRY}")
    assert locked.code == 0, locked.stderr
    lock_path = folder / "analysis.lock.json"
    assert locked.stdout.endswith(f"\nwrote {lock_path}\n")
    pins = json.loads(lock_path.read_text())
    assert pins["entries"]["fitsheader"]["record_id"] == "astropy-fitsheader"
    assert pins["entries"]["fitsheader"]["version"] == "8.0.1"
    assert pins["entries"]["fitsheader"]["registry"] == f"dir:{REGISTRY}"
    assert pins["inputs"]["exposures"]["files"][0] == {
        "checksum": None,
        "location": "data/m67_B_001.fits",
        "name": "m67_B_001.fits",
        "sha256": "320b8f197fc3205a10d00a4edf5c74351875107fd43dfa421ebfa4c3c6f5fa21",
        "size": 11520,
    }
    composed = compose(folder / "analysis.yml", tmp_path / "run")
    assert composed.code == 0, composed.stderr
    assert f"pinned by {lock_path}\n" in composed.stdout


def test_compose_refuses_an_entry_that_changed_since_the_lock(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(REGISTRY, registry)
    folder = _copy_demo(tmp_path)
    definition = folder / "analysis.yml"
    assert run("lock", str(definition), "--registry", f"dir:{registry}").code == 0
    interface = registry / "astropy-showtable" / "ossrflow-interface.yml"
    interface.write_text(interface.read_text() + "# edited\n")
    result = run(
        "compose",
        str(definition),
        "--registry",
        f"dir:{registry}",
        "--outdir",
        str(tmp_path / "run"),
    )
    assert result.code == 2
    assert result.stderr.startswith(
        f"error: {definition}:23:3: entries.showtable: file 'ossrflow-interface.yml' of record "
        "astropy-showtable is md5:"
    )
    assert result.stderr.endswith(
        f"(fix: run `ossrflow lock {definition} --registry dir:{registry}` to pin the new state, "
        "if the change is expected)\n"
    )
    assert not (tmp_path / "run").exists()
    again = run(
        "compose",
        str(definition),
        "--registry",
        f"dir:{registry}",
        "--outdir",
        str(tmp_path / "run"),
        "--no-lock",
    )
    assert again.code == 0, again.stderr


def test_compose_refuses_an_input_whose_bytes_changed_since_the_lock(tmp_path: Path) -> None:
    folder = tmp_path / "def"
    shutil.copytree(DEFINITIONS / "data", folder / "data")
    definition = folder / "flow.yml"
    definition.write_text(
        "entries: {fitscheck: astropy-fitscheck}\n"
        "inputs: {image: data/a.fits}\n"
        "steps: {check: {run: fitscheck, in: {image: image}}}\n"
        "outputs: {out: check/checked}\n"
    )
    assert run("lock", str(definition), "--registry", f"dir:{REGISTRY}").code == 0
    (folder / "data" / "a.fits").write_bytes((folder / "data" / "b.fits").read_bytes())
    result = compose(definition, tmp_path / "run")
    now = hashlib.sha256((folder / "data" / "a.fits").read_bytes()).hexdigest()[:16]
    assert (result.code, result.stderr) == (
        2,
        f"error: {definition}:2:10: inputs.image: file 0 is 'a.fits' sha256:{now}…, the lock "
        f"pins 'a.fits' sha256:ed611ec137da4cce… (fix: run `ossrflow lock {definition} --registry "
        f"dir:{REGISTRY}` to pin the new state, if the change is expected)\n",
    )
    assert not (tmp_path / "run").exists()


def test_lock_reports_what_changed(tmp_path: Path) -> None:
    folder = _copy_demo(tmp_path)
    definition = folder / "analysis.yml"
    assert run("lock", str(definition), "--registry", f"dir:{REGISTRY}").code == 0
    text = definition.read_text().replace(
        "  showtable: astropy-showtable\n",
        "  showtable: astropy-showtable\n  extra: astropy-fitscheck\n",
    )
    definition.write_text(text)
    result = run("lock", str(definition), "--registry", f"dir:{REGISTRY}")
    assert result.code == 0, result.stderr
    assert "entries.extra: new, record astropy-fitscheck\n" in result.stdout


def test_a_broken_lock_file_is_a_located_error(tmp_path: Path) -> None:
    folder = _copy_demo(tmp_path)
    (folder / "analysis.lock.json").write_text('{"ossrflow_lock": 7}')
    result = compose(folder / "analysis.yml", tmp_path / "run")
    assert result.code == 2
    assert result.stderr == (
        f"error: {folder / 'analysis.lock.json'}:ossrflow_lock: ossrflow_lock: is not 1 (an unknown "
        "lock format) (fix: the lock file is written by ossrflow; run `ossrflow lock DEFINITION` "
        "to rewrite it)\n"
    )


def test_lock_and_compose_default_to_the_registry_the_lock_records(tmp_path: Path) -> None:
    """Issue 14: once locked against a folder registry, neither command needs --registry again;
    a relock names the files that changed."""
    folder = tmp_path / "def"
    shutil.copytree(DEFINITIONS / "data", folder / "data")
    definition = folder / "flow.yml"
    definition.write_text(
        "entries: {fitscheck: astropy-fitscheck}\n"
        "inputs: {images: [data/a.fits, data/b.fits]}\n"
        "steps: {check: {run: fitscheck, in: {image: images}, scatter: image}}\n"
        "outputs: {out: check/checked}\n"
    )
    assert run("lock", str(definition), "--registry", f"dir:{REGISTRY}").code == 0
    composed = run("compose", str(definition), "--outdir", str(tmp_path / "run"))
    assert composed.code == 0, composed.stderr
    assert f"pinned by {folder / 'flow.lock.json'}\n" in composed.stdout
    old = hashlib.sha256((folder / "data" / "b.fits").read_bytes()).hexdigest()
    shutil.copyfile(folder / "data" / "a.fits", folder / "data" / "b.fits")
    new = hashlib.sha256((folder / "data" / "b.fits").read_bytes()).hexdigest()
    relocked = run("lock", str(definition))
    assert relocked.code == 0, relocked.stderr
    assert relocked.stdout.splitlines()[-2:] == [
        f"inputs.images: b.fits sha256:{old[:16]}… -> sha256:{new[:16]}…",
        f"wrote {folder / 'flow.lock.json'}",
    ]


def test_run_of_a_composed_workflow_keeps_its_lock(tmp_path: Path) -> None:
    """Issue 14: `ossrflow run DIR/workflow.cwl` takes DIR/ossrflow.lock.json when it pins that
    workflow's bytes, and not when the workflow changed."""
    from ossrflow.config import Settings
    from ossrflow.provenance.runs import prepare_target

    out = tmp_path / "run"
    assert compose(DEMO / "analysis.yml", out).code == 0
    settings = Settings(cache_dir=tmp_path / "cache")
    target = prepare_target(out / "workflow.cwl", out / "job.yml", tmp_path / "r", settings)
    assert (target.workflow, target.job, target.lock) == (
        out / "workflow.cwl",
        out / "job.yml",
        out / "ossrflow.lock.json",
    )
    (out / "workflow.cwl").write_text((out / "workflow.cwl").read_text() + "# edited\n")
    assert prepare_target(out / "workflow.cwl", None, tmp_path / "r", settings).lock is None
