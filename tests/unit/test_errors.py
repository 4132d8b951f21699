from ossrflow.errors import (
    ChecksumMismatch,
    InputError,
    NotFound,
    OssrflowError,
    ServiceError,
    Unsupported,
    VerificationFailed,
    WorkflowFailed,
)


def test_one_line_with_source_location_and_hint():
    error = InputError(
        "name: must not be empty", source="a/codemeta.json", location="3:5", hint="give a name"
    )
    assert str(error) == "a/codemeta.json:3:5: name: must not be empty (fix: give a name)"


def test_newlines_from_untrusted_values_never_split_the_line():
    error = InputError("bad value 'x\ny'", source="cart.json", location="items[0]")
    assert "\n" not in str(error)
    assert str(error) == "cart.json:items[0]: bad value 'x y'"


def test_bare_problem_and_late_location():
    error = NotFound("record 7 not found")
    assert str(error) == "record 7 not found"
    assert (
        str(error.at(source="https://x/api/records/7"))
        == "https://x/api/records/7: record 7 not found"
    )


def test_exit_codes_are_the_documented_ones():
    assert [cls.exit_code for cls in (InputError, NotFound, ChecksumMismatch)] == [2, 2, 2]
    assert ServiceError.exit_code == 3
    assert WorkflowFailed.exit_code == 1
    assert VerificationFailed.exit_code == 4
    assert Unsupported.exit_code == 33
    assert all(
        issubclass(cls, OssrflowError) for cls in (ServiceError, WorkflowFailed, Unsupported)
    )
    assert not issubclass(OssrflowError, BaseException) or issubclass(OssrflowError, Exception)
