"""Every accepted reference form, and the one-line refusal of anything else."""

from __future__ import annotations

import pytest

from ossrflow.errors import InputError
from ossrflow.registry.refs import (
    ACCEPTED_FORMS,
    Ref,
    check_api_record_id,
    check_origin,
    parse_ref,
    zenodo_doi_record_id,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4687123", Ref("id", "4687123", "4687123")),
        ("  4687123 ", Ref("id", "4687123", "  4687123 ")),
        ("fitsinfo", Ref("id", "fitsinfo", "fitsinfo")),
        ("abcd-1234", Ref("id", "abcd-1234", "abcd-1234")),
        ("10.5281/zenodo.4687123", Ref("doi", "10.5281/zenodo.4687123", "10.5281/zenodo.4687123")),
        (
            "doi:10.5281/zenodo.4055175",
            Ref("doi", "10.5281/zenodo.4055175", "doi:10.5281/zenodo.4055175"),
        ),
        ("10.1093/mnras/stab123", Ref("doi", "10.1093/mnras/stab123", "10.1093/mnras/stab123")),
        (
            "https://doi.org/10.5281/zenodo.4687123",
            Ref("doi", "10.5281/zenodo.4687123", "https://doi.org/10.5281/zenodo.4687123"),
        ),
        (
            "http://dx.doi.org/10.5281%2Fzenodo.1",
            Ref("doi", "10.5281/zenodo.1", "http://dx.doi.org/10.5281%2Fzenodo.1"),
        ),
        (
            "https://zenodo.org/records/4687123",
            Ref("id", "4687123", "https://zenodo.org/records/4687123", "https://zenodo.org"),
        ),
        (
            "https://zenodo.org/record/4687123/",
            Ref("id", "4687123", "https://zenodo.org/record/4687123/", "https://zenodo.org"),
        ),
        (
            "https://sandbox.zenodo.org/api/records/393433?preview=1",
            Ref(
                "id",
                "393433",
                "https://sandbox.zenodo.org/api/records/393433?preview=1",
                "https://sandbox.zenodo.org",
            ),
        ),
        (
            "https://zenodo.org/doi/10.5281/zenodo.4055175",
            Ref(
                "doi",
                "10.5281/zenodo.4055175",
                "https://zenodo.org/doi/10.5281/zenodo.4055175",
                "https://zenodo.org",
            ),
        ),
        (
            "dir:workflows/registry/fitsinfo",
            Ref("path", "workflows/registry/fitsinfo", "dir:workflows/registry/fitsinfo"),
        ),
        ("dir:/abs/registry", Ref("path", "/abs/registry", "dir:/abs/registry")),
        ("./my-entry", Ref("path", "./my-entry", "./my-entry")),
        ("../x", Ref("path", "../x", "../x")),
        ("/abs/entry", Ref("path", "/abs/entry", "/abs/entry")),
        ("~/entry", Ref("path", "~/entry", "~/entry")),
        ("codemeta.json", Ref("path", "codemeta.json", "codemeta.json")),
        (
            "entries/tool/codemeta.json",
            Ref("path", "entries/tool/codemeta.json", "entries/tool/codemeta.json"),
        ),
    ],
)
def test_accepted_forms(text: str, expected: Ref):
    assert parse_ref(text) == expected


def test_is_local():
    assert parse_ref("dir:x").is_local
    assert not parse_ref("10.5281/zenodo.1").is_local


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("gamma ray tool", "cannot read 'gamma ray tool' as a reference"),
        ("", "reference '' is empty or contains a control character"),
        ("12\n34", "reference '12\\n34' is empty or contains a control character"),
        ("dir:", "dir: needs a folder, as in dir:workflows/registry/NAME"),
        ("https://doi.org/zenodo", "'https://doi.org/zenodo' is a DOI URL without a valid DOI"),
        (
            "https://github.com/gammapy/gammapy",
            "'https://github.com/gammapy/gammapy' is not a record URL",
        ),
        ("ftp://zenodo.org/records/1", "cannot read 'ftp://zenodo.org/records/1' as a reference"),
        ("-rf", "cannot read '-rf' as a reference"),
    ],
)
def test_unknown_forms_name_the_accepted_ones(text: str, problem: str):
    with pytest.raises(InputError) as caught:
        parse_ref(text)
    assert str(caught.value) == f"REF: {problem} (fix: give {ACCEPTED_FORMS})"
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("doi", "record_id"),
    [
        ("10.5281/zenodo.4687123", "4687123"),
        ("10.5072/ZENODO.393433", "393433"),
        ("10.1093/mnras/stab123", None),
        ("10.5281/zenodo.abc", None),
    ],
)
def test_zenodo_doi_record_id(doi: str, record_id: str | None):
    assert zenodo_doi_record_id(doi) == record_id


def test_check_origin_refuses_a_record_url_of_another_server():
    check_origin(parse_ref("https://zenodo.org/records/1"), "https://zenodo.org/api")
    check_origin(parse_ref("10.5281/zenodo.1"), "http://127.0.0.1:8000/api")
    with pytest.raises(InputError) as caught:
        check_origin(parse_ref("https://sandbox.zenodo.org/records/1"), "https://zenodo.org/api")
    assert str(caught.value) == (
        "REF: https://sandbox.zenodo.org/records/1 is on sandbox.zenodo.org, but the registry is "
        "https://zenodo.org/api (fix: pass --registry https://sandbox.zenodo.org/api, or give the record id alone)"
    )


@pytest.mark.parametrize("text", ["4687123", "abcde-12345", "10.5281/zenodo.1"])
def test_api_record_ids_pass(text: str) -> None:
    check_api_record_id(parse_ref(text), "https://zenodo.org/api")


@pytest.mark.parametrize("text", ["gzip-compress", "fitsinfo", "astropy-fitscheck", "ABCDE-12345"])
def test_names_are_no_api_record_ids(text: str) -> None:
    with pytest.raises(InputError) as info:
        check_api_record_id(parse_ref(text), "https://zenodo.org/api")
    assert str(info.value) == (
        f"REF: {text!r} is neither a record id of https://zenodo.org/api (a number) nor a DOI; "
        "a name like this is an entry of a folder registry, and none is given (fix: name the "
        "folder registry that holds it: --registry dir:PATH, or set OSSRFLOW_REGISTRY=dir:PATH)"
    )
