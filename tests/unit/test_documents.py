import json
import os
from pathlib import Path

import pytest

from ossrflow.documents import (
    Limits,
    check_document_limits,
    load_json_document,
    load_yaml_document,
    location_of,
    parse_json_text,
    read_document_text,
)
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


# --- limits: every document is untrusted -------------------------------------------------------

BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9) if previous else ', '.join(['lol'] * 9)}]\n"
    for previous, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)
HINT = "(fix: this is not a document ossrflow reads; check where it came from)"


def test_an_alias_bomb_is_refused_from_the_node_graph(tmp_path: Path):
    path = tmp_path / "bomb.yml"
    path.write_text(BOMB)
    with pytest.raises(InputError) as info:
        load_yaml_document(path)
    assert str(info.value) == (
        f"{path}:7:4: its aliases expand to more than 5000000 values (a YAML alias bomb?) {HINT}"
    )
    with pytest.raises(InputError):
        check_document_limits(path)


def test_few_aliases_that_expand_a_little_are_fine(tmp_path: Path):
    path = tmp_path / "ok.yml"
    path.write_text(BOMB.split("d:")[0])  # a, b, c: 1 + 9 + 81 + ... values
    assert len(load_yaml_document(path)["c"]) == 9


def test_a_value_that_contains_itself_is_refused(tmp_path: Path):
    path = tmp_path / "loop.yml"
    path.write_text("a: &a [1, *a]\n")
    with pytest.raises(InputError) as info:
        load_yaml_document(path)
    assert str(info.value) == (
        f"{path}:1:4: its aliases expand to a value that contains itself (a YAML alias bomb?) {HINT}"
    )


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 5000 + "]" * 5000,
        "a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 200)) + " " * 200 + "x\n",
        "a: '" + "[" * 500 + "'\n# " + "{" * 500 + "\n",  # quoted and commented: not nesting
    ],
    ids=["flow", "block", "quoted"],
)
def test_nesting_depth_is_bounded(tmp_path: Path, text: str):
    path = tmp_path / "deep.yml"
    path.write_text(text)
    if text.startswith("a: '"):
        assert load_yaml_document(path)["a"] == "[" * 500
        return
    with pytest.raises(InputError, match="values are nested more than 128 levels deep"):
        load_yaml_document(path)


def test_json_depth_and_size_are_bounded(tmp_path: Path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200 + "]" * 200)
    with pytest.raises(InputError, match="nested more than 128 levels"):
        load_json_document(deep)
    with pytest.raises(InputError, match="nested more than 4 levels"):
        parse_json_text('{"a": {"b": {"c": {"d": 1}}}}', source="x", limits=Limits(max_depth=4))
    big = tmp_path / "big.json"
    big.write_text('"' + "x" * 100 + '"')
    with pytest.raises(InputError) as info:
        load_json_document(big, Limits(max_bytes=50))
    assert str(info.value) == (
        f"{big}: document of 102 bytes is larger than the 50 bytes allowed {HINT}"
    )


def test_only_regular_files_are_read(tmp_path: Path):
    """A device or a pipe never ends: refused before a byte is read."""
    fifo = tmp_path / "cart.yml"
    os.mkfifo(fifo)
    for path in (Path("/dev/zero"), fifo):
        with pytest.raises(InputError) as info:
            load_yaml_document(path)
        assert str(info.value) == (
            f"{path}: is not a regular file (a device, pipe or socket) (fix: name a file)"
        )


def test_read_document_text_applies_the_size_limit(tmp_path: Path):
    path = tmp_path / "urls.txt"
    path.write_text("https://example.org/a\n" * 10)
    assert read_document_text(path).count("\n") == 10
    with pytest.raises(InputError, match="document of 220 bytes is larger than the 100 bytes"):
        read_document_text(path, Limits(max_bytes=100))


def test_json_documents_are_checked_by_the_json_reader(tmp_path: Path):
    """A JSON job order or packed workflow gets the same limits through the fast JSON path;
    YAML that only looks like JSON at its start still goes through the YAML checks."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200 + "]" * 200)
    with pytest.raises(InputError, match="nested more than 128 levels"):
        check_document_limits(deep)
    many = tmp_path / "many.json"
    many.write_text(json.dumps({"files": [{"class": "File", "path": f"{i}"} for i in range(40)]}))
    check_document_limits(many)
    with pytest.raises(InputError, match="more than 100 values"):
        check_document_limits(many, Limits(max_values=100))
    with pytest.raises(InputError, match="more than 100 values"):
        parse_json_text(many.read_text(), source="many.json", limits=Limits(max_values=100))
    flow_yaml = tmp_path / "flow.yml"
    flow_yaml.write_text("{a: &a [1, *a]}\n")  # YAML flow style with an alias: not JSON
    with pytest.raises(InputError, match="contains itself"):
        check_document_limits(flow_yaml)
