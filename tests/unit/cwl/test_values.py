"""Job orders keep how YAML floats were written, so command lines match cwltool's."""

from __future__ import annotations

from ruamel.yaml import YAML
from ruamel.yaml.scalarfloat import ScalarFloat

from ossrflow.cwl.values import parse_json, render_json


def test_yaml_floats_keep_their_text():
    job = YAML(typ="rt").load("small: 0.00001\nbig: 1.23e5\nplain: 2.5\nnested: [1.0e-3]\n")
    text = render_json(job)
    assert text == (
        '{\n "big": 1.23e5,\n "nested": [\n  1.0e-3\n ],\n "plain": 2.5,\n "small": 0.00001\n}\n'
    )
    back = parse_json(text, yaml_floats=True)
    assert isinstance(back["big"], ScalarFloat)
    assert back == {"big": 123000.0, "nested": [0.001], "plain": 2.5, "small": 0.00001}


def test_plain_values_are_plain_json():
    value = {"b": [1, 2.5, "x", None, True], "a": {"c": "d"}}
    assert render_json(value) == (
        '{\n "a": {\n  "c": "d"\n },\n "b": [\n  1,\n  2.5,\n  "x",\n  null,\n  true\n ]\n}\n'
    )
    assert parse_json(render_json(value)) == value
    assert not isinstance(parse_json("[2.5]")[0], ScalarFloat)


def test_strings_that_look_like_placeholders_stay_strings():
    job = YAML(typ="rt").load("x: 1.5e3\ny: '0:0'\n")
    assert parse_json(render_json(job)) == {"x": 1500.0, "y": "0:0"}
