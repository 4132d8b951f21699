"""The containers-only check a service runs before every run (`ossrflow.verify_containerized`):
what counts as a container (own or inherited requirement or hint) and how a refusal names the
step, nested steps included."""

from __future__ import annotations

from pathlib import Path

import pytest

import ossrflow

DOCKER = "DockerRequirement: {dockerPull: ossrflow/busybox:local}"


def tool(requirement: str = "") -> str:
    section = f"requirements:\n  {requirement}\n" if requirement else ""
    return (
        "cwlVersion: v1.2\nclass: CommandLineTool\n" + section + "baseCommand: [echo, hi]\n"
        "inputs: []\nstdout: out.txt\noutputs: {out: stdout}\n"
    )


def workflow(steps: dict[str, str], header: str = "") -> str:
    lines = ["cwlVersion: v1.2", "class: Workflow", *([header] if header else []),
             "inputs: []", "outputs: []", "steps:"]  # fmt: skip
    for name, run in steps.items():
        lines += [f"  {name}:", f"    run: {run}", "    in: []", "    out: []"]
    return "\n".join(lines) + "\n"


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder / next(iter(files))


def test_every_tool_with_its_own_requirement_passes(tmp_path):
    main = write(tmp_path, {"main.cwl": workflow({"a": "a.cwl", "b": "b.cwl"}),
                            "a.cwl": tool(DOCKER), "b.cwl": tool(DOCKER)})  # fmt: skip
    ossrflow.verify_containerized(main, None)


def test_a_workflow_hint_covers_its_steps(tmp_path):
    hint = f"hints:\n  {DOCKER}"
    main = write(tmp_path, {"main.cwl": workflow({"a": "a.cwl"}, hint), "a.cwl": tool()})
    ossrflow.verify_containerized(main, None)


def test_the_refusal_names_the_nested_step(tmp_path):
    inner = workflow({"bare": "bare.cwl"}, "")
    main = write(tmp_path, {
        "main.cwl": workflow({"ok": "ok.cwl", "outer": "inner.cwl"},
                             "requirements:\n  SubworkflowFeatureRequirement: {}"),
        "ok.cwl": tool(DOCKER),
        "inner.cwl": inner,
        "bare.cwl": tool(),
    })  # fmt: skip
    with pytest.raises(ossrflow.InputError) as caught:
        ossrflow.verify_containerized(main, None)
    assert caught.value.location == "outer/bare"
    assert caught.value.problem == (
        "step outer/bare (CommandLineTool) has no DockerRequirement: it would run on the host"
    )


def test_javascript_is_refused_unless_allowed(tmp_path):
    main = write(tmp_path, {"js.cwl": tool(DOCKER + "\n  InlineJavascriptRequirement: {}")})
    with pytest.raises(ossrflow.InputError) as caught:
        ossrflow.verify_containerized(main, None)
    assert "uses JavaScript expressions" in caught.value.problem
    ossrflow.verify_containerized(main, None, allow_javascript=True)
