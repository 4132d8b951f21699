"""codemeta + interface -> CWL v1.2 CommandLineTool: golden files, refusals, validation, runs."""

from __future__ import annotations

import csv
import io
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ossrflow.cwl.offline import offline_fetcher
from ossrflow.errors import InputError, UnsafeValue
from ossrflow.registry.codemeta import Codemeta, load_codemeta, parse_codemeta
from ossrflow.registry.model import SoftwareRecord
from ossrflow.tools.crosswalk import load_crosswalk
from ossrflow.tools.cwlgen import GeneratedTool, generate_tool, render_tool, write_tool
from tests.conftest import DATA, FIXTURES, REPO

CWLGEN = DATA / "cwlgen"
ENTRIES = CWLGEN / "entries"
EXPECTED = CWLGEN / "expected"
LINECOUNT = CWLGEN / "interfaces" / "linecount.yml"
CODEMETA = FIXTURES / "codemeta"

# golden name -> (codemeta, shipped .cwl, interface)
GOLDEN = {
    "agnpy-linecount": (CODEMETA / "cosimoNigro__agnpy.json", None, LINECOUNT),
    "ctaplot-linecount": (CODEMETA / "cta-observatory__ctaplot.json", None, LINECOUNT),
    "codemeta2zenodo-linecount": (CODEMETA / "escape2020__codemeta2zenodo.json", None, LINECOUNT),
    "lstmcpipe-linecount": (CODEMETA / "cta-observatory__lstmcpipe.json", None, LINECOUNT),
    "pyhf-cls": (ENTRIES / "pyhf/codemeta.json", None, CWLGEN / "interfaces/pyhf-cls.yml"),
    "water-bodies-crop": (
        ENTRIES / "water-bodies/codemeta.json",
        ENTRIES / "water-bodies/crop.cwl",
        None,
    ),
    "gammapy-info": (
        ENTRIES / "gammapy-info/codemeta.json",
        ENTRIES / "gammapy-info/gammapy-info.cwl",
        None,
    ),
    "linecount": (
        ENTRIES / "linecount/codemeta.json",
        None,
        ENTRIES / "linecount/ossrflow-interface.yml",
    ),
}

