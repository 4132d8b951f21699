"""Wiring checks on hand-made tool signatures: types, scatter, merges, cycles, located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ossrflow.compose.definition_reader import load_definition
from ossrflow.compose.wiring import Wiring, check_structure, check_wiring
from ossrflow.cwl.types import CwlType, Param, Signature, compatible, parse_type
from ossrflow.errors import InputError, NotFound

FITS = "https://www.iana.org/assignments/media-types/application/fits"

SIGNATURES = {
    "one": Signature(
        "one",
        {"image": Param("image", parse_type("File"), formats=(FITS,))},
        {"result": Param("result", parse_type("File"))},
    ),
    "many": Signature(
        "many",
        {
            "files": Param("files", parse_type("File[]")),
            "label": Param("label", parse_type("string?")),
            "count": Param("count", parse_type("double"), has_default=True),
        },
        {"summary": Param("summary", parse_type("File"))},
    ),
    "pair": Signature(
        "pair",
        {"left": Param("left", parse_type("File")), "right": Param("right", parse_type("File"))},
        {"diff": Param("diff", parse_type("File"))},
    ),
}


def definition(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "flow.yml"
    path.write_text("entries: {one: x, many: y, pair: z}\n" + body, encoding="utf-8")
    return path


def check(tmp_path: Path, body: str) -> Wiring:
    return check_wiring(load_definition(definition(tmp_path, body)), SIGNATURES)


@pytest.mark.parametrize(
    ("source", "sink", "ok"),
    [
        ("File", "File", True),
        ("File[]", "File", False),
        ("File", "File[]", False),
        ("int", "double", True),
        ("double", "int", False),
        ("string", "enum", True),
        ("Any", "File[]", True),
        ("File[][]", "Any", True),
        ("record", "record", True),
        ("File", "Directory", False),
    ],
)
def test_compatible(source: str, sink: str, ok: bool) -> None:
    assert compatible(parse_type(source), parse_type(sink)) is ok


def test_parse_type_of_cwl_utils_objects() -> None:
    from cwl_utils.parser import cwl_v1_2

    array = cwl_v1_2.CommandInputArraySchema(items="File", type_="array")
    assert parse_type(array) == CwlType("File", 1)
    assert parse_type(["null", array]) == CwlType("File", 1, optional=True)
    assert parse_type(["null", "string", "int"]) == CwlType("Any", 0, optional=True)
    assert parse_type("https://w3id.org/cwl/cwl#File") == CwlType("File")
    assert parse_type("stdout") == CwlType("File")
    assert str(CwlType("File", 2, optional=True)) == "File[][]?"


def test_scatter_then_combine(tmp_path: Path) -> None:
    wiring = check(
        tmp_path,
        "inputs: {images: [a.fits, b.fits]}\n"
        "steps:\n"
        "  combine: {run: many, in: {files: each/result, label: {value: night}}}\n"
        "  each: {run: one, in: {image: images}, scatter: image}\n"
        "outputs: {summary: combine/summary, all: each/result}\n",
    )
    assert wiring.order == ("each", "combine")
    assert wiring.step_outputs["each"]["result"] == CwlType("File", 1)
    assert wiring.outputs == {"summary": CwlType("File"), "all": CwlType("File", 1)}
    assert wiring.requirements == frozenset({"ScatterFeatureRequirement"})


def test_nested_crossproduct_adds_one_level_per_input(tmp_path: Path) -> None:
    wiring = check(
        tmp_path,
        "inputs: {a: [a.fits, b.fits], b: [c.fits]}\n"
        "steps:\n"
        "  cross:\n"
        "    run: pair\n"
        "    in: {left: a, right: b}\n"
        "    scatter: [left, right]\n"
        "    scatterMethod: nested_crossproduct\n"
        "outputs: {diffs: cross/diff}\n",
    )
    assert wiring.outputs["diffs"] == CwlType("File", 2)


def test_dotproduct_adds_one_level(tmp_path: Path) -> None:
    wiring = check(
        tmp_path,
        "inputs: {a: [a.fits], b: [c.fits]}\n"
        "steps: {dot: {run: pair, in: {left: a, right: b}, scatter: [left, right]}}\n"
        "outputs: {diffs: dot/diff}\n",
    )
    assert wiring.outputs["diffs"] == CwlType("File", 1)


def test_merge_flattened_takes_items_and_lists(tmp_path: Path) -> None:
    wiring = check(
        tmp_path,
        "inputs: {one: a.fits, more: [b.fits, c.fits]}\n"
        "steps: {all: {run: many, in: {files: [one, more]}}}\n"
        "outputs: {summary: all/summary}\n",
    )
    assert "MultipleInputFeatureRequirement" in wiring.requirements


def test_merge_of_a_wrong_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        check(
            tmp_path,
            "inputs: {one: a.fits, n: {value: 3}}\n"
            "steps:\n  all:\n    run: many\n    in:\n      files: [one, n]\n"
            "outputs: {summary: all/summary}\n",
        )
    assert str(caught.value).endswith(
        "flow.yml:7:20: steps.all.in.files: 'n' gives int, but the merged list 'files' takes "
        "File[] (each source File or File[]) (fix: wire sources of type File or File[])"
    )


def test_int_value_feeds_a_double(tmp_path: Path) -> None:
    check(
        tmp_path,
        "inputs: {f: [a.fits]}\n"
        "steps: {all: {run: many, in: {files: f, count: {value: 3}}}}\n"
        "outputs: {summary: all/summary}\n",
    )


def test_value_into_a_file_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        check(
            tmp_path,
            "steps:\n  s:\n    run: one\n    in:\n      image: {value: a.fits}\n"
            "outputs: {o: s/result}\n",
        )
    assert 'steps.s.in.image: the value "a.fits" is string, but the input takes File' in str(
        caught.value
    )


def test_scatter_over_a_single_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        check(
            tmp_path,
            "inputs: {f: a.fits}\n"
            "steps:\n  s:\n    run: one\n    in:\n      image: f\n    scatter: image\n"
            "outputs: {o: s/result}\n",
        )
    assert str(caught.value).endswith(
        "flow.yml:7:7: steps.s.in.image: 'f' gives File, but it feeds 'image', which takes "
        "File[] (the step scatters over it) (fix: do not scatter over this input: it already "
        "takes one item)"
    )


def test_longer_cycle_names_every_step(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        check(
            tmp_path,
            "steps:\n"
            "  a: {run: one, in: {image: c/result}}\n"
            "  b: {run: one, in: {image: a/result}}\n"
            "  c: {run: one, in: {image: b/result}}\n"
            "outputs: {o: c/result}\n",
        )
    assert "closes a cycle: a needs c needs b needs a" in str(caught.value)


def test_unknown_names_are_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        check(tmp_path, "steps: {s: {run: nothing}}\noutputs: {o: s/result}\n")


def test_optional_and_defaulted_inputs_need_no_wiring(tmp_path: Path) -> None:
    wiring = check(
        tmp_path,
        "inputs: {f: [a.fits]}\nsteps: {s: {run: many, in: {files: f}}}\noutputs: {o: s/summary}\n",
    )
    assert wiring.order == ("s",)


def test_structure_is_checked_without_any_tool(tmp_path: Path) -> None:
    """Cycles and unknown names are found before entries are resolved (no registry needed)."""
    path = tmp_path / "flow.yml"
    path.write_text(
        "entries: {t: 10.5281/zenodo.1}\n"
        "steps:\n  a: {run: t, in: {x: b/y}}\n  b: {run: t, in: {x: a/y}}\n"
        "outputs: {o: b/y}\n"
    )
    with pytest.raises(InputError) as caught:
        check_structure(load_definition(path))
    assert str(caught.value) == (
        f"{path}:4:20: steps.b.in.x: 'a/y' closes a cycle: a needs b needs a "
        "(fix: a step may only use outputs of steps that do not depend on it)"
    )
