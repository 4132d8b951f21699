"""Planning: CWL documents and job orders become nodes (one Snakemake rule each)."""

from __future__ import annotations

import pytest

from ossrflow.cwl.load import load_root
from ossrflow.errors import InputError, Unsupported
from ossrflow.run.plan import INPUTS, Node, Plan, parse_plan, plan_run, render_plan
from tests.conftest import DATA

CWL = DATA / "cwl"


def plan_of(tool: str, job: str | None = None) -> Plan:
    return plan_run(load_root(str(CWL / tool), str(CWL / job) if job else None))


def test_a_tool_is_one_node_after_the_inputs():
    plan = plan_of("shout.cwl", "shout-job.yml")
    assert [(n.key, n.kind) for n in plan.nodes] == [(INPUTS, "inputs"), ("tool", "tool")]
    assert plan.result == "tool"
    assert plan.job_order == {"message": "hello ossrflow"}
    assert plan.node("tool").label == "tool (CommandLineTool shout.cwl)"


def test_scatter_over_inputs_is_sized_when_planning_and_over_outputs_later():
    plan = plan_of("scatter.cwl", "scatter-job.yml")
    uri = f"file://{CWL / 'scatter.cwl'}"
    assert [n.key for n in plan.nodes] == [INPUTS, "shout", "join", "measure", "@outputs"]
    shout, join, measure, outputs = plan.nodes[1:]
    assert (shout.scatter_method, shout.scatter_lengths, shout.dynamic) == (
        "dotproduct",
        (3,),
        False,
    )
    assert shout.sources == {f"{uri}#words": (INPUTS, "words")}
    assert shout.target == (f"{uri}#shout",)
    assert shout.outputs == ("shouted",)
    assert (measure.scatter_method, measure.dynamic) == ("dotproduct", True)
    assert measure.deps == ("shout",)
    assert not join.scattered
    assert outputs.kind == "exit"
    assert outputs.deps == ("join", "measure", "shout")
    assert plan.result == "@outputs"


def test_subworkflows_are_flattened_and_conditions_stay_steps():
    plan = plan_of("nested.cwl", "nested-job.yml")
    kinds = [(n.key, n.kind) for n in plan.nodes]
    assert kinds == [
        (INPUTS, "inputs"),
        ("optional", "step"),
        ("twice@inputs", "enter"),
        ("twice.first", "step"),
        ("twice.second", "step"),
        ("twice@outputs", "exit"),
        ("@outputs", "exit"),
    ]
    assert plan.node("twice.first").deps == ("twice@inputs",)
    assert plan.node("@outputs").deps == ("optional", "twice@outputs")


def test_resources_come_from_the_tool():
    plan = plan_of("resources.cwl")
    assert plan.node("tool").resources == {
        "cores": 2,
        "ram": 300,
        "tmpdir": 10,
        "outdir": 20,
        "timelimit": 90,
    }


def test_plans_survive_their_json_form():
    plan = plan_of("scatter.cwl", "scatter-job.yml")
    again = parse_plan(render_plan(plan))
    assert again.nodes == plan.nodes
    assert (again.uri, again.basedir, again.result) == (plan.uri, plan.basedir, plan.result)
    assert again.job_order == {}  # stored apart, as the inputs node's output object


def test_an_old_plan_is_refused():
    with pytest.raises(InputError, match="plan version 0 is not 1"):
        parse_plan('{"version": 0}', source="run/plan.json")


def test_a_missing_required_input_is_refused_when_planning():
    with pytest.raises(InputError) as caught:
        plan_of("shout.cwl")
    assert "Missing required input parameter 'message'" in str(caught.value)


def test_unsupported_features_exit_33_before_anything_runs():
    with pytest.raises(Unsupported):
        load_root(str(CWL / "operation.cwl"), None)


def test_node_dependencies_are_sorted_and_unique():
    node = Node("n", "step", sources={"a": ("x", "o"), "b": ("w", "o"), "c": ("x", "p")})
    assert node.deps == ("w", "x")


def test_scheduler_hints_of_steps_are_kept_for_the_profile():
    plan = plan_of("hinted.cwl", "shout-job.yml")
    assert plan.node("s").scheduler == {"partition": "debug", "account": "astro"}
