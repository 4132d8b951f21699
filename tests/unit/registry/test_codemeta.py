"""codemeta.json -> Codemeta: every real fixture parses or is refused with its exact line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ossrflow.errors import InputError
from ossrflow.registry.codemeta import Codemeta, Person, Requirement, load_codemeta, parse_codemeta
from tests.conftest import FIXTURES

CODEMETA = FIXTURES / "codemeta"
EOSSR = FIXTURES / "eossr"

# file -> (name, version, license, doi, authors, missing OSSR keys)
PARSED = {
    CODEMETA / "KM3NeT__km3io.json": ("km3io", "1.0.0", "MIT", None, 1, ()),
    CODEMETA / "PlasmaPy__PlasmaPy.json": (
        "PlasmaPy",
        "0.8.1",
        "BSD-3-Clause",
        "10.5281/zenodo.6774350",
        105,
        ("softwareVersion", "datePublished", "maintainer"),
    ),
    CODEMETA / "cosimoNigro__agnpy.json": (
        "agnpy",
        "0.5.0",
        "BSD-3-Clause",
        "10.5281/zenodo.4055175",
        1,
        (),
    ),
    CODEMETA / "cta-observatory__ctaplot.json": (
        "ctaplot",
        "0.6.5",
        "MIT",
        None,
        1,
        ("softwareVersion", "maintainer", "readme"),
    ),
    CODEMETA / "cta-observatory__lstmcpipe.json": ("lstmcpipe", "0.11.3", "MIT", None, 4, ()),
    CODEMETA / "escape2020__codemeta2zenodo.json": ("codemeta2zenodo", "1.3.0", "MIT", None, 1, ()),
    CODEMETA / "gammapy__gammapy.json": (
        "Gammapy: Python toolbox for gamma-ray astronomy",
        "v2.0",
        "BSD-3-Clause",
        "10.5281/zenodo.4701488",
        31,
        (),
    ),
    EOSSR / "codemeta_contributors_sample.json": (
        "Codemeta sample with all king of accepted Zenodo schema person properties.",
        "0.1",
        None,
        None,
        1,
        ("description", "softwareVersion", "datePublished", "license", "readme"),
    ),
    EOSSR / "codemeta_not_valid.json": (
        "supernovae",
        "2.0",
        "MIT",
        None,
        1,
        ("softwareVersion", "datePublished", "maintainer", "readme"),
    ),
    EOSSR / "codemeta_sample1.json": (
        "CodeMeta: Minimal metadata schemas for science software and code, in JSON-LD",
        "2.0",
        "Apache-2.0",
        None,
        2,
        ("softwareVersion",),
    ),
    EOSSR / "codemeta_test.json": ("eOSSR test", "1.0.0", "MIT", None, 1, ()),
    EOSSR / "codemeta_test_v3.json": ("eOSSR test", "1.0.0", "MIT", None, 1, ()),
    EOSSR / "codemeta_valid.json": ("supernovae", "v0.3.3", "MIT", None, 1, ()),
}

REFUSED = {
    CODEMETA / "KM3NeT__KM3-230213A-data.json": (
        "13:164: invalid JSON: Expecting ',' delimiter (fix: fix the JSON syntax "
        "(a validator such as `python -m json.tool` shows where))"
    ),
    EOSSR / "zenodo_test.json": 'name: missing or empty name (fix: add "name": "<software>")',
    EOSSR / "schema_codemeta2.0_context.jsonld": (
        'name: missing or empty name (fix: add "name": "<software>")'
    ),
}


def test_every_fixture_is_covered() -> None:
    on_disk = {
        p for p in [*CODEMETA.iterdir(), *EOSSR.iterdir()] if p.suffix in {".json", ".jsonld"}
    }
    assert on_disk == set(PARSED) | set(REFUSED)


@pytest.mark.parametrize("path", sorted(PARSED), ids=lambda p: p.name)
def test_fixture_parses(path: Path) -> None:
    meta = load_codemeta(path)
    name, version, license_id, doi, n_authors, missing = PARSED[path]
    assert (meta.name, meta.version, meta.license, meta.doi) == (name, version, license_id, doi)
    assert len(meta.authors) == n_authors
    assert meta.missing_ossr_keys() == missing
    assert meta.raw == json.loads(path.read_text(encoding="utf-8"))
    if license_id:
        assert meta.license_url == f"https://spdx.org/licenses/{license_id}"


@pytest.mark.parametrize("path", sorted(REFUSED), ids=lambda p: p.name)
def test_fixture_is_refused_with_one_located_line(path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_codemeta(path)
    assert str(info.value) == f"{path}:{REFUSED[path]}"


def test_persons_in_every_shape() -> None:
    meta = load_codemeta(CODEMETA / "KM3NeT__km3io.json")
    assert meta.maintainers == (Person(name="Tamas Gal", email="tamas.gal@fau.de"),)
    assert meta.authors[0] == Person(
        name="Tamas Gal",
        given_name="Tamas",
        family_name="Gal",
        orcid="https://orcid.org/0000-0001-7821-8673",
        email="tamas.gal@fau.de",
        affiliation="Friedrich-Alexander-University Erlangen-Nuremberg, "
        "Erlangen Centre for Astroparticle Physics",
    )
    gammapy = load_codemeta(CODEMETA / "gammapy__gammapy.json")
    assert gammapy.authors[0] == Person(name="Gammapy team", kind="Organization")
    single = load_codemeta(EOSSR / "codemeta_test.json")
    assert [p.name for p in single.authors] == ["John Doe author"]
    sample = load_codemeta(EOSSR / "codemeta_sample1.json")  # http://orcid.org ids
    assert sample.authors[0].orcid == "https://orcid.org/0000-0002-1642-628X"


def test_orcid_as_identifier_and_org_without_name_key() -> None:
    meta = _parse(
        author=[
            {"@type": "Person", "name": "A", "identifier": "0000-0002-1825-0097"},
            {"@type": "Person", "name": "B", "@id": "https://github.com/b"},
            {"@type": "ResearchOrganization", "@id": "https://ror.org/x"},
        ]
    )
    assert [(p.name, p.orcid, p.kind) for p in meta.authors] == [
        ("A", "https://orcid.org/0000-0002-1825-0097", "Person"),
        ("B", None, "Person"),
        ("https://ror.org/x", None, "Organization"),
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://spdx.org/licenses/MIT", ("MIT", "https://spdx.org/licenses/MIT")),
        (
            "http://spdx.org/licenses/Apache-2.0.html",
            ("Apache-2.0", "https://spdx.org/licenses/Apache-2.0"),
        ),
        ("mit", ("MIT", "https://spdx.org/licenses/MIT")),
        (
            {"@type": "CreativeWork", "url": "https://spdx.org/licenses/GPL-3.0-or-later"},
            ("GPL-3.0-or-later", "https://spdx.org/licenses/GPL-3.0-or-later"),
        ),
        (
            ["https://spdx.org/licenses/BSD-3-Clause", "MIT"],
            ("BSD-3-Clause", "https://spdx.org/licenses/BSD-3-Clause"),
        ),
        ("MIT OR Apache-2.0", ("MIT OR Apache-2.0", None)),
        ("see LICENSE file", ("see LICENSE file", None)),
        ("https://example.org/license", ("https://example.org/license", None)),
    ],
)
def test_license_forms(value: object, expected: tuple[str | None, str | None]) -> None:
    meta = _parse(license=value)
    assert (meta.license, meta.license_url) == expected


def test_requirement_forms() -> None:
    meta = _parse(
        softwareRequirements=[
            "numpy >= 1.20.0",
            "numba",
            "Python 3.11",
            "container runtime",
            "https://github.com/x/y#dependencies",
            {
                "@type": "SoftwareApplication",
                "name": "EOSSR",
                "version": "2.3.0",
                "url": "https://e",
            },
        ]
    )
    got = [(r.name, r.version, r.url, r.is_package) for r in meta.software_requirements]
    assert got == [
        ("numpy", ">=1.20.0", None, True),
        ("numba", None, None, True),
        ("Python", "3.11", None, True),
        ("container runtime", None, None, False),
        ("https://github.com/x/y#dependencies", None, "https://github.com/x/y#dependencies", False),
        ("EOSSR", "2.3.0", "https://e", True),
    ]
    assert meta.software_requirements[0] == Requirement(
        name="numpy", version=">=1.20.0", text="numpy >= 1.20.0"
    )
    assert _parse(softwareRequirements="Python>=3.8").software_requirements[0].version == ">=3.8"


def test_scalars_or_lists_and_comma_keywords() -> None:
    meta = _parse(
        runtimePlatform="Python3.8",
        keywords="a, b ,c",
        programmingLanguage=[{"@type": "ComputerLanguage", "name": "Shell"}, "Python 3"],
        operatingSystem="Linux",
    )
    assert meta.runtime_platform == ("Python3.8",)
    assert meta.keywords == ("a", "b", "c")
    assert meta.programming_languages == ("Shell", "Python 3")
    assert meta.operating_systems == ("Linux",)
    assert _parse(runtimePlatform=["A", "B"]).runtime_platform == ("A", "B")


def test_context_versions() -> None:
    assert _parse().context_version == "2.0"
    assert _parse(**{"@context": "https://w3id.org/codemeta/3.0"}).context_version == "3.0"
    assert (
        _parse(**{"@context": ["https://doi.org/10.5063/schema/codemeta-3.0"]}).context_version
        == "3.0"
    )
    assert _parse(**{"@context": "https://schema.org"}).context_version == "unknown"


def test_target_product_names_executables_and_images() -> None:
    meta = _parse(
        targetProduct=[
            {"@type": "CommandLineApplication", "executableName": "pyhf", "name": "pyhf"},
            {"@type": "SoftwareImage", "identifier": "docker://ghcr.io/x/y:1.0"},
        ],
        softwareRequirements=["docker://docker.io/not/an-image:1"],
        buildInstructions="https://quay.io/repository/not/an-image",
    )
    assert meta.executable_names == ("pyhf",)
    assert meta.container_images == ("ghcr.io/x/y:1.0",)
    assert _parse(targetProduct="Windows 10").executable_names == ()


def test_doi_from_identifier_forms_not_from_publications() -> None:
    assert _parse(identifier="https://doi.org/10.5281/zenodo.1").doi == "10.5281/zenodo.1"
    assert (
        _parse(identifier={"@type": "PropertyValue", "propertyID": "DOI", "value": "10.5281/x"}).doi
        == "10.5281/x"
    )
    assert _parse(**{"@id": "https://doi.org/10.5281/zenodo.9"}).doi == "10.5281/zenodo.9"
    assert _parse(referencePublication="https://doi.org/10.1051/0004").doi is None
    assert _parse(identifier="CodeMeta").doi is None


def test_role_objects_are_skipped() -> None:
    meta = _parse(
        author=[
            {"@type": "Person", "@id": "#a", "name": "A"},
            {"@type": "Role", "schema:author": "#a", "roleName": "maintainer"},
        ]
    )
    assert [p.name for p in meta.authors] == ["A"]


def test_shell_metacharacters_are_kept_as_data() -> None:
    meta = _parse(name="x; rm -rf / #\n$(id)", description="`id` && echo")
    assert meta.name == "x; rm -rf / #\n$(id)"
    assert meta.description == "`id` && echo"


def test_unknown_keys_are_kept() -> None:
    assert _parse(madeUpKey={"a": 1}).raw["madeUpKey"] == {"a": 1}


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({"name": ""}, 'src.json:name: missing or empty name (fix: add "name": "<software>")'),
        ({"name": None}, 'src.json:name: missing or empty name (fix: add "name": "<software>")'),
        ({"name": 3}, "src.json:name: expected a string, got int (fix: write name as a string)"),
        (
            {"author": [{"name": "a"}, {"name": "b"}, {"givenName": 5}]},
            "src.json:author[2].givenName: expected a string, got int "
            "(fix: write author[2].givenName as a string)",
        ),
        (
            {"author": [7]},
            "src.json:author[0]: expected a Person or Organization object, got int "
            "(fix: write author[0] as a Person or Organization object)",
        ),
        (
            {"maintainer": {"@type": "Person"}},
            "src.json:maintainer: a person or organization without a name "
            "(fix: give name, or givenName and familyName)",
        ),
        (
            {"softwareRequirements": ["ok", 3]},
            "src.json:softwareRequirements[1]: expected a string, got int "
            "(fix: write softwareRequirements[1] as a string)",
        ),
        (
            {"description": ["a"]},
            "src.json:description: expected a string, got list "
            "(fix: write description as a string)",
        ),
    ],
)
def test_wrong_types_are_located(fields: dict[str, object], line: str) -> None:
    with pytest.raises(InputError) as info:
        _parse(**fields)
    assert str(info.value) == line


def test_not_an_object() -> None:
    with pytest.raises(InputError) as info:
        parse_codemeta([1], source="src.json")
    assert str(info.value) == (
        "src.json: codemeta must be a JSON object, got list (fix: write codemeta.json as one {...} object)"
    )


def test_truncated_json_is_located(tmp_path: Path) -> None:
    path = tmp_path / "codemeta.json"
    path.write_text('{\n  "name": "x",\n  "author": [\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_codemeta(path)
    assert str(info.value).startswith(f"{path}:4:1: invalid JSON: Expecting value")


def _parse(**fields: object) -> Codemeta:
    data: dict[str, object] = {
        "@context": "https://doi.org/10.5063/schema/codemeta-2.0",
        "@type": "SoftwareSourceCode",
        "name": "tool",
    }
    data.update(fields)
    return parse_codemeta(data, source="src.json")
