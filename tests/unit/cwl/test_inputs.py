"""Scatter arithmetic: which element a job is, and how elements join back into arrays."""

from __future__ import annotations

from pathlib import Path

import pytest

from ossrflow.cwl.inputs import ScatterShape, scatter_element
from ossrflow.run.job import gather_node, write_output
from ossrflow.run.plan import node_output

INPUTS = {"a": [1, 2], "b": ["x", "y", "z"], "c": "same"}


def test_dotproduct_takes_the_same_index_of_each_array():
    shape = ScatterShape("dotproduct", ("a", "b"), (2, 2))
    assert (shape.count, shape.dims) == (2, (2,))
    assert scatter_element({"a": [1, 2], "b": ["x", "y"], "c": 0}, shape, 1) == {
        "a": 2,
        "b": "y",
        "c": 0,
    }


@pytest.mark.parametrize("method", ["nested_crossproduct", "flat_crossproduct"])
def test_crossproducts_run_row_major(method):
    shape = ScatterShape(method, ("a", "b"), (2, 3))
    assert shape.count == 6
    elements = [scatter_element(INPUTS, shape, i) for i in range(6)]
    assert [(e["a"], e["b"]) for e in elements] == [
        (1, "x"),
        (1, "y"),
        (1, "z"),
        (2, "x"),
        (2, "y"),
        (2, "z"),
    ]
    assert all(e["c"] == "same" for e in elements)


def test_only_nested_crossproduct_nests_its_outputs():
    assert ScatterShape("nested_crossproduct", (), (2, 3)).dims == (2, 3)
    assert ScatterShape("flat_crossproduct", (), (2, 3)).dims == (6,)
    assert ScatterShape("dotproduct", (), ()).count == 0


def gathered(tmp_path: Path, shape: ScatterShape) -> object:
    for index in range(shape.count):
        write_output(tmp_path, "s", index, {"out": index, "skipped": None})
    gather_node(tmp_path, "s", shape, ["out", "skipped"])
    return (tmp_path / node_output("s")).read_text()


def test_gathering_nests_by_the_scatter_shape(tmp_path: Path):
    text = gathered(tmp_path, ScatterShape("nested_crossproduct", (), (2, 3)))
    assert text == (
        '{\n "out": [\n  [\n   0,\n   1,\n   2\n  ],\n  [\n   3,\n   4,\n   5\n  ]\n ],\n'
        ' "skipped": [\n  [\n   null,\n   null,\n   null\n  ],\n  [\n   null,\n   null,\n'
        "   null\n  ]\n ]\n}\n"
    )


def test_an_empty_scatter_gathers_empty_arrays(tmp_path: Path):
    text = gathered(tmp_path, ScatterShape("nested_crossproduct", (), (2, 0)))
    assert text == '{\n "out": [\n  [],\n  []\n ],\n "skipped": [\n  [],\n  []\n ]\n}\n'
