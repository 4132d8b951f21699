"""No stale result: a batched element whose input key changed loses its results before a run."""

from __future__ import annotations

from pathlib import Path

from ossrflow.run.freshness import describe_element, refresh_element


def finished(run_dir: Path, key: str) -> tuple[Path, Path]:
    """A finished element 0 of step ``s`` with input key ``key``, its batch and the step done."""
    element = run_dir / "steps" / "s" / "0"
    element.mkdir(parents=True)
    for name, text in (
        ("exit.code", "0 t0 t1 vm -\n"),
        ("cwl.output.json", "{}"),
        ("ossrflow-job.json", "{}"),
        ("inputs.sha256", key + "\n"),
    ):
        (element / name).write_text(text)
    marker = run_dir / "steps" / "s" / "batches" / "0.done"
    marker.parent.mkdir()
    marker.write_text("")
    (run_dir / "steps" / "s" / "cwl.output.json").write_text("{}")
    return element, marker


def test_the_same_key_keeps_everything(tmp_path: Path):
    element, marker = finished(tmp_path, "k1")
    assert refresh_element(tmp_path, "s", 0, "k1", marker) is False
    assert sorted(p.name for p in element.iterdir()) == [
        "cwl.output.json",
        "exit.code",
        "inputs.sha256",
        "ossrflow-job.json",
    ]
    assert marker.exists() and (tmp_path / "steps/s/cwl.output.json").exists()


def test_another_key_removes_the_results_the_batch_marker_and_the_gathered_output(
    tmp_path: Path,
):
    element, marker = finished(tmp_path, "k1")
    assert refresh_element(tmp_path, "s", 0, "k2", marker) is True
    assert list(element.iterdir()) == []  # the batch writes the new key when it runs again
    assert not marker.exists() and not (tmp_path / "steps/s/cwl.output.json").exists()


def test_an_element_without_exit_status_runs_its_batch_again(tmp_path: Path):
    element, marker = finished(tmp_path, "k1")
    (element / "exit.code").write_text("")  # killed while writing it
    assert refresh_element(tmp_path, "s", 0, "k1", marker) is False
    assert not marker.exists()


def test_a_new_element_costs_planning_no_file(tmp_path: Path):
    marker = tmp_path / "steps" / "s" / "batches" / "0.done"
    assert refresh_element(tmp_path, "s", 0, "k1", marker) is False
    assert not (tmp_path / "steps").exists()


def test_a_result_without_its_key_is_stale(tmp_path: Path):
    element, marker = finished(tmp_path, "k1")
    (element / "inputs.sha256").unlink()
    assert refresh_element(tmp_path, "s", 0, "k1", marker) is True
    assert list(element.iterdir()) == [] and not marker.exists()


def test_an_element_is_described_by_its_own_inputs():
    value = {"class": "File", "location": "file:///d/m67-1.fits", "basename": "m67-1.fits"}
    assert describe_element({"#main/check/f": value, "n": 3}) == "f=m67-1.fits, n=3"
    assert describe_element({"w": "two words "}) == 'w="two words "'
    assert len(describe_element({"w": "x" * 500})) == 100
