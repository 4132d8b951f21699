from pathlib import Path

import pytest

from ossrflow.documents import load_json_document, load_yaml_document, location_of
from ossrflow.errors import InputError, NotFound


def test_yaml_keeps_locations(tmp_path: Path):
    path = tmp_path / "wf.yml"
    path.write_text("entries:\n  fits: dir:registry/fitsinfo\nsteps:\n  - a\n  - b\n")
    doc = load_yaml_document(path)
    assert location_of(doc, "steps") == "3:1"
    assert location_of(doc["entries"], "fits") == "2:3"
    assert location_of(doc["steps"], 1) == "5:5"


def test_yaml_syntax_error_is_located(tmp_path: Path):
    path = tmp_path / "wf.yml"
    path.write_text("entries:\n  a: [1, 2\n")
    with pytest.raises(InputError) as info:
        load_yaml_document(path)
    assert str(info.value).startswith(f"{path}:3:1: invalid YAML:")


def test_json_syntax_error_is_located(tmp_path: Path):
    path = tmp_path / "codemeta.json"
    path.write_text('{\n  "name": "x",\n  "version": \n}\n')
    with pytest.raises(InputError) as info:
        load_json_document(path)
    assert str(info.value) == (
        f"{path}:4:1: invalid JSON: Expecting value "
        "(fix: fix the JSON syntax (a validator such as `python -m json.tool` shows where))"
    )


def test_missing_and_binary_files(tmp_path: Path):
    with pytest.raises(NotFound, match="file does not exist"):
        load_yaml_document(tmp_path / "absent.yml")
    binary = tmp_path / "b.yml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="not UTF-8 text"):
        load_yaml_document(binary)