# every codemeta fixture -> None (converts with the linecount interface) or the refusal line
FIXTURE_OUTCOMES: dict[Path, str | None] = {
    **{path: None for path in sorted(CODEMETA.glob("*.json"))},
    **{path: None for path in sorted((FIXTURES / "eossr").glob("codemeta*.json"))},
    CODEMETA / "KM3NeT__KM3-230213A-data.json": "13:164: invalid JSON: Expecting ',' delimiter "
    "(fix: fix the JSON syntax (a validator such as `python -m json.tool` shows where))",
    FIXTURES
    / "eossr/zenodo_test.json": 'name: missing or empty name (fix: add "name": "<software>")',
}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Generation, validation and runs work offline: a name lookup fails the test."""
    real = socket.getaddrinfo

    def guarded(host: object, *args: object, **kwargs: object) -> object:
        if host not in ("localhost", "127.0.0.1", None):
            raise AssertionError(f"network lookup of {host!r}")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield


def _generate(name: str) -> GeneratedTool:
    codemeta, shipped, interface = GOLDEN[name]
    return generate_tool(load_codemeta(codemeta), shipped_cwl=shipped, interface=interface)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_files(name: str) -> None:
    expected = (EXPECTED / f"{name}.cwl").read_text(encoding="utf-8")
    assert render_tool(_generate(name)) == expected


def test_output_does_not_depend_on_where_the_entry_lies(tmp_path: Path) -> None:
    copy = shutil.copytree(ENTRIES / "water-bodies", tmp_path / "elsewhere")
    generated = generate_tool(load_codemeta(copy / "codemeta.json"), shipped_cwl=copy / "crop.cwl")
    assert render_tool(generated) == (EXPECTED / "water-bodies-crop.cwl").read_text("utf-8")


@pytest.mark.parametrize("path", sorted(FIXTURE_OUTCOMES), ids=lambda p: p.name)
def test_every_fixture_converts_with_an_interface_or_is_refused(path: Path) -> None:
    refusal = FIXTURE_OUTCOMES[path]
    if refusal is not None:
        with pytest.raises(InputError) as info:
            generate_tool(load_codemeta(path), interface=LINECOUNT)
        assert str(info.value) == f"{path}:{refusal}"
        return
    codemeta = load_codemeta(path)
    text = render_tool(generate_tool(codemeta, interface=LINECOUNT))
    document = YAML(typ="safe").load(text)
    assert document["label"] == codemeta.name
    assert document["baseCommand"] == ["wc", "-l"]


def test_no_interface_is_one_line_naming_what_to_provide() -> None:
    path = CODEMETA / "cosimoNigro__agnpy.json"
    with pytest.raises(InputError) as info:
        generate_tool(load_codemeta(path))
    assert str(info.value) == (
        f"{path}: the entry ships no .cwl CommandLineTool or ossrflow-interface.yml "
        "(fix: pass --interface FILE (draft one with `ossrflow interface draft REF`), "
        "or ship ossrflow-interface.yml or a .cwl tool with the entry)"
    )


def test_executable_name_alone_is_not_a_tool() -> None:
    path = ENTRIES / "pyhf/codemeta.json"
    with pytest.raises(InputError) as info:
        generate_tool(load_codemeta(path))
    assert str(info.value).startswith(
        f"{path}: codemeta names the command 'pyhf' but not its inputs and outputs, "
    )


def test_record_doi_is_identifier_and_citation() -> None:
    record = SoftwareRecord(
        id="7654321",
        doi="10.5281/zenodo.7654321",
        concept_id="7654320",
        concept_doi="10.5281/zenodo.7654320",
        title="agnpy",
        version="0.5.0",
        publication_date="2021-04-14",
        files=(),
        url="https://zenodo.org/records/7654321",
        registry="https://zenodo.org/api",
    )
    codemeta = load_codemeta(CODEMETA / "cosimoNigro__agnpy.json")
    text = render_tool(generate_tool(codemeta, record=record, interface=LINECOUNT))
    document = YAML(typ="safe").load(text)
    assert document["s:identifier"] == "https://doi.org/10.5281/zenodo.7654321"
    assert document["s:citation"] == "https://doi.org/10.5281/zenodo.7654321"


def test_shipped_annotations_and_label_are_kept(tmp_path: Path) -> None:
    codemeta = load_codemeta(CODEMETA / "cta-observatory__ctaplot.json")
    generated = generate_tool(codemeta, shipped_cwl=CWLGEN / "hostile/annotated-tool.cwl")
    document = YAML(typ="safe").load(render_tool(generated))
    assert document["label"] == "Own label"
    assert document["$namespaces"] == {"s": "http://schema.org/"}
    assert document["s:author"] == [{"class": "s:Person", "s:name": "Shipped Author"}]
    assert document["s:license"] == "https://spdx.org/licenses/MIT"


def test_software_image_becomes_docker_requirement() -> None:
    codemeta = _codemeta(
        targetProduct={"@type": "SoftwareImage", "identifier": "docker://ghcr.io/ossr/tool:1.2"}
    )
    text = render_tool(generate_tool(codemeta, interface=LINECOUNT))
    hints = YAML(typ="safe").load(text)["hints"]
    assert {"class": "DockerRequirement", "dockerPull": "ghcr.io/ossr/tool:1.2"} in hints


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        (
            {"name": "line one\nrm -rf /"},
            "src.json:name: name: contains the control character '\\n' "
            "(fix: write the name as plain text on one line)",
        ),
        (
            {"description": "colour \x1b[31m red"},
            "src.json:description: description: contains the control character '\\x1b' "
            "(fix: write the description as plain text)",
        ),
        (
            {"targetProduct": {"@type": "CommandLineApplication", "executableName": "t; id"}},
            "src.json:targetProduct.executableName: executableName 't; id' is not a plain command "
            "name (fix: give the program's name only (letters, digits, . _ + -), or set "
            "baseCommand in the interface file)",
        ),
        (
            {"targetProduct": {"@type": "SoftwareImage", "identifier": "img:1 --privileged"}},
            "src.json:targetProduct.identifier: container image 'img:1 --privileged' is not a "
            "plain image reference (fix: write it as registry/name:tag)",
        ),
    ],
)
def test_unsafe_values_are_refused(fields: dict[str, object], line: str) -> None:
    interface = LINECOUNT
    if "executableName" in str(fields):
        interface = CWLGEN / "interfaces/no-command.yml"
    with pytest.raises(UnsafeValue) as info:
        generate_tool(_codemeta(**fields), interface=interface)
    assert str(info.value) == line


@pytest.mark.parametrize(
    ("interface", "line"),
    [
        (
            "unknown-key.yml",
            "4:1: command: unknown key 'command' (fix: allowed keys are id, label, doc, "
            "baseCommand, arguments, inputs, outputs, requirements, hints, stdin, stdout, stderr, "
            "successCodes, temporaryFailCodes, permanentFailCodes)",
        ),
        (
            "bad-shape.yml",
            "3:3: inputs.infile: 'type' is a required property "
            "(fix: see the interface file reference in docs/cwlgen.md)",
        ),
        (
            "bad-type.yml",
            "4:5: invalid CWL: Field 'type' references unknown identifier 'Flie', tried "
            "{uri}#Flie (fix: fix the tool so that `cwltool --validate` accepts it)",
        ),
        (
            "no-command.yml",
            "1:1: the interface names no command (fix: add baseCommand: [PROGRAM] "
            "(codemeta has no targetProduct executableName))",
        ),
    ],
)
def test_bad_interface_files_are_one_located_line(interface: str, line: str) -> None:
    path = CWLGEN / "interfaces" / interface
    with pytest.raises(InputError) as info:
        generate_tool(_codemeta(), interface=path)
    assert str(info.value) == f"{path}:{line.replace('{uri}', path.resolve().as_uri())}"


@pytest.mark.parametrize(
    ("tool", "line"),
    [
        (
            "invalid-tool.cwl",
            "7:5: invalid CWL: Field 'type' references unknown identifier 'Flie', tried "
            "{uri}#Flie (fix: fix the tool so that `cwltool --validate` accepts it)",
        ),
        (
            "truncated-tool.cwl",
            "5:8: invalid YAML: expected ',' or '}', but got ':' (fix: fix the syntax)",
        ),
    ],
)
def test_invalid_shipped_cwl_is_one_located_line(tool: str, line: str) -> None:
    path = CWLGEN / "hostile" / tool
    with pytest.raises(InputError) as info:
        generate_tool(_codemeta(), shipped_cwl=path)
    assert str(info.value) == f"{path}:{line.replace('{uri}', path.resolve().as_uri())}"


def test_shipped_workflow_is_not_a_tool() -> None:
    path = ENTRIES / "water-bodies/app-water-body.cwl"
    with pytest.raises(InputError) as info:
        generate_tool(_codemeta(), shipped_cwl=path)
    assert str(info.value) == (
        f"{path}:7:1: class: is $graph, not a CommandLineTool "
        "(fix: name a .cwl file whose class is CommandLineTool (ossrflow cwl --tool NAME))"
    )


def _cwltool(*args: str) -> tuple[int, str, str]:
    """cwltool's own main(), in-process and offline (no HEAD requests for schema.org links)."""
    from cwltool.context import LoadingContext
    from cwltool.main import main

    out, err = io.StringIO(), io.StringIO()
    context = LoadingContext({"fetcher_constructor": offline_fetcher()})
    code = main(list(args), loadingContext=context, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_written_tool_passes_cwltool_validate_and_cwl_utils(tmp_path: Path) -> None:
    from cwl_utils.parser import cwl_v1_2, load_document_by_uri

    path = write_tool(_generate("water-bodies-crop"), tmp_path / "crop.cwl")
    assert isinstance(load_document_by_uri(path), cwl_v1_2.CommandLineTool)
    code, out, err = _cwltool("--validate", "--skip-schemas", str(path))
    assert code == 0, err
    assert out.endswith(f"{path} is valid CWL.\n")


def test_plain_cwltool_validate_is_quiet_and_offline(tmp_path: Path) -> None:
    """`cwltool --validate tool.cwl` as a user types it (its own fetcher, no --skip-schemas):
    no schema.org RDF to fetch, no type to look up, so no warning and no network lookup."""
    from cwltool.main import main

    path = write_tool(_generate("gammapy-info"), tmp_path / "info.cwl")
    out, err = io.StringIO(), io.StringIO()
    assert main(["--validate", str(path)], stdout=out, stderr=err) == 0, err.getvalue()
    assert "WARNING" not in err.getvalue()
    assert out.getvalue().endswith(f"{path} is valid CWL.\n")


def _run_cwltool(tool: Path, job: list[str], tmp: Path) -> tuple[int, str, str]:
    return _cwltool(
        "--outdir",
        str(tmp / "out"),
        "--tmpdir-prefix",
        f"{tmp}/tmp-",
        "--tmp-outdir-prefix",
        f"{tmp}/job-",
        str(tool),
        *job,
    )


def test_generated_demo_tool_runs_under_cwltool(tmp_path: Path) -> None:
    tool = write_tool(_generate("linecount"), tmp_path / "linecount.cwl")
    data = tmp_path / "three.txt"
    data.write_text("a\nb\nc\n", encoding="utf-8")
    code, _, err = _run_cwltool(tool, ["--infile", str(data)], tmp_path)
    assert code == 0, err
    assert (tmp_path / "out" / "counts.txt").read_text().split()[0] == "3"


def test_shell_metacharacters_stay_data_and_never_run(tmp_path: Path) -> None:
    hostile = "linecount; touch PWNED_NAME $(touch PWNED_SUB) `touch PWNED_TICK`"
    codemeta = _codemeta(name=hostile, description="'; touch PWNED_DOC; echo '\n$(id)")
    tool = write_tool(generate_tool(codemeta, interface=LINECOUNT), tmp_path / "tool.cwl")
    document = YAML(typ="safe").load(tool.read_text(encoding="utf-8"))
    assert document["label"] == hostile
    assert document["id"] == "linecount-touch-pwned_name-touch-pwned_sub-touch-pwned_tick"
    data = tmp_path / "one.txt"
    data.write_text("x\n", encoding="utf-8")
    code, _, err = _run_cwltool(tool, ["--infile", str(data)], tmp_path)
    assert code == 0, err
    assert not list(tmp_path.rglob("PWNED*"))


def test_crosswalk_is_data_and_every_annotation_comes_from_it() -> None:
    rows = load_crosswalk()
    text = (REPO / "src/ossrflow/data/codemeta_crosswalk.csv").read_text(encoding="utf-8")
    assert [r.codemeta for r in rows] == [r["codemeta"] for r in csv.DictReader(io.StringIO(text))]
    annotations = {r.cwl for r in rows if r.cwl.startswith("s:")}
    document = YAML(typ="safe").load((EXPECTED / "linecount.cwl").read_text(encoding="utf-8"))
    emitted = {key for key in document if key.startswith("s:")}
    assert emitted <= annotations
    assert {f for f in (r.field for r in rows)} <= set(Codemeta.__dataclass_fields__)


def test_docs_table_matches_the_crosswalk() -> None:
    doc = (REPO / "docs/cwlgen.md").read_text(encoding="utf-8")
    table = doc.split("<!-- crosswalk:start -->\n", 1)[1].split("<!-- crosswalk:end -->", 1)[0]
    lines = [line for line in table.splitlines() if line.startswith("|")][2:]
    cells = [
        [c.strip().replace("\\|", "|") for c in line.strip("|").split(" | ")] for line in lines
    ]
    expected = [
        [f"`{r.codemeta}`", f"`{r.cwl}`" if r.cwl else "—", r.rule] for r in load_crosswalk()
    ]
    assert cells == expected


def _codemeta(**fields: object) -> Codemeta:
    data: dict[str, object] = {
        "@context": "https://doi.org/10.5063/schema/codemeta-2.0",
        "name": "linecount",
        "softwareVersion": "1.0",
    }
    data.update(fields)
    return parse_codemeta(data, source="src.json")
